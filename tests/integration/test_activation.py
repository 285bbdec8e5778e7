"""Activation through the shipped .pth (fresh interpreters, real `llamafactory-cli train` subprocesses):
plain recipes log exactly what they log without the plugin, the opt-out, loud failure when disabled,
clean refusals from the CLI, the stale-cache refusal, and the generic `llamafactory.plugins` group."""

from __future__ import annotations

import subprocess
import sys

import pytest
from polyalign_testing.lf import OFFLINE_ENV, run_lf_train, tiny_train_config

pytestmark = pytest.mark.slow

TIMING_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second"}


def _python(code: str, env: dict | None = None, extra_path: str | None = None) -> subprocess.CompletedProcess:
    import os

    full = dict(os.environ, **OFFLINE_ENV, **(env or {}))
    if extra_path:
        full["PYTHONPATH"] = extra_path + os.pathsep + full.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=300)


def test_pth_installs_only_a_finder_and_respects_opt_out():
    code = (
        "import sys, polyalign_lf._bootstrap as b; "
        "print(b.is_active(), 'torch' in sys.modules, 'llamafactory' in sys.modules)"
    )
    assert _python(code).stdout.split() == ["True", "False", "False"]
    assert _python(code, env={"POLYALIGN_LF_DISABLE": "1"}).stdout.split() == ["False", "False", "False"]


def test_other_packages_can_use_the_plugin_group(tmp_path):
    (tmp_path / "fake_lf_plugin.py").write_text(
        "CALLED = []\ndef register(tuner):\n    CALLED.append(tuner.__name__)\n"
    )
    dist = tmp_path / "fake_lf_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-lf-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[llamafactory.plugins]\nfake = fake_lf_plugin:register\n")
    code = (
        "import llamafactory.train.tuner as t, fake_lf_plugin, polyalign_lf._bootstrap as b; "
        "print(fake_lf_plugin.CALLED, sorted(b.STATE['loaded']), t.get_train_args._polyalign)"
    )
    result = _python(code, extra_path=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1] == "['llamafactory.train.tuner'] ['fake', 'polyalign'] True", (
        result.stderr[-2000:]
    )


@pytest.mark.parametrize("stage,dataset", [("sft", "sft_plain"), ("dpo", "pref_plain")])
def test_plain_recipes_log_exactly_what_they_log_without_plugin(
    tiny_model, tiny_ref_model, pa_data, tmp_path, stage, dataset
):
    extra = {"ref_model": str(tiny_ref_model)} if stage == "dpo" else {}
    histories = []
    for name, env in (("with", None), ("without", {"POLYALIGN_LF_DISABLE": "1"})):
        config = tiny_train_config(
            tiny_model,
            dataset,
            pa_data,
            tmp_path / name / "out",
            stage=stage,
            max_steps=2,
            gradient_accumulation_steps=2,
            **extra,
        )
        run = run_lf_train(config, tmp_path / name, env=env).check()
        histories.append([{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in run.log_history])
        assert not (tmp_path / name / "out" / "polyalign_config.json").exists()
    assert histories[0] and histories[0] == histories[1]


@pytest.mark.parametrize(
    "overrides,message",
    [
        (dict(stage="hdpo"), "Unknown task: hdpo"),
        (dict(stage="sft", bucket_weighting=True), "Some keys are not used by the HfArgumentParser"),
    ],
)
def test_polyalign_recipe_fails_loudly_when_disabled(tiny_model, pa_data, tmp_path, overrides, message):
    dataset = "pref4" if overrides["stage"] == "hdpo" else "sft4"
    config = tiny_train_config(tiny_model, dataset, pa_data, tmp_path / "out", max_steps=1, **overrides)
    run = run_lf_train(config, tmp_path, env={"POLYALIGN_LF_DISABLE": "1"})
    assert run.returncode != 0 and message in run.output
    assert not run.log_history


def test_cli_refusal_is_one_clean_message(tiny_model, pa_data, tmp_path):
    config = tiny_train_config(tiny_model, "pref4", pa_data, tmp_path / "out", stage="hdpo", pref_loss="ipo")
    run = run_lf_train(config, tmp_path, cli_form=True)
    assert run.returncode == 2
    assert "polyalign-lf: error: stage: hdpo is defined on sigmoid DPO" in run.stderr
    assert "Traceback" not in run.stderr


def test_stale_tokenized_cache_is_refused(tiny_model, pa_data, tmp_path):
    from pa_integration_helpers import load_plain_dataset_in_process

    tokenized = tmp_path / "tokenized"
    plain = tiny_train_config(
        tiny_model, "sft4", pa_data, tmp_path / "out1", max_steps=1, tokenized_path=str(tokenized)
    )
    load_plain_dataset_in_process(dict(plain))  # plain LLaMA-Factory writes the cache without our columns
    assert (tokenized / "dataset_dict.json").exists()
    weighted = dict(plain, bucket_weighting=True, output_dir=str(tmp_path / "out2"))
    run = run_lf_train(weighted, tmp_path / "weighted")
    assert run.returncode == 2
    assert "tokenized dataset has no PolyAlign columns" in run.stderr and "tokenized_path" in run.stderr
