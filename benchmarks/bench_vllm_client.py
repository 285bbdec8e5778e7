"""Benchmark (GPU only): `polyalign generate --engine vllm` against vLLM's own offline throughput.

Both runs use the same prompts (rendered once with the LLaMA-Factory template, sent as token ids) and the
same Appendix-C decoding. The offline figure comes from ``vllm.LLM.generate`` on all prompts at once; the
client figure from ``polyalign generate --engine vllm`` against ``vllm serve`` on the same GPU. Goal
(issue 5): client throughput (generated tokens/s) ≥ 95 % of offline. Writes benchmarks/results/vllm_client.json
(``--quick``: benchmarks/results/quick/vllm_client.json).

vLLM normally lives in its own environment (it pins another transformers than LLaMA-Factory): pass that
environment's interpreter with ``--vllm-python``; the polyalign client runs in this one. Without vLLM or a
GPU the script says so and exits 0 without writing a result.

    python benchmarks/bench_vllm_client.py --model Qwen/Qwen2.5-1.5B-Instruct --template qwen [--vllm-python /venvs/vllm/bin/python]
    python benchmarks/bench_vllm_client.py --quick ...   # 200 prompts
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _results import write_result

GOAL_RATIO = 0.95

_OFFLINE_SCRIPT = r"""
import json, sys, time
from vllm import LLM, SamplingParams
try:
    from vllm.inputs import TokensPrompt
except ImportError:
    TokensPrompt = None
cfg = json.load(open(sys.argv[1]))
llm = LLM(model=cfg["model"], max_model_len=cfg["max_model_len"], gpu_memory_utilization=cfg["gpu_memory_utilization"], seed=cfg["seed"])
params = SamplingParams(**cfg["sampling"])
prompts = [TokensPrompt(prompt_token_ids=ids) if TokensPrompt else {"prompt_token_ids": ids} for ids in cfg["prompts"]]
llm.generate(prompts[: min(16, len(prompts))], params, use_tqdm=False)  # warm-up (CUDA graphs, allocator)
t0 = time.perf_counter()
outputs = llm.generate(prompts, params, use_tqdm=False)
seconds = time.perf_counter() - t0
tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
print("RESULT " + json.dumps({"seconds": seconds, "completion_tokens": tokens, "requests": len(outputs)}))
"""


def _vllm_available(python: str) -> str | None:
    """None if ``python`` can import vllm and sees a CUDA GPU, else the reason."""
    code = "import torch, vllm; import sys; sys.exit(0 if torch.cuda.is_available() else 3)"
    try:
        result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if result.returncode == 3:
        return "no CUDA GPU is visible to vLLM"
    if result.returncode != 0:
        return f"vllm is not importable with {python} ({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'import failed'})"
    return None


def _synthetic_records(n: int) -> list[dict]:
    records = []
    for k in range(n):
        lang = "en" if k % 4 else "zh"
        question = (
            f"Explain briefly why item number {k} matters for a beginner learning about data."
            if lang == "en"
            else f"请简要解释第{k}项对初学者为什么重要。"
        )
        records.append(
            {
                "id": f"b{k}",
                "dataset": "bench",
                "split": "test",
                "language": lang,
                "track": "single",
                "family": "assistant",
                "style_bucket": "x",
                "length_bin": "medium",
                "question": question,
                "context": "",
                "dialogue_history": [],
                "human_answer": "-",
                "bucket_id": f"{lang}|single|assistant|medium",
                "meta": {"source_dataset": "bench", "source_split": "test", "source_id": str(k), "length_tokens": 1},
            }
        )
    return records


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(2)
    raise RuntimeError(f"vllm serve did not come up within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model directory or cached Hugging Face name")
    parser.add_argument("--template", default="qwen", help="LLaMA-Factory template used to render the prompts")
    parser.add_argument("--records", default=None, help="test records JSONL (default: synthetic prompts)")
    parser.add_argument("--n", type=int, default=2000, help="number of prompts")
    parser.add_argument("--quick", action="store_true", help="200 prompts")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--max-model-len", type=int, default=4096)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.85)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--vllm-python", default=sys.executable, help="interpreter of the environment that has vllm")
    parser.add_argument(
        "--out", default=None, help="result JSON (default: benchmarks/results/[quick/]vllm_client.json)"
    )
    args = parser.parse_args(argv)

    reason = _vllm_available(args.vllm_python)
    if reason:
        print(
            f"bench_vllm_client: skipped — {reason}. This benchmark needs a CUDA GPU and vLLM "
            f"(see docs/evaluation.md); nothing was measured or written."
        )
        return 0
    if not args.model:
        print("bench_vllm_client: pass --model (a local model directory or a cached name)", file=sys.stderr)
        return 2
    n = 200 if args.quick else args.n

    from transformers import AutoTokenizer

    from polyalign_lf.cli import main as polyalign
    from polyalign_lf.data.schema import read_records, write_records
    from polyalign_lf.inference.decoding import DecodingConfig
    from polyalign_lf.inference.prompts import PromptBuilder
    from polyalign_lf.integration.prompting import load_chat_renderer
    from polyalign_lf.io import read_jsonl

    work = Path(tempfile.mkdtemp(prefix="bench_vllm_"))
    records = (read_records(args.records) if args.records else _synthetic_records(n))[:n]
    write_records(work / "test.jsonl", records)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    builder = PromptBuilder(
        "chat",
        tokenizer,
        load_chat_renderer(tokenizer, args.template),
        max_prompt_tokens=args.max_model_len - args.max_new_tokens,
    )
    prompts = [builder.build(r).ids for r in records]
    decoding = DecodingConfig(max_new_tokens=args.max_new_tokens)
    sampling = {k: v for k, v in decoding.openai_params().items() if k not in ("n",)}

    # 1) vLLM offline throughput (its own process, so the GPU is free afterwards)
    (work / "offline.json").write_text(
        json.dumps(
            {
                "model": args.model,
                "max_model_len": args.max_model_len,
                "gpu_memory_utilization": args.gpu_memory_utilization,
                "seed": decoding.seed,
                "sampling": sampling,
                "prompts": prompts,
            }
        )
    )
    result = subprocess.run(
        [args.vllm_python, "-c", _OFFLINE_SCRIPT, str(work / "offline.json")], capture_output=True, text=True
    )
    line = next((l for l in result.stdout.splitlines() if l.startswith("RESULT ")), None)
    if result.returncode != 0 or line is None:
        print(result.stderr[-3000:], file=sys.stderr)
        print("bench_vllm_client: the offline vLLM run failed", file=sys.stderr)
        return 1
    offline = json.loads(line[len("RESULT ") :])

    # 2) the polyalign client against `vllm serve` on the same GPU
    url = f"http://127.0.0.1:{args.port}"
    log = open(work / "server.log", "w")
    server = subprocess.Popen(
        [
            args.vllm_python,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            args.model,
            "--port",
            str(args.port),
            "--host",
            "127.0.0.1",
            "--max-model-len",
            str(args.max_model_len),
            "--gpu-memory-utilization",
            str(args.gpu_memory_utilization),
            "--seed",
            str(decoding.seed),
            "--disable-log-requests",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_server(url, server, timeout=900)
        common = [
            "generate",
            "--engine",
            "vllm",
            "--server-url",
            url,
            "--records",
            str(work / "test.jsonl"),
            "--model",
            args.model,
            "--template",
            args.template,
            "--max-new-tokens",
            str(args.max_new_tokens),
            "--max-model-len",
            str(args.max_model_len),
            "--concurrency",
            str(args.concurrency),
        ]
        polyalign(common + ["--out", str(work / "warmup.jsonl"), "--limit", "16"])  # warm-up, as offline
        t0 = time.perf_counter()
        code = polyalign(common + ["--out", str(work / "pred.jsonl")])
        client_seconds = time.perf_counter() - t0
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    if code != 0:
        print(
            f"bench_vllm_client: polyalign generate failed (exit {code}); server log: {work / 'server.log'}",
            file=sys.stderr,
        )
        return 1
    client_tokens = sum(r["completion_tokens"] for r in read_jsonl(work / "pred.jsonl"))
    offline_tps = offline["completion_tokens"] / offline["seconds"]
    client_tps = client_tokens / client_seconds
    ratio = client_tps / offline_tps
    print(f"bench_vllm_client: {len(records)} prompts, max_new_tokens {args.max_new_tokens}, model {args.model}")
    print(f"  vLLM offline          {offline_tps:10.1f} generated tok/s ({offline['seconds']:.1f} s)")
    print(
        f"  polyalign vllm client {client_tps:10.1f} generated tok/s ({client_seconds:.1f} s, incl. prompt rendering and writing)"
    )
    print(f"  ratio {ratio:.3f}   goal ≥ {GOAL_RATIO:.2f}: {'OK' if ratio >= GOAL_RATIO else 'MISSED'}")
    gpu = (
        subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True
        ).stdout.strip()
        if shutil.which("nvidia-smi")
        else "unknown"
    )
    figures = {
        "prompts": len(records),
        "offline_tokens_per_s": round(offline_tps, 1),
        "client_tokens_per_s": round(client_tps, 1),
        "ratio": round(ratio, 4),
        "offline_seconds": round(offline["seconds"], 2),
        "client_seconds": round(client_seconds, 2),
    }
    goals = {"ratio": f"≥ {GOAL_RATIO} of vLLM offline throughput on the same prompts"}
    out = write_result("vllm_client", figures, goals, quick=args.quick, out=args.out, machine={"gpu": gpu})
    print(f"  wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
