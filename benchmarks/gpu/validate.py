"""The GPU validation run: every figure of the project that needs a GPU, in one command, in minutes.

Run it through ``benchmarks/gpu/validate.sh`` (which installs the wheels shipped beside the repository first);
``--dry-run`` runs the same code on the CPU at tiny sizes (the test suite does, so the script is known to work
before a GPU is ever lent). Sections, each timed and each allowed to fail without stopping the others:

1. ``environment``   torch/CUDA/device, bf16, versions of the stack;
2. ``train_overhead`` Bucket-SFT/SFT and HDPO/DPO step-time ratios with the real ``llamafactory-cli train`` on
   a random Qwen2.5-1.5B-shaped model in bf16 (goal <= 1.02), with the model-FLOPs utilization of the SFT runs;
3. ``step1_loss``    a real Bucket-SFT and HDPO run on the GPU whose step-1 loss must equal an independent
   float64 recomputation (the CPU test's check, on CUDA kernels);
4. ``lm_features``   LM-feature extraction throughput (tokens/s) on the 1.5B-shaped model;
5. ``detectors``     Binoculars + Fast-DetectGPT scoring throughput (tokens/s), two 1.5B-shaped models;
6. ``embeddings``    the metrics' encoder (MiniLM-L6 shape) throughput (texts/s and tokens/s);
7. ``vllm``          skipped with a message unless vLLM is importable (it lives in its own environment).

Writes ``results.json`` and ``results.md`` into ``--out``. Random weights everywhere: the figures are speeds and
equalities, not quality.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks"), str(REPO / "tests"), str(REPO / "tests" / "integration")]

# bf16 dense peak of the cards this is meant for (FLOP/s), for the MFU; None elsewhere.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}
MINILM_L6 = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)


def _peak(device_name: str) -> float | None:
    return next((flops for key, flops in PEAK_BF16.items() if key in device_name), None)


def section_environment(ctx: dict) -> dict:

    from polyalign_lf.integration.doctor import torch_build

    versions = {}
    for name in ("polyalign-lf", "llamafactory", "transformers", "trl", "datasets", "accelerate", "peft", "vllm"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - absent package
            versions[name] = None
    return {
        "python": platform.python_version(),
        "torch": torch_build(),
        "versions": versions,
        "cpu_count": os.cpu_count(),
        "dry_run": ctx["dry_run"],
    }


def section_train_overhead(ctx: dict) -> dict:
    import bench_train_overhead as bench
    import torch

    out = ctx["out"] / "train_overhead.json"
    if ctx["dry_run"]:
        argv = ["--quick", "--steps", "2", "--output", str(out)]
    else:
        argv = ["--model-shape", "qwen2.5-1.5b", "--steps", "20", "--repeats", "2", "--output", str(out)]
    bench.main(argv)
    result = json.loads(out.read_text())
    figures = dict(result["figures"])
    shape = bench.SMALL_CPU if ctx["dry_run"] else bench.QWEN25_15B
    params = _decoder_params(shape, vocab=shape.get("vocab_size", 600))
    tokens_per_step = result["settings"]["batch"] * result["settings"]["gradient_accumulation_steps"] * 70
    figures["approx_params"] = params
    peak = _peak(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else None
    if peak:
        for mode in ("sft", "bucket_sft"):
            step = figures[f"step_time_s.{mode}"]
            figures[f"mfu.{mode}"] = round(6 * params * tokens_per_step / step / peak, 4)
    figures["mfu_note"] = "6·N·tokens/step/peak, tokens/step ≈ batch·GA·70 (the benchmark's mean example length)"
    return {"figures": figures, "goals": result["goals"]}


def _decoder_params(shape: dict, vocab: int) -> int:
    """Parameters of a Qwen2-style decoder (attention with grouped KV heads, SwiGLU MLP, untied embeddings)."""
    h, layers, inter = shape["hidden_size"], shape["num_layers"], shape["intermediate_size"]
    kv = h // shape["num_heads"] * shape["num_kv_heads"]
    per_layer = h * h * 2 + h * kv * 2 + 3 * h * inter
    return layers * per_layer + 2 * vocab * h


def section_step1_loss(ctx: dict) -> dict:
    import pa_integration_helpers as helpers
    from polyalign_testing.lf import run_lf_train, tiny_train_config

    from polyalign_lf.core.tiny_models import build_tiny_causal_lm, perturb_weights

    work = Path(tempfile.mkdtemp(prefix="pa_step1_", dir=ctx["tmp"]))
    model = build_tiny_causal_lm(work / "model")
    ref = perturb_weights(model, work / "ref")
    (work / "data").mkdir()
    data = helpers.build_pa_data(work / "data")
    device = {} if ctx["dry_run"] else {"use_cpu": False}  # fp32 on CUDA: comparable to the float64 recomputation
    checks = {}
    tokenized = work / "tok_sft"
    run = run_lf_train(
        tiny_train_config(
            model,
            "sft4",
            data,
            work / "out_sft",
            bucket_weighting=True,
            max_steps=1,
            gradient_accumulation_steps=4,
            disable_shuffling=True,
            tokenized_path=str(tokenized),
            **device,
        ),
        work / "run_sft",
    ).check()
    expected, _ = helpers.expected_bucket_sft_loss(model, tokenized, [r["bucket_id"] for r in helpers.SFT_ROWS])
    checks["bucket_sft"] = _compare(run.step_loss(1), expected)
    tokenized = work / "tok_hdpo"
    run = run_lf_train(
        tiny_train_config(
            model,
            "pref4",
            data,
            work / "out_hdpo",
            stage="hdpo",
            hdpo_lambda=0.3,
            ref_model=str(ref),
            max_steps=1,
            gradient_accumulation_steps=4,
            disable_shuffling=True,
            tokenized_path=str(tokenized),
            pref_beta=0.1,
            **device,
        ),
        work / "run_hdpo",
    ).check()
    expected, _ = helpers.expected_hdpo_loss(model, ref, tokenized, helpers.PREF_ROWS, beta=0.1, lam=0.3)
    checks["hdpo"] = _compare(run.step_loss(1), expected)
    return {"checks": checks, "ok": all(c["ok"] for c in checks.values())}


def section_zero3_step1_loss(ctx: dict) -> dict:
    """The grid's ZeRO-3 path with the plugin (never run before a GPU was lent): Bucket-SFT and HDPO step-1
    losses under `deepspeed: recipes/deepspeed/ds_z3_config.json` (FORCE_TORCHRUN=1, one rank) equal the
    float64 recomputation. Skipped, with the reason, where DeepSpeed is not installed."""
    import importlib.util

    if importlib.util.find_spec("deepspeed") is None:
        return {"skipped": "DeepSpeed is not installed (fetch_wheels.sh builds its wheel where PyPI is reachable)"}
    import pa_integration_helpers as helpers
    from polyalign_testing.lf import run_lf_train, tiny_train_config

    from polyalign_lf.core.tiny_models import build_tiny_causal_lm, perturb_weights

    work = Path(tempfile.mkdtemp(prefix="pa_zero3_", dir=ctx["tmp"]))
    model = build_tiny_causal_lm(work / "model")
    ref = perturb_weights(model, work / "ref")
    (work / "data").mkdir()
    data = helpers.build_pa_data(work / "data")
    zero3 = {"deepspeed": str(REPO / "recipes" / "deepspeed" / "ds_z3_config.json")}
    zero3.update({} if ctx["dry_run"] else {"use_cpu": False})
    env = {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "1"}
    checks = {}
    for method, dataset, extra in (
        ("bucket_sft", "sft4", {"bucket_weighting": True}),
        ("hdpo", "pref4", {"stage": "hdpo", "hdpo_lambda": 0.3, "ref_model": str(ref), "pref_beta": 0.1}),
    ):
        tokenized = work / f"tok_{method}"
        config = tiny_train_config(
            model, dataset, data, work / f"out_{method}", max_steps=1, gradient_accumulation_steps=4,
            disable_shuffling=True, tokenized_path=str(tokenized), **extra, **zero3,
        )  # fmt: skip
        run = run_lf_train(config, work / f"run_{method}", env=env).check()
        if method == "bucket_sft":
            expected, _ = helpers.expected_bucket_sft_loss(
                model, tokenized, [r["bucket_id"] for r in helpers.SFT_ROWS]
            )
        else:
            expected, _ = helpers.expected_hdpo_loss(model, ref, tokenized, helpers.PREF_ROWS, beta=0.1, lam=0.3)
        checks[method] = _compare(run.step_loss(1), expected)
    return {"checks": checks, "ok": all(c["ok"] for c in checks.values())}


def _compare(logged: float, expected: float, rel: float = 1e-4) -> dict:
    return {
        "logged": logged,
        "expected_float64": expected,
        "abs_diff": abs(logged - expected),
        "ok": math.isclose(logged, expected, rel_tol=rel, abs_tol=rel),
    }


def _texts(n: int) -> list[str]:
    from polyalign_testing.realistic_corpus import realistic_corpus

    return realistic_corpus("en", n, seed=3)


def _causal_model(ctx: dict) -> Path:
    """The 1.5B-shaped random model (a small one for --dry-run), built once."""
    if "causal_model" not in ctx:
        import bench_train_overhead as bench

        shape = bench.SMALL_CPU if ctx["dry_run"] else bench.QWEN25_15B
        ctx["causal_model"] = bench.build_model(Path(ctx["tmp"]) / "causal", shape)
    return ctx["causal_model"]


def _token_count(model: Path, texts: list[str], max_length: int) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    return sum(len(tokenizer(t, truncation=True, max_length=max_length)["input_ids"]) for t in texts)


def _timed(fn) -> float:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def section_lm_features(ctx: dict) -> dict:
    from polyalign_lf.features.lm import extract_lm_features

    model = _causal_model(ctx)
    texts = _texts(ctx["n_texts"])
    extract_lm_features(texts[:4], str(model), batch_size=4)  # warm-up: load, kernels
    seconds = _timed(lambda: extract_lm_features(texts, str(model), batch_size=32, max_length=1024))
    tokens = _token_count(model, texts, 1024)
    return {
        "texts": len(texts),
        "tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds),
    }


def section_detectors(ctx: dict) -> dict:
    from polyalign_lf.core.tiny_models import perturb_weights
    from polyalign_lf.detect.detection import DetectorModels, score_texts

    observer = _causal_model(ctx)
    performer = perturb_weights(observer, Path(ctx["tmp"]) / "performer")
    models = DetectorModels(observer=str(observer), performer=str(performer), radar=None, batch_size=32)
    texts = _texts(ctx["n_texts"])
    detectors = ["binoculars", "fast_detectgpt"]
    score_texts(texts[:4], models, detectors)  # warm-up
    seconds = _timed(lambda: score_texts(texts, models, detectors))
    tokens = _token_count(observer, texts, models.max_length)
    return {
        "texts": len(texts),
        "tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds),
    }


def _minilm_shaped_encoder(folder: Path) -> Path:
    """A random BERT encoder of all-MiniLM-L6-v2's shape with a WordPiece tokenizer trained here (offline)."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(_texts(2000), vocab_size=8000)
    trainer.save_model(str(folder))
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    BertModel(BertConfig(vocab_size=30522, max_position_embeddings=512, **MINILM_L6)).save_pretrained(folder)
    return folder


def section_embeddings(ctx: dict) -> dict:
    from polyalign_lf.core.embeddings import embed_texts

    encoder = _minilm_shaped_encoder(Path(ctx["tmp"]) / "encoder")
    texts = _texts(ctx["n_texts"] * 4)
    embed_texts(texts[:8], str(encoder))  # warm-up
    seconds = _timed(lambda: embed_texts(texts, str(encoder), batch_size=128))
    tokens = _token_count(encoder, texts, 256)
    return {
        "texts": len(texts),
        "seconds": round(seconds, 3),
        "texts_per_s": round(len(texts) / seconds),
        "tokens_per_s": round(tokens / seconds),
    }


def section_vllm(ctx: dict) -> dict:
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return {"skipped": "vLLM is not installed here (it lives in its own environment); no throughput measured"}
    return {"skipped": "vLLM is installed, but its throughput run is not part of this script yet"}


SECTIONS = {
    "environment": section_environment,
    "train_overhead": section_train_overhead,
    "step1_loss": section_step1_loss,
    "zero3_step1_loss": section_zero3_step1_loss,
    "lm_features": section_lm_features,
    "detectors": section_detectors,
    "embeddings": section_embeddings,
    "vllm": section_vllm,
}


def markdown(results: dict) -> str:
    env = results["environment"].get("result", {})
    torch_info = env.get("torch", {})
    lines = [
        "# PolyAlign GPU validation",
        "",
        f"Device: {torch_info.get('device', 'cpu')} · torch {torch_info.get('version')} · "
        f"{'dry run (CPU, tiny sizes)' if env.get('dry_run') else 'full run'}",
        "",
        "| section | figure | value | goal |",
        "|---|---|---|---|",
    ]
    for name, entry in results.items():
        if name == "environment":
            continue
        if "error" in entry:
            lines.append(f"| {name} | error | {entry['error'].splitlines()[-1][:120]} | |")
            continue
        result = entry["result"]
        if name == "train_overhead":
            goals = result["goals"]
            for key, value in result["figures"].items():
                if key.startswith(("ratio.", "mfu.", "step_time_s.")):
                    lines.append(f"| {name} | {key} | {value} | {goals.get(key, '')} |")
        elif name in ("step1_loss", "zero3_step1_loss") and "checks" in result:
            for mode, check in result["checks"].items():
                lines.append(
                    f"| {name} | {mode} logged vs float64 | {check['logged']:.6f} vs {check['expected_float64']:.6f} | "
                    f"equal (rel 1e-4): {'yes' if check['ok'] else 'NO'} |"
                )
        elif "skipped" in result:
            lines.append(f"| {name} | skipped | {result['skipped']} | |")
        else:
            for key in ("tokens_per_s", "texts_per_s"):
                if key in result:
                    lines.append(f"| {name} | {key} | {result[key]:,} | |")
    seconds = ", ".join(f"{name} {entry.get('seconds', 0):.0f}" for name, entry in results.items())
    lines += ["", f"Seconds per section: {seconds}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="results folder (results.json, results.md)")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: the same code paths")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of the sections")
    args = parser.parse_args(argv)
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print("validate: no CUDA device here; run with --dry-run for the CPU check", file=sys.stderr)
        return 2
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("POLYALIGN_NO_PROGRESS", "1")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pa_gpu_validate_") as tmp:
        ctx = {"dry_run": args.dry_run, "out": args.out, "tmp": tmp, "n_texts": 16 if args.dry_run else 512}
        for name in ["environment", *[s for s in wanted if s != "environment"]]:
            start = time.perf_counter()
            print(f"== {name}", flush=True)
            try:
                results[name] = {"result": SECTIONS[name](ctx)}
            except Exception:  # noqa: BLE001 - one broken section must not hide the others' figures
                results[name] = {"error": traceback.format_exc()}
                print(results[name]["error"], file=sys.stderr, flush=True)
            results[name]["seconds"] = round(time.perf_counter() - start, 1)
            (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (args.out / "results.md").write_text(markdown(results))
    print((args.out / "results.md").read_text())
    failed = [name for name, entry in results.items() if "error" in entry]
    step1 = results.get("step1_loss", {}).get("result", {})
    zero3 = results.get("zero3_step1_loss", {}).get("result", {})
    if failed or step1.get("ok") is False or zero3.get("ok") is False:
        print(
            f"validate: {len(failed)} section(s) failed: {', '.join(failed) or '-'}; step-1 check ok: {step1.get('ok')}"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
