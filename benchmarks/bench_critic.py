"""MLP-critic training time on a 600k-row feature matrix vs the issue-4 goal (≤ 5 min on 2 CPU cores),
with the held-out ranking accuracy and Spearman correlation with D_b.

The matrix: 200k prompts × (human answer + 2 model outputs) = 600k rows. Rows are drawn from the features
of a real synthetic bilingual text corpus (polyalign_testing.synthetic_corpus: in-support and off-support
outputs) plus small Gaussian jitter, so the feature distribution is realistic but the build is fast.
Writes benchmarks/results/critic.json (``--quick``: benchmarks/results/quick/critic.json).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the suite's helpers (polyalign_testing)

from _results import write_result  # noqa: E402


def build_matrix(n_prompts: int, seed: int = 0):
    from polyalign_testing.synthetic_corpus import synthetic_corpus

    from polyalign_lf.features import extract_features

    records, outputs = synthetic_corpus(3000, seed=seed, split_fractions=(1.0, 0.0, 0.0))
    human = extract_features([r["human_answer"] for r in records], [r["language"] for r in records])
    rows = [(k, text) for k, r in enumerate(records) for text, _ in outputs[r["id"]]]
    model = extract_features([t for _, t in rows], [records[k]["language"] for k, _ in rows])
    model_of = np.array([k for k, _ in rows]).reshape(len(records), -1)  # [records, outputs_per_record]
    rng = np.random.default_rng(seed)
    base = rng.integers(0, len(records), size=n_prompts)
    col_std = np.maximum(human.std(0), 1e-3)
    jitter = lambda m: np.clip(m + rng.normal(0, 0.03, size=m.shape) * col_std, 0, None).astype(np.float32)  # noqa: E731
    H = jitter(human[base])
    O1, O2 = jitter(model[model_of[base, 0]]), jitter(model[model_of[base, 1]])
    matrix = np.concatenate([H, O1, O2])
    buckets = [records[k]["bucket_id"] for k in base] * 3
    groups = [f"p{i}" for i in range(n_prompts)] * 3
    is_human = np.r_[np.ones(n_prompts, bool), np.zeros(2 * n_prompts, bool)]
    return matrix, buckets, groups, is_human


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small run (20k rows)")
    parser.add_argument("--rows", type=int, default=600_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    os.environ.setdefault("POLYALIGN_NO_PROGRESS", "1")
    from polyalign_lf.critic.mlp import MLPCritic, MLPCriticConfig
    from polyalign_lf.critic.train import CriticData, heldout_mask
    from polyalign_lf.features import FEATURE_SCHEMA_VERSION, feature_names
    from polyalign_lf.references import build_references

    n_rows = 20_000 if args.quick else args.rows
    t0 = time.perf_counter()
    matrix, buckets, groups, is_human = build_matrix(n_rows // 3)
    build_s = time.perf_counter() - t0
    refs = build_references(
        matrix[is_human],
        [b for b, h in zip(buckets, is_human) if h],
        ["train"] * int(is_human.sum()),
        feature_names(),
        FEATURE_SCHEMA_VERSION,
    )
    data = CriticData(matrix, buckets, groups, refs.distance(matrix, buckets), heldout_mask(groups, 0.05))
    cfg = MLPCriticConfig(num_threads=args.threads, **({"epochs": args.epochs} if args.epochs else {}))
    t0, c0 = time.perf_counter(), time.process_time()
    critic = MLPCritic.train(refs, data, cfg)
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    held = critic.report["heldout"]
    figures = {
        "rows": int(len(matrix)),
        "train_seconds": round(train_s, 1),
        "train_cpu_seconds": round(train_cpu_s, 1),
        "heldout_ranking_accuracy": round(held["ranking_accuracy"], 4),
        "heldout_spearman_with_D": round(held["spearman_with_target"], 4),
        "heldout_pairs": held["pairs"],
        "heldout_score_std": round(held["score_std"], 4),
        "matrix_build_seconds": round(build_s, 1),
        "epochs": cfg.epochs,
        "torch_threads": args.threads,
    }
    goals = {
        "train_seconds": "<= 300 s on 2 CPU cores for 600k rows (paper: 8 h 55 min)",
        "heldout_ranking_accuracy": "high (>= 0.95 on the synthetic corpus with known support)",
    }
    out = write_result("critic", figures, goals, quick=args.quick)
    print(
        f"rows {figures['rows']}: training {figures['train_seconds']} s wall, {figures['train_cpu_seconds']} s CPU "
        f"(load average {os.getloadavg()[0]:.1f})   goal {goals['train_seconds']}"
    )
    print(
        f"held-out ranking accuracy {figures['heldout_ranking_accuracy']} ({figures['heldout_pairs']} pairs), "
        f"Spearman with D_b {figures['heldout_spearman_with_D']}   -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
