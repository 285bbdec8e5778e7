"""`polyalign generate` (hf engine and vllm client against a fake server), resumability, and the end-to-end
tiny-model → `polyalign evaluate` run."""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from polyalign_lf.cli import main
from polyalign_lf.inference.decoding import DecodingConfig
from polyalign_lf.inference.penalties import FrequencyPresencePenaltyLogitsProcessor


def test_frequency_presence_penalty_hand_values():
    # prompt length 2; generated tokens [1, 1, 3] → counts: token1 = 2, token3 = 1
    input_ids = torch.tensor([[0, 2, 1, 1, 3]])
    scores = torch.zeros(1, 5)
    out = FrequencyPresencePenaltyLogitsProcessor(0.1, 0.5, prompt_length=2)(input_ids, scores)
    assert out[0].tolist() == pytest.approx([0.0, -(0.2 + 0.5), 0.0, -(0.1 + 0.5), 0.0])


def test_appendix_c_defaults():
    d = DecodingConfig()
    assert (d.temperature, d.top_p, d.repetition_penalty, d.frequency_penalty, d.presence_penalty) == (
        0.1,
        0.9,
        1.1,
        0.1,
        0.0,
    )
    params = d.openai_params()
    assert (
        params["repetition_penalty"] == 1.1
        and params["frequency_penalty"] == 0.1
        and params["presence_penalty"] == 0.0
    )


def _bilingual_records(make_record, n=22):
    records = []
    for k in range(n):
        records.append(
            make_record(k, language="en", question=f"What is item {k}?", answer=f"Item {k} is a small thing.")
        )
        records.append(make_record(100 + k, language="zh", question=f"第{k}个是什么？", answer=f"第{k}个是小东西。"))
    return records


def _generate(tmp_path, records_path, out, tiny_model, *extra):
    return main(
        [
            "generate",
            "--records",
            str(records_path),
            "--out",
            str(out),
            "--model",
            str(tiny_model),
            "--template",
            "qwen",
            "--max-new-tokens",
            "6",
            "--batch-size",
            "16",
            *extra,
        ]
    )


def test_hf_generate_then_evaluate_end_to_end(tmp_path, tiny_model, make_record):
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import read_jsonl

    records = _bilingual_records(make_record)
    write_records(tmp_path / "test.jsonl", records)
    out = tmp_path / "pred.jsonl"
    assert _generate(tmp_path, tmp_path / "test.jsonl", out, tiny_model, "--method", "sft") == 0
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]  # record order, keyed by id
    assert all(isinstance(r["prediction"], str) and r["mode"] == "chat" and r["method"] == "sft" for r in rows)
    assert not (tmp_path / "pred.jsonl.partial").exists()
    assert json.loads((tmp_path / "pred.jsonl.progress.json").read_text())["complete"] is True
    # a finished run is not silently redone
    assert _generate(tmp_path, tmp_path / "test.jsonl", out, tiny_model) == 2

    metrics_path = tmp_path / "metrics.json"
    assert (
        main(
            [
                "evaluate",
                "--records",
                str(tmp_path / "test.jsonl"),
                "--predictions",
                str(out),
                "--out",
                str(metrics_path),
                "--mauve-featurizer",
                "bundled-minilm",
            ]
        )
        == 0
    )
    m = json.loads(metrics_path.read_text(encoding="utf-8"))
    assert set(m["utility"]["by_bucket"]) == {"en|single|qa|short", "zh|single|qa|short"}
    assert m["bng"]["macro"] is not None and m["mauve"]["global"] is not None and m["nuf"]["hypervolume"] is not None
    assert m["agg"] is not None and 0 <= m["agg"] <= 1
    assert m["skipped"] == {"tdm.macro": "no multi-turn bucket in the test set"}


def test_resume_keeps_finished_rows_and_regenerates_torn_ones(tmp_path, tiny_model, make_record):
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import read_jsonl

    records = _bilingual_records(make_record, n=3)
    write_records(tmp_path / "test.jsonl", records)
    out = tmp_path / "pred.jsonl"
    # simulate an interrupted run: two finished rows (sentinel texts) and a torn third line
    assert _generate(tmp_path, tmp_path / "test.jsonl", out, tiny_model, "--limit", "1") == 0  # writes settings
    settings = json.loads((tmp_path / "pred.jsonl.progress.json").read_text())["settings"]
    out.unlink()
    partial = tmp_path / "pred.jsonl.partial"
    done = [{"id": records[k]["id"], "prediction": f"KEPT{k}", "finish_reason": "stop"} for k in range(2)]
    partial.write_text(
        "".join(json.dumps(r) + "\n" for r in done) + '{"id": "' + records[2]["id"] + '", "predic', encoding="utf-8"
    )
    settings["limit"] = None
    (tmp_path / "pred.jsonl.progress.json").write_text(json.dumps({"settings": settings}))
    assert _generate(tmp_path, tmp_path / "test.jsonl", out, tiny_model) == 0
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert [r["prediction"] for r in rows[:2]] == ["KEPT0", "KEPT1"]
    assert "KEPT" not in rows[2]["prediction"] and rows[2]["engine"] == "hf"
    # resuming with other settings is refused
    partial.write_text(json.dumps(done[0]) + "\n", encoding="utf-8")
    out.unlink()
    assert _generate(tmp_path, tmp_path / "test.jsonl", out, tiny_model, "--temperature", "0.7") == 2


class _FakeOpenAI(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible completions server: echoes a deterministic answer per prompt."""

    requests: list[dict] = []
    fail_plan: dict[str, list[int]] = {}  # prompt (JSON of its ids) → statuses to return before succeeding
    lock = threading.Lock()

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.requests.append(body)
            key = json.dumps(body["prompt"])  # the whole prompt: two prompts may share their last tokens
            plan = self.fail_plan.get(key, [])
            status = plan.pop(0) if plan else 200
        if status != 200:
            self._send(status, {"error": {"message": f"planned {status}"}})
            return
        text = f"answer to {len(body['prompt'])} tokens"
        self._send(
            200,
            {
                "id": "c",
                "object": "text_completion",
                "model": body["model"],
                "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(body["prompt"]), "completion_tokens": 4},
            },
        )


@pytest.fixture
def fake_server():
    _FakeOpenAI.requests = []
    _FakeOpenAI.fail_plan = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_vllm_client_against_fake_server(tmp_path, tiny_model, make_record, fake_server):
    from transformers import AutoTokenizer

    from polyalign_lf.data.schema import write_records
    from polyalign_lf.inference.prompts import PromptBuilder
    from polyalign_lf.integration.prompting import load_chat_renderer
    from polyalign_lf.io import read_jsonl

    records = _bilingual_records(make_record, n=5)
    write_records(tmp_path / "test.jsonl", records)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    builder = PromptBuilder("chat", tokenizer, load_chat_renderer(tokenizer, "qwen"))
    expected = {r["id"]: builder.build(r).ids for r in records}
    key = lambda rid: json.dumps(expected[rid])  # noqa: E731
    # one record gets two transient 503s (retried), one a permanent 400 (fails that record only)
    _FakeOpenAI.fail_plan = {key(records[0]["id"]): [503, 503], key(records[1]["id"]): [400]}
    url = f"http://127.0.0.1:{fake_server.server_address[1]}"
    out = tmp_path / "pred.jsonl"
    args = [
        "generate",
        "--engine",
        "vllm",
        "--server-url",
        url,
        "--records",
        str(tmp_path / "test.jsonl"),
        "--out",
        str(out),
        "--model",
        str(tiny_model),
        "--template",
        "qwen",
        "--concurrency",
        "4",
        "--max-retries",
        "3",
    ]
    assert main(args) == 1  # one record failed: no final file yet, the failure is listed
    assert not out.exists()
    failed = read_jsonl(tmp_path / "pred.jsonl.failed.jsonl")
    assert [f["id"] for f in failed] == [records[1]["id"]] and "400" in failed[0]["error"]
    assert len(_FakeOpenAI.requests) == len(records) + 2 + 0  # 10 prompts + two retries of the 503 record
    body = _FakeOpenAI.requests[0]
    assert body["model"] == "fake-model" and body["temperature"] == 0.1 and body["top_p"] == 0.9
    assert body["repetition_penalty"] == 1.1 and body["frequency_penalty"] == 0.1 and body["presence_penalty"] == 0.0
    assert body["top_k"] == 0 and body["min_p"] == 0.0  # not the model's generation_config defaults
    # the chat template's stop tokens travel with every chat request (qwen: <|im_end|>, and the eos)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert im_end in body["stop_token_ids"]
    assert sorted(map(tuple, (b["prompt"] for b in _FakeOpenAI.requests))) == sorted(
        [tuple(v) for v in expected.values()] + [tuple(expected[records[0]["id"]])] * 2
    )
    # rerun: only the failed record is requested again, then the file is complete and in record order
    before = len(_FakeOpenAI.requests)
    assert main(args) == 0
    assert len(_FakeOpenAI.requests) == before + 1
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert all(r["prediction"] == f"answer to {len(expected[r['id']])} tokens" and r["engine"] == "vllm" for r in rows)


def test_vllm_client_reports_an_unreachable_server(tmp_path, tiny_model, make_record):
    from polyalign_lf.data.schema import write_records

    write_records(tmp_path / "test.jsonl", [make_record(0)])
    code = main(
        [
            "generate",
            "--engine",
            "vllm",
            "--server-url",
            "http://127.0.0.1:9",
            "--records",
            str(tmp_path / "test.jsonl"),
            "--out",
            str(tmp_path / "p.jsonl"),
            "--model",
            str(tiny_model),
            "--template",
            "qwen",
            "--max-retries",
            "0",
        ]
    )
    assert code == 2


def test_hf_left_padded_batches_equal_single_prompts(tiny_model, tiny_tokenizer):
    """Greedy decoding of a left-padded batch gives exactly what each prompt gives alone."""
    from polyalign_lf.inference.engines.hf import HFEngine

    greedy = DecodingConfig(temperature=0.0, repetition_penalty=1.0, frequency_penalty=0.0, max_new_tokens=6)
    engine = HFEngine(str(tiny_model), tiny_tokenizer, greedy, device="cpu", batch_size=4)
    prompts = [
        tiny_tokenizer.encode(t)
        for t in ("hello", "What is the capital of France? Paris is", "北京是中国的首都", "1, 2, 3")
    ]
    batched = engine.generate_batch(prompts)
    single = [engine.generate_batch([p])[0] for p in prompts]
    assert [c.text for c in batched] == [c.text for c in single]
    assert all(c.completion_tokens <= 6 for c in batched)


@pytest.mark.parametrize("mode", ["base", "cot"])
def test_baseline_modes_generate_their_fields(mode, tmp_path, tiny_model, make_record):
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import read_jsonl

    write_records(tmp_path / "test.jsonl", [make_record(0), make_record(1, language="zh", question="这是什么？")])
    out = tmp_path / "pred.jsonl"
    assert (
        main(
            [
                "generate",
                "--records",
                str(tmp_path / "test.jsonl"),
                "--out",
                str(out),
                "--model",
                str(tiny_model),
                "--mode",
                mode,
                "--max-new-tokens",
                "5",
            ]
        )
        == 0
    )
    rows = read_jsonl(out)
    assert [r["mode"] for r in rows] == [mode, mode]
    if mode == "cot":
        assert all({"reasoning", "raw_output", "final_answer_found"} <= set(r) for r in rows)
    else:
        assert all("\nQuestion:" not in r["prediction"] for r in rows)


# A stand-in for `vllm serve MODEL --host H --port P --served-model-name NAME [...]`: an OpenAI-compatible server
# that lists NAME and records every argument it was started with.
_FAKE_VLLM = r"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
argv = sys.argv[1:]
if argv[:1] == ["serve"]:
    argv = argv[1:]
model, opts = argv[0], dict(zip(argv[1::2], argv[2::2]))
with open(sys.argv[0] + ".calls", "a") as f:
    f.write(json.dumps(argv) + "\n")
if "--fail" in argv:
    print("CUDA error: no device", flush=True)
    sys.exit(3)
class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def _send(self, payload):
        body = json.dumps(payload).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self._send({"data": [{"id": opts["--served-model-name"]}]})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert body["model"] == opts["--served-model-name"]
        self._send({"choices": [{"text": "served by " + model, "finish_reason": "stop"}], "usage": {"completion_tokens": 3}})
time.sleep(0.5)  # a server takes a moment to come up
ThreadingHTTPServer((opts["--host"], int(opts["--port"])), H).serve_forever()
"""


def test_vllm_serve_starts_a_server_for_the_model_and_stops_it(tmp_path, tiny_model, make_record):
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import read_jsonl

    fake = tmp_path / "fake_vllm.py"
    fake.write_text(_FAKE_VLLM)
    records = _bilingual_records(make_record, n=3)
    write_records(tmp_path / "test.jsonl", records)
    out = tmp_path / "pred.jsonl"
    base = ["generate", "--engine", "vllm", "--vllm-serve", "--vllm-serve-cmd", f"{sys.executable} {fake} serve"]
    base += ["--records", str(tmp_path / "test.jsonl"), "--model", str(tiny_model), "--template", "qwen"]
    args = [*base, "--out", str(out), "--vllm-serve-args=--dtype float32"]
    assert main(args) == 0
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert all(r["prediction"] == f"served by {tiny_model}" for r in rows)
    (call,) = [json.loads(line) for line in (tmp_path / "fake_vllm.py.calls").read_text().splitlines()]
    assert call[0] == str(tiny_model) and call[-2:] == ["--dtype", "float32"]
    assert (
        call[call.index("--served-model-name") + 1] == str(tiny_model)
        and call[call.index("--host") + 1] == "127.0.0.1"
    )
    port = int(call[call.index("--port") + 1])
    with pytest.raises(OSError):  # stopped after the job
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)


def test_vllm_serve_failures_are_clear(tmp_path, tiny_model, make_record, capsys):
    from polyalign_lf.data.schema import write_records

    fake = tmp_path / "fake_vllm.py"
    fake.write_text(_FAKE_VLLM)
    write_records(tmp_path / "test.jsonl", _bilingual_records(make_record, n=2))
    base = ["generate", "--records", str(tmp_path / "test.jsonl"), "--model", str(tiny_model), "--template", "qwen"]
    serve = ["--engine", "vllm", "--vllm-serve"]
    out = ["--out", str(tmp_path / "p.jsonl")]
    assert main([*base, *out, *serve, "--vllm-serve-cmd", f"{sys.executable} {fake}", "--vllm-serve-args=--fail"]) == 2
    err = capsys.readouterr().err
    assert "exited with code 3 before serving" in err and "CUDA error: no device" in err and "Traceback" not in err
    assert main([*base, *out, *serve, "--vllm-serve-cmd", str(tmp_path / "no-such-vllm")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main([*base, *out, "--vllm-serve"]) == 2  # the hf engine has no server to start
    assert "add --engine vllm" in capsys.readouterr().err
    assert not (tmp_path / "p.jsonl").exists()


def test_vllm_client_refuses_a_server_for_another_model(tmp_path, tiny_model, make_record, fake_server, capsys):
    from polyalign_lf.data.schema import write_records

    write_records(tmp_path / "test.jsonl", _bilingual_records(make_record, n=2))
    url = f"http://127.0.0.1:{fake_server.server_address[1]}"
    args = ["generate", "--engine", "vllm", "--server-url", url, "--served-model-name", "saves/en/hdpo"]
    args += ["--records", str(tmp_path / "test.jsonl"), "--out", str(tmp_path / "p.jsonl")]
    args += ["--model", str(tiny_model), "--template", "qwen"]
    assert main(args) == 2
    assert "serves fake-model, not saves/en/hdpo" in capsys.readouterr().err
    assert _FakeOpenAI.requests == []


def test_profile_prompt_must_match_the_training_export(tmp_path, tiny_model, make_record, capsys, monkeypatch):
    """A model trained on rows with a profile system prompt (export --profile-prompt) is refused a generation run
    that prompts without it, naming the option; with the same profile it runs and records the profile."""
    from polyalign_lf.io import read_json, write_json, write_jsonl

    records = tmp_path / "test.jsonl"
    write_jsonl(records, [make_record(k) for k in range(3)])
    registry = tmp_path / "reg"
    write_json(registry / "export_manifest.json", {"profile_prompt": "situation"})
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(f"stage: sft\ntemplate: qwen\ndataset_dir: {registry}\n", encoding="utf-8")
    args = ["--recipe", str(recipe), "--max-new-tokens", "4"]
    common = ["generate", "--records", str(records), "--model", str(tiny_model), *args]
    assert main([*common, "--out", str(tmp_path / "a.jsonl")]) == 2
    assert "--profile-prompt situation" in capsys.readouterr().err
    assert not (tmp_path / "a.jsonl").exists()
    assert main([*common, "--out", str(tmp_path / "b.jsonl"), "--profile-prompt", "situation"]) == 0
    assert read_json(tmp_path / "b.jsonl.progress.json")["settings"]["profile_prompt"] == "situation"


@pytest.mark.slow
def test_a_stage_starts_each_models_vllm_server_once(tmp_path, tiny_model, tiny_ref_model, make_record):
    """The pipeline's generation stages (`--engine vllm` without a URL): one `vllm serve` per model and stage,
    reused by every command of that model (greedy and sampled candidates), stopped when the stage ends."""
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import read_jsonl
    from polyalign_lf.pipeline.stages import Stage, StageRunner, VllmServer, polyalign_command

    fake = tmp_path / "fake_vllm.py"
    fake.write_text(_FAKE_VLLM)
    write_records(tmp_path / "test.jsonl", _bilingual_records(make_record, n=2))
    serve = f"{sys.executable} {fake} serve"

    def generate(model, out, *extra):
        command = polyalign_command(
            "generate", "--engine", "vllm", "--records", tmp_path / "test.jsonl", "--model", model,
            "--template", "qwen", "--out", tmp_path / out, *extra,
        )  # fmt: skip
        command.server = VllmServer(str(model), serve)
        return command

    commands = [
        generate(tiny_model, "a.jsonl"),
        generate(tiny_model, "a_sample.jsonl", "--temperature", "0.9", "--seed", "1"),
        generate(tiny_ref_model, "b.jsonl"),
    ]
    stage = Stage("predict", "three generations, two models", commands, [tmp_path / "b.jsonl"])
    StageRunner(tmp_path, tmp_path / "work").run([stage])
    calls = [json.loads(line)[0] for line in (tmp_path / "fake_vllm.py.calls").read_text().splitlines()]
    assert calls == [str(tiny_model), str(tiny_ref_model)]  # each model served once
    assert all(r["prediction"] == f"served by {tiny_model}" for r in read_jsonl(tmp_path / "a_sample.jsonl"))
    assert all(r["prediction"] == f"served by {tiny_ref_model}" for r in read_jsonl(tmp_path / "b.jsonl"))
    assert "one per model and stage" in (tmp_path / "work" / "logs" / "predict.log").read_text()
