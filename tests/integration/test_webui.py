"""HDPO in LlamaBoard: the recipe keys the train tab adds, LlamaBoard's own runner in-process, and the real
``llamafactory-cli webui`` driven in headless Chromium (select HDPO, fill the fields, preview, start)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from polyalign_testing.lf import OFFLINE_ENV, lf_cli_path

from polyalign_lf.integration.args import POLYALIGN_KEYS, split_cli_args, split_dict_args
from polyalign_lf.integration.lf_v0.webui import check_values, fields_for_stage, polyalign_recipe_keys

REPO = Path(__file__).resolve().parents[2]
needs_gradio = pytest.mark.skipif(importlib.util.find_spec("gradio") is None, reason="gradio not installed")


def _grid_keys(name: str) -> dict:
    recipe = yaml.safe_load((REPO / "recipes" / "en" / name).read_text())
    return {key: value for key, value in recipe.items() if key in POLYALIGN_KEYS}


def test_recipe_keys_are_the_grid_recipes_keys():
    hdpo = polyalign_recipe_keys(
        "hdpo",
        {"bucket_weighting": "false", "hdpo_lambda": 0.1, "hdpo_critic": "saves/en/gemma2_2b/critic"}
        | {"weight_normalization": "dataset", "bucket_sampling": True},
    )
    assert hdpo == _grid_keys("gemma2_2b_hdpo.yaml")
    bucket_sft = polyalign_recipe_keys(
        "sft", {"bucket_weighting": "true", "weight_normalization": "dataset", "bucket_sampling": True}
    )
    assert bucket_sft == _grid_keys("gemma2_2b_bucket_sft.yaml") == {"bucket_weighting": True, "bucket_sampling": True}
    # plain SFT and the other stages: nothing of ours
    assert polyalign_recipe_keys("sft", {"bucket_weighting": "false"}) == {}
    assert polyalign_recipe_keys("dpo", {"bucket_weighting": "true", "hdpo_lambda": 1.0}) == {}
    # non-default options appear, spelled as in a YAML recipe
    keys = polyalign_recipe_keys(
        "sft", {"bucket_weighting": "true", "weight_normalization": "step", "bucket_sampling": True}
    )
    assert keys == {"bucket_weighting": True, "weight_normalization": "step", "bucket_sampling": True}
    assert split_dict_args({"stage": "sft", **keys}).args.weight_normalization == "step"


def test_fields_follow_the_stage():
    assert fields_for_stage("hdpo") == (
        "bucket_weighting",
        "hdpo_lambda",
        "hdpo_critic",
        "weight_normalization",
        "bucket_sampling",
    )
    assert fields_for_stage("sft") == ("bucket_weighting", "weight_normalization", "bucket_sampling")
    for stage in ("rm", "ppo", "dpo", "kto", "pt"):
        assert fields_for_stage(stage) == ()


@pytest.mark.parametrize(
    "stage, values, expected",
    [
        ("hdpo", {"hdpo_lambda": -1}, "HDPO λ must be a finite number >= 0"),
        ("hdpo", {"hdpo_lambda": float("nan")}, "finite"),
        ("hdpo", {"hdpo_lambda": "abc"}, "must be a number"),
        ("sft", {"bucket_weighting": "false", "bucket_sampling": True}, "only apply to Bucket-SFT"),
        ("sft", {"bucket_weighting": "false", "weight_normalization": "step"}, "only apply to Bucket-SFT"),
        ("sft", {"bucket_weighting": "uniform", "bucket_sampling": True}, "choose one"),
        ("sft", {"bucket_weighting": "maybe"}, "false, true or uniform"),
    ],
)
def test_values_the_parser_would_refuse_are_refused_first(stage, values, expected):
    assert expected in check_values(stage, values)


def test_accepted_values_pass():
    assert check_values("hdpo", {"hdpo_lambda": 0.0, "bucket_weighting": "false"}) is None
    assert check_values("sft", {"bucket_weighting": "true", "bucket_sampling": True}) is None
    assert check_values("ppo", {"hdpo_lambda": -1}) is None  # fields hidden and ignored there


def _train_tab(stage_label: str, **values):
    """LlamaBoard's train tab built as ``create_ui`` builds it, with the given values, and its runner."""
    import gradio as gr
    from llamafactory.webui import interface
    from llamafactory.webui.components import create_top
    from llamafactory.webui.engine import Engine

    assert getattr(interface.create_train_tab, "_polyalign", False), "the webui hook did not fire"
    engine = Engine()
    with gr.Blocks():
        engine.manager.add_elems("top", create_top())
        engine.manager.add_elems("train", interface.create_train_tab(engine))
    data = {elem: getattr(elem, "value", None) for elem in engine.manager.get_elem_list()}
    given = {
        "top.model_name": "Qwen2.5-0.5B",
        "top.model_path": "/models/qwen",
        "top.finetuning_type": "full",
        "top.template": "qwen",
        "top.lang": "en",
        "train.training_stage": stage_label,
        "train.dataset": ["polyalign_en_hdpo_qwen"],
        "train.output_dir": "run1",
        "train.current_time": "t",
        "train.extra_args": '{"optim": "adamw_torch"}',
    }
    given.update(values)
    for elem_id, value in given.items():
        data[engine.manager.get_elem_by_id(elem_id)] = value
    return engine, data


@needs_gradio
def test_polyalign_panel_sits_after_rlhf_above_start():
    """The panel is among the configuration panels (right after RLHF), above the Start button, not below the
    run controls; and a negative λ is refused by PolyAlign's message (gradio's range check would name no field)."""
    import gradio as gr
    from llamafactory.webui import interface
    from llamafactory.webui.components import create_top
    from llamafactory.webui.engine import Engine

    engine = Engine()
    with gr.Blocks() as demo:
        engine.manager.add_elems("top", create_top())
        elems = interface.create_train_tab(engine)
    order = []

    def walk(block):
        for child in getattr(block, "children", []) or []:
            order.append(child)
            walk(child)

    walk(demo)
    position = {id(block): k for k, block in enumerate(order)}
    rlhf, panel, start = (position[id(elems[name])] for name in ("rlhf_tab", "polyalign_tab", "start_btn"))
    assert rlhf < panel < start
    siblings = elems["polyalign_tab"].parent.children
    assert siblings.index(elems["polyalign_tab"]) == siblings.index(elems["rlhf_tab"]) + 1
    assert getattr(elems["hdpo_lambda"], "minimum", None) is None
    assert "HDPO λ must be" in check_values("hdpo", {"hdpo_lambda": -1})


@needs_gradio
def test_llamaboard_runner_writes_hdpo_recipe_keys(tmp_path, monkeypatch):
    import llamafactory.webui.interface  # noqa: F401 (the import LlamaBoard starts with fires the hook)
    from llamafactory.extras.constants import STAGES_USE_PAIR_DATA, TRAINING_STAGES
    from llamafactory.webui.common import gen_cmd, save_cmd

    monkeypatch.chdir(tmp_path)
    assert TRAINING_STAGES["HDPO"] == "hdpo" and "hdpo" in STAGES_USE_PAIR_DATA
    engine, data = _train_tab(
        "HDPO", **{"train.hdpo_lambda": 0.25, "train.hdpo_critic": "saves/critic", "train.bucket_sampling": True}
    )
    assert engine.runner._initialize(data, do_train=True, from_preview=True) == ""
    args = engine.runner._parse_train_args(data)
    assert args["stage"] == "hdpo" and args["pref_loss"] == "sigmoid" and args["pref_beta"] == 0.1
    assert {k: args[k] for k in ("hdpo_lambda", "hdpo_critic", "bucket_sampling")} == {
        "hdpo_lambda": 0.25,
        "hdpo_critic": "saves/critic",
        "bucket_sampling": True,
    }
    # "Start" writes this file and runs `llamafactory-cli train` on it; "Preview command" shows gen_cmd.
    saved = yaml.safe_load(Path(save_cmd(args)).read_text())
    from_yaml = split_dict_args(saved)
    preview = gen_cmd(args).split("```bash\n", 1)[1].rsplit("```", 1)[0]
    argv = shlex.split(preview.replace("\\\n", " "))[2:]
    from_cli = split_cli_args(argv)
    assert from_yaml.stage == from_cli.stage == "hdpo"
    assert from_yaml.args == from_cli.args
    assert from_yaml.args.hdpo_lambda == 0.25 and from_yaml.args.bucket_sampling is True
    assert from_yaml.explicit == from_cli.explicit == {"hdpo_lambda", "hdpo_critic", "bucket_sampling"}


@needs_gradio
def test_llamaboard_bucket_sft_and_refusals(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine, data = _train_tab("Supervised Fine-Tuning", **{"train.bucket_weighting": "true"})
    args = engine.runner._parse_train_args(data)
    assert args["stage"] == "sft" and args["bucket_weighting"] is True
    engine, data = _train_tab("Supervised Fine-Tuning")
    assert not POLYALIGN_KEYS & set(engine.runner._parse_train_args(data))  # plain SFT stays plain
    engine, data = _train_tab("HDPO", **{"train.hdpo_lambda": -0.5})
    message = engine.runner._initialize(data, do_train=True, from_preview=True)
    assert message.startswith("PolyAlign: HDPO λ must be a finite number >= 0")
    engine, data = _train_tab("DPO", **{"train.hdpo_lambda": 0.3, "train.bucket_weighting": "true"})
    args = engine.runner._parse_train_args(data)
    assert args["stage"] == "dpo" and not POLYALIGN_KEYS & set(args)  # hidden fields never leak into DPO


@pytest.mark.slow
@needs_gradio
def test_llamaboard_untouched_when_disabled():
    code = (
        "import llamafactory.webui.interface as i; from llamafactory.extras.constants import TRAINING_STAGES;"
        "print('HDPO' in TRAINING_STAGES, getattr(i.create_train_tab, '_polyalign', False))"
    )
    env = {**os.environ, **OFFLINE_ENV, "POLYALIGN_LF_DISABLE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["False", "False"]


@needs_gradio
def test_a_llamaboard_without_the_hook_points_is_left_alone(monkeypatch):
    import types

    from llamafactory.extras.constants import TRAINING_STAGES

    from polyalign_lf.integration.lf_v0 import webui

    monkeypatch.setattr(webui, "STATUS", {"registered": False, "reason": None})
    before = dict(TRAINING_STAGES)
    with pytest.raises(AttributeError, match="create_train_tab"):
        webui.register(types.SimpleNamespace(__name__="llamafactory.webui.interface"))
    assert "create_train_tab" in webui.STATUS["reason"] and not webui.STATUS["registered"]
    assert dict(TRAINING_STAGES) == before


# ------------------------------------------------------------------------------------------- in Chromium

_FIND_BLOCK = """((label) => {
  const info = [...document.querySelectorAll('[data-testid="block-info"]')].find(e => e.textContent.trim() === label);
  const block = info && info.closest('.block');
  if (!block) return null;
  block.id = block.id || 'pa-' + Math.random().toString(36).slice(2);
  return '#' + block.id; })"""


def _block(browser, label: str) -> str:
    selector = browser.evaluate(f"{_FIND_BLOCK}({json.dumps(label)})")
    assert selector, f"no LlamaBoard field labelled {label!r}"
    return selector


def _choose(browser, selector: str, option: str, search: bool = False) -> None:
    browser.click(f"{selector} input")
    if search:  # long menus show a window of their options: filter first
        browser.send("Input.insertText", {"text": option})
    item = f"ul.options li[aria-label={json.dumps(option)}]"
    browser.wait_for(f"!!document.querySelector({json.dumps(item)})", 20)
    browser.click(item)
    browser.wait_for(f"document.querySelector({json.dumps(selector + ' input')}).value === {json.dumps(option)}", 20)


def _fill(browser, selector: str, text: str, enter: bool = False) -> None:
    browser.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.focus(); e.select(); }})()"
    )
    browser.send("Input.insertText", {"text": text})
    if enter:
        for kind in ("keyDown", "keyUp"):
            browser.send(
                "Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
            )
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).blur()")


def _button(browser, text: str) -> str:
    return browser.evaluate(
        "(() => { const b = [...document.querySelectorAll('button')].find(x => x.textContent.trim() === "
        f"{json.dumps(text)}); if (!b) return null; b.id = b.id || 'pa-' + Math.random().toString(36).slice(2);"
        " return '#' + b.id; })()"
    )


def _code_block(browser, contains: str, timeout_s: float = 60) -> str:
    expr = (
        f"[...document.querySelectorAll('code')].map(c => c.textContent).find(t => t.includes({json.dumps(contains)}))"
    )
    browser.wait_for(f"!!({expr})", timeout_s)
    return browser.evaluate(expr)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.browser
@needs_gradio
def test_llamaboard_hdpo_in_chromium(tmp_path, tiny_model, pa_data):
    """The user's path: open LlamaBoard, pick HDPO, fill the PolyAlign fields, preview, then start a real run."""
    from polyalign_testing.headless import Browser, find_chromium

    if find_chromium() is None:
        pytest.skip("chromium not installed")
    port = _free_port()
    env = {
        **os.environ,
        **OFFLINE_ENV,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        # LlamaBoard starts `llamafactory-cli` from PATH, as in an activated environment
        "PATH": os.pathsep.join([str(Path(lf_cli_path()).parent), os.environ.get("PATH", "")]),
    }
    log = open(tmp_path / "webui.log", "w")
    server = subprocess.Popen(
        [lf_cli_path(), "webui"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "webui.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "LlamaBoard did not start"
                time.sleep(0.5)
        with Browser(width=1400, height=1200, timeout_s=60) as browser:
            browser.goto(url)
            # labels arrive with the locale LlamaBoard applies after load
            browser.wait_for(f"!!{_FIND_BLOCK}('Stage')", 60)
            assert not browser.evaluate("!!document.querySelector('#polyalign-hdpo-lambda input')")
            # a known model name (its template, qwen, fits the tiny model), then the local path instead of the Hub id
            _choose(browser, _block(browser, "Model name"), "Qwen2.5-0.5B", search=True)
            path_box = json.dumps(_block(browser, "Model path") + " textarea")
            browser.wait_for(f"document.querySelector({path_box}).value === 'Qwen/Qwen2.5-0.5B'", 20)
            _fill(browser, _block(browser, "Model path") + " textarea", str(tiny_model))
            browser.wait_for(f"document.querySelector({path_box}).value === {json.dumps(str(tiny_model))}", 20)
            _choose(browser, _block(browser, "Finetuning method"), "full")
            _choose(browser, _block(browser, "Stage"), "HDPO")
            browser.wait_for("!!document.querySelector('#polyalign-hdpo-lambda input')", 20)
            labels = browser.evaluate(
                "[...document.querySelectorAll('#polyalign-tab [data-testid=\"block-info\"]')].map(e => e.textContent.trim())"
            )
            assert labels[:3] == ["Bucket weighting", "HDPO λ", "Critic bundle"]
            # the panel is drawn above the Start button (with the configuration panels, not below the run controls)
            panel_top = browser.evaluate("document.querySelector('#polyalign-tab').getBoundingClientRect().top")
            start_top = browser.evaluate(
                f"document.querySelector({json.dumps(_button(browser, 'Start'))}).getBoundingClientRect().top"
            )
            assert panel_top < start_top, (panel_top, start_top)
            _fill(browser, _block(browser, "Data dir") + " textarea", str(pa_data))
            _fill(browser, _block(browser, "Dataset") + " input", "pref4", enter=True)
            _choose(browser, _block(browser, "Compute type"), "fp32")
            _fill(browser, "#polyalign-hdpo-lambda input", "0.25")
            _fill(browser, "#polyalign-hdpo-critic textarea", "saves/critic")
            browser.click(_button(browser, "Preview command"))
            preview = _code_block(browser, "llamafactory-cli train")
            argv = shlex.split(preview.replace("\\\n", " "))[2:]
            recipe = split_cli_args(argv)
            assert recipe.stage == "hdpo" and recipe.args.hdpo_lambda == 0.25
            assert recipe.args.hdpo_critic == "saves/critic"
            assert {"--pref_beta", "--pref_loss"} <= set(argv)

            # Start a real run (no critic: the pairs carry their scores) and read what LlamaBoard launched.
            _fill(browser, "#polyalign-hdpo-critic textarea", "")
            output_dir = argv[argv.index("--output_dir") + 1]
            browser.click(_button(browser, "Start"))
            run_dir = tmp_path / output_dir
            deadline = time.monotonic() + 240
            while not (run_dir / "train_results.json").is_file():  # written when the run finished
                webui_log = (tmp_path / "webui.log").read_text()
                assert time.monotonic() < deadline and "Traceback" not in webui_log, webui_log[-4000:]
                time.sleep(1)
            started = yaml.safe_load((run_dir / "training_args.yaml").read_text())
            assert started["stage"] == "hdpo" and started["hdpo_lambda"] == 0.25 and "hdpo_critic" not in started
            ran = json.loads((run_dir / "polyalign_config.json").read_text())
            assert ran["stage"] == "hdpo" and ran["lf_stage"] == "dpo"
            assert ran["polyalign_args"]["hdpo_lambda"] == 0.25
            results = json.loads((run_dir / "train_results.json").read_text())
            assert results["epoch"] == 3.0 and math.isfinite(results["train_loss"]) and results["train_loss"] > 0
            browser.screenshot(Path(os.environ.get("POLYALIGN_SCREENSHOT_DIR", tmp_path)) / "llamaboard_hdpo.png")
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
        log.close()
