"""Benchmark: `polyalign evaluate` metric suite on 51,480 predictions (the English test size).

Features and embeddings are precomputed (synthetic matrices of realistic shape; the embeddings have the
low-rank structure of sentence embeddings), so the figure is the cost
of the metrics themselves: utility (EM/nEM/F1/ROUGE-L), distinct-n, BNG, global + conditional MAUVE, TDM,
NUF and Agg. Goal (issue 5): < 60 s for all metrics on the 2-core CPU box. Prints the time per metric and
writes benchmarks/results/evaluate.json (a smaller run: benchmarks/results/quick/evaluate.json).

    python benchmarks/bench_evaluate.py            # 51,480 predictions
    python benchmarks/bench_evaluate.py --quick    # 5,000 predictions
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from _results import write_result

GOAL_SECONDS = 60.0
EN_TEST_SIZE = 51_480

_WORDS = (
    "the answer is yes no it depends on context paris france capital model data question user assistant "
    "please thanks think usually because however people time year work good new first last long great "
    "little own other old right big high different small large next early young important few public bad same able"
).split()


def _synthetic(n: int, n_features: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    # 11 eligible buckets plus one below the 20-example minimum, like the real English test split.
    buckets = (
        [("single", "qa", b) for b in ("short", "medium", "long", "xlong")]
        + [("single", "assistant", b) for b in ("short", "medium", "long", "xlong")]
        + [("multi", "dialogue", b) for b in ("short", "medium", "long")]
    )
    weights = np.array([14, 9, 5, 3, 4, 4, 3, 2, 3, 2, 1], dtype=float)
    counts = np.floor(weights / weights.sum() * (n - 12)).astype(int)
    counts[0] += n - 12 - counts.sum()
    records, predictions = [], []
    lengths = {"short": (1, 8), "medium": (8, 30), "long": (30, 90), "xlong": (90, 200)}
    spec = [(bk, c) for bk, c in zip(buckets, counts)] + [(("multi", "dialogue", "xlong"), 12)]
    for (track, family, length_bin), count in spec:
        lo, hi = lengths[length_bin]
        for _ in range(count):
            k = len(records)
            answer = " ".join(rng.choice(_WORDS, size=rng.integers(lo, hi)))
            words = answer.split()
            # predictions: the answer with some words replaced, dropped or appended (realistic overlap)
            keep = [w if rng.random() > 0.3 else rng.choice(_WORDS) for w in words if rng.random() > 0.1]
            pred = " ".join(keep + list(rng.choice(_WORDS, size=rng.integers(0, 5))))
            history = (
                [{"role": "user", "text": "hi there"}, {"role": "assistant", "text": "hello, how can I help"}]
                if track == "multi"
                else []
            )
            records.append(
                {
                    "id": f"r{k}",
                    "dataset": "synthetic",
                    "split": "test",
                    "language": "en",
                    "track": track,
                    "family": family,
                    "style_bucket": "x",
                    "length_bin": length_bin,
                    "question": " ".join(rng.choice(_WORDS, size=rng.integers(4, 20))) + "?",
                    "context": "",
                    "dialogue_history": history,
                    "human_answer": answer,
                    "bucket_id": f"en|{track}|{family}|{length_bin}",
                    "meta": {
                        "source_dataset": "synthetic",
                        "source_split": "test",
                        "source_id": str(k),
                        "length_tokens": len(words),
                    },
                }
            )
            predictions.append(pred)
    n = len(records)
    human_features = rng.normal(size=(n, n_features)).astype(np.float32)
    prediction_features = (human_features * 0.9 + rng.normal(0.2, 0.5, size=(n, n_features))).astype(np.float32)
    human_features[:, -1] = 1.0  # a constant column, as config features would be
    prediction_features[:, -1] = 1.0
    # Sentence embeddings concentrate their variance in a few dozen directions (that is what MAUVE's PCA step
    # exploits); emulate that with 48 latent factors projected to `dim` plus small isotropic noise.
    latent_dim = 48
    projection = rng.normal(size=(latent_dim, dim)) / np.sqrt(latent_dim)
    centers = rng.normal(size=(len(spec), latent_dim))
    bucket_index = np.concatenate([[i] * c for i, (_, c) in enumerate(spec)])
    human_emb = (centers[bucket_index] + rng.normal(size=(n, latent_dim))) @ projection + 0.1 * rng.normal(
        size=(n, dim)
    )
    pred_emb = (centers[bucket_index] + rng.normal(0.1, 1.0, size=(n, latent_dim))) @ projection + 0.1 * rng.normal(
        size=(n, dim)
    )
    human_emb /= np.linalg.norm(human_emb, axis=1, keepdims=True)
    pred_emb /= np.linalg.norm(pred_emb, axis=1, keepdims=True)
    return (
        records,
        predictions,
        human_features,
        prediction_features,
        human_emb.astype(np.float32),
        pred_emb.astype(np.float32),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5,000 predictions instead of 51,480")
    parser.add_argument("--n", type=int, default=None, help="number of predictions (overrides --quick)")
    parser.add_argument("--features", type=int, default=96, help="feature columns (BNG)")
    parser.add_argument("--dim", type=int, default=384, help="embedding dimension (MAUVE); MiniLM = 384")
    parser.add_argument("--out", default=None, help="result JSON (default: benchmarks/results/[quick/]evaluate.json)")
    args = parser.parse_args(argv)
    n = args.n or (5_000 if args.quick else EN_TEST_SIZE)
    os.environ.setdefault("POLYALIGN_NO_PROGRESS", "1")

    from polyalign_lf.metrics.evaluate import EvaluationConfig, Precomputed, evaluate

    t0 = time.perf_counter()
    records, predictions, hf, pf, he, pe = _synthetic(n, args.features, args.dim)
    setup = time.perf_counter() - t0
    timings: dict[str, float] = {}
    pre = Precomputed(
        human_features=hf,
        prediction_features=pf,
        human_embeddings=he,
        prediction_embeddings=pe,
        extra={"embeddings_model": "synthetic"},
    )
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    metrics = evaluate(records, predictions, EvaluationConfig(), pre, timings=timings)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0

    print(
        f"bench_evaluate: {len(records):,} predictions, {args.features} features, {args.dim}-d embeddings "
        f"(synthetic data built in {setup:.1f} s)"
    )
    for name, seconds in timings.items():
        print(f"  {name:<18} {seconds:8.2f} s")
    status = "OK" if total < GOAL_SECONDS else "MISSED"
    print(
        f"  {'total':<18} {total:8.2f} s   goal < {GOAL_SECONDS:.0f} s for {EN_TEST_SIZE:,} predictions: "
        f"{status if n == EN_TEST_SIZE else 'n/a (not the full size)'}"
    )
    print(
        f"  CPU time of this process {cpu:.1f} s (all threads); load average before the run {load_before:.1f} on "
        f"{os.cpu_count()} cores — other processes on a shared machine inflate the wall-clock figures"
    )
    print(
        f"  agg={metrics['agg']} bng.macro={metrics['bng']['macro']} mauve.global={metrics['mauve']['global']} "
        f"nuf.hv={metrics['nuf']['hypervolume']} tdm.macro={metrics['tdm']['macro']}"
    )
    figures = {
        "n_predictions": len(records),
        "total_seconds": round(total, 3),
        "cpu_seconds": round(cpu, 3),
        "load_average_before": round(load_before, 2),
    }
    figures.update({f"{k}_seconds": round(v, 3) for k, v in timings.items()})
    goals = {
        "total_seconds": f"< {GOAL_SECONDS:.0f} s for all metrics on {EN_TEST_SIZE:,} predictions with precomputed features and embeddings"
    }
    out = write_result("evaluate", figures, goals, quick=n != EN_TEST_SIZE, out=args.out)
    print(f"  wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
