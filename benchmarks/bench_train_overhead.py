"""Step-time overhead of PolyAlign's trainers: Bucket-SFT vs SFT and HDPO vs DPO (goal: ratio <= 1.02).

Each mode trains the same model on the same data files with the real ``llamafactory-cli train``; the only
difference is the recipe (``bucket_weighting: true`` / ``stage: hdpo``) and the dataset_info entry mapping
PolyAlign's columns. Step time = HF Trainer ``train_runtime`` / steps (the training loop only: no model
loading, no data preprocessing), the median over ``--repeats`` runs, modes interleaved so that load on a
shared machine hits all modes alike.

    python benchmarks/bench_train_overhead.py --quick
    python benchmarks/bench_train_overhead.py --model-shape qwen2.5-1.5b   # random weights, on a GPU

Writes benchmarks/results/train_overhead.json (``--quick``: benchmarks/results/quick/train_overhead.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the suite's helpers (polyalign_testing)

from _results import write_result  # noqa: E402

GOAL = 1.02
QWEN25_15B = dict(
    hidden_size=1536, num_layers=28, num_heads=12, num_kv_heads=2, intermediate_size=8960, vocab_size=151936
)
SMALL_CPU = dict(hidden_size=256, num_layers=4, num_heads=4, num_kv_heads=2, intermediate_size=688)

BUCKETS = ["en|qa|wiki|short", "en|qa|wiki|long", "en|chat|daily|short", "zh|qa|wiki|short", "zh|chat|daily|long"]
WORDS = (
    "the model answers questions about cats dogs rivers cities numbers and history in short clear sentences".split()
)


def _text(i: int, n: int) -> str:
    return " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(n))


def build_data(data_dir: Path, rows: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    sft, pref = [], []
    for i in range(rows):
        bucket = BUCKETS[(i * i) % len(BUCKETS)]  # unequal bucket sizes
        sft.append(
            {"instruction": _text(i, 12), "input": "", "output": _text(i + 1, 40 + i % 30), "bucket_id": bucket}
        )
        pref.append(
            {
                "instruction": _text(i, 12),
                "input": "",
                "chosen": _text(i + 2, 30 + i % 20),
                "rejected": _text(i + 3, 35 + i % 25),
                "bucket_id": bucket,
                "weight": 0.5 + (i % 4) * 0.5,
                "chosen_score": 0.1 * (i % 5),
                "rejected_score": 0.2 * (i % 7),
            }
        )
    (data_dir / "sft.json").write_text(json.dumps(sft))
    (data_dir / "pref.json").write_text(json.dumps(pref))
    sft_cols = {"prompt": "instruction", "query": "input", "response": "output"}
    pref_cols = {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"}
    info = {
        "bench_sft": {"file_name": "sft.json", "columns": sft_cols},
        "bench_bucket_sft": {"file_name": "sft.json", "columns": dict(sft_cols, bucket_id="bucket_id")},
        "bench_dpo": {"file_name": "pref.json", "ranking": True, "columns": pref_cols},
        "bench_hdpo": {
            "file_name": "pref.json",
            "ranking": True,
            "columns": dict(
                pref_cols,
                bucket_id="bucket_id",
                weight="weight",
                chosen_score="chosen_score",
                rejected_score="rejected_score",
            ),
        },
    }
    (data_dir / "dataset_info.json").write_text(json.dumps(info))


def build_model(out: Path, shape: dict) -> Path:
    """A random model of the given shape with the tiny offline tokenizer; a full-size vocabulary (the
    tokenizer uses its first ids only) is set afterwards so the LM head costs what the real one does."""
    from polyalign_lf.core.tiny_models import build_tiny_causal_lm

    shape = dict(shape)
    vocab = shape.pop("vocab_size", None)
    path = build_tiny_causal_lm(out, max_position_embeddings=4096, **shape)
    if vocab is not None:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        config = AutoConfig.from_pretrained(path)
        config.vocab_size = vocab
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        model.save_pretrained(path, safe_serialization=True)
    return path


MODES = {
    "sft": dict(stage="sft", dataset="bench_sft"),
    "bucket_sft": dict(stage="sft", dataset="bench_bucket_sft", bucket_weighting=True),
    "dpo": dict(stage="dpo", dataset="bench_dpo"),
    "hdpo": dict(stage="hdpo", dataset="bench_hdpo", hdpo_lambda=0.1),
}


def run_mode(mode: str, model: Path, ref: Path, data: Path, work: Path, steps: int, batch: int, gpu: bool) -> float:
    from polyalign_testing.lf import run_lf_train, tiny_train_config

    spec = dict(MODES[mode])
    dataset = spec.pop("dataset")
    extra = {"ref_model": str(ref)} if spec["stage"] in ("dpo", "hdpo") else {}
    device = {"use_cpu": False, "bf16": True} if gpu else {}
    config = tiny_train_config(
        model,
        dataset,
        data,
        work / "out",
        max_steps=steps,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=2,
        cutoff_len=256,
        logging_steps=max(1, steps),
        disable_shuffling=True,
        **spec,
        **extra,
        **device,
    )
    run = run_lf_train(config, work, timeout=3600).check()
    summary = next(row for row in run.log_history if "train_runtime" in row)
    return float(summary["train_runtime"]) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (few steps, 1 repeat)")
    parser.add_argument(
        "--model-shape",
        choices=["small", "qwen2.5-1.5b"],
        default="small",
        help="small CPU model, or a random model with Qwen2.5-1.5B's shape (GPU)",
    )
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="result JSON (default: benchmarks/results/[quick/]train_overhead.json)",
    )
    args = parser.parse_args(argv)

    import torch

    from polyalign_lf.core.tiny_models import perturb_weights
    from polyalign_lf.io import progress

    gpu = args.model_shape == "qwen2.5-1.5b"
    if gpu and not torch.cuda.is_available():
        parser.error("--model-shape qwen2.5-1.5b needs a CUDA GPU")
    steps = args.steps or (6 if args.quick else 30)
    repeats = args.repeats or (1 if args.quick else 3)
    batch = args.batch or (2 if args.quick else 4)
    shape = QWEN25_15B if gpu else SMALL_CPU
    with tempfile.TemporaryDirectory(prefix="pa_bench_") as tmp:
        tmp_path = Path(tmp)
        model = build_model(tmp_path / "model", shape)
        ref = perturb_weights(model, tmp_path / "ref")
        build_data(tmp_path / "data", rows=steps * batch * 2 + 8)
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        jobs = [(r, mode) for r in range(repeats) for mode in MODES]  # interleaved
        for r, mode in progress(jobs, desc="training runs", unit="run"):
            times[mode].append(
                run_mode(mode, model, ref, tmp_path / "data", tmp_path / f"{mode}_{r}", steps, batch, gpu)
            )
    median = {mode: statistics.median(values) for mode, values in times.items()}
    figures = {f"step_time_s.{mode}": round(value, 5) for mode, value in median.items()}
    figures["ratio.bucket_sft_vs_sft"] = round(median["bucket_sft"] / median["sft"], 4)
    figures["ratio.hdpo_vs_dpo"] = round(median["hdpo"] / median["dpo"], 4)
    goals = {"ratio.bucket_sft_vs_sft": f"<= {GOAL}", "ratio.hdpo_vs_dpo": f"<= {GOAL}"}
    print(
        f"model shape: {args.model_shape} ({'GPU' if gpu else 'CPU'}), steps {steps}, batch {batch} x GA 2, "
        f"repeats {repeats}"
    )
    for mode in MODES:
        print(
            f"  step time {mode:<11} {median[mode] * 1000:9.2f} ms   runs: {[round(t * 1000, 1) for t in times[mode]]}"
        )
    for name in ("ratio.bucket_sft_vs_sft", "ratio.hdpo_vs_dpo"):
        verdict = "meets" if figures[name] <= GOAL else "MISSES"
        print(f"  {name:<24} {figures[name]:.4f}   goal <= {GOAL}  ({verdict})")
    machine = {"device": torch.cuda.get_device_name(0) if gpu else "cpu", "cpu_threads": torch.get_num_threads()}
    out = write_result(
        "train_overhead",
        figures,
        goals,
        quick=args.quick,
        out=args.output,
        machine=machine,
        settings={
            "model_shape": args.model_shape,
            "steps": steps,
            "batch": batch,
            "gradient_accumulation_steps": 2,
            "repeats": repeats,
            "quick": args.quick,
        },
        runs_s=times,
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
