"""Benchmark: `polyalign evaluate` for several methods on one test set, end to end, with and without the cache.

A cell evaluates five methods (BaseLM, Full-SFT, Bucket-SFT, DPO, HDPO) on the same test split. The human side
of every metric (the human answers' features and embeddings) does not depend on the method; with
``--cache-dir`` (what ``polyalign run`` and the study pass) it is computed once. This runs the real command
(features, embeddings with the bundled MiniLM encoder, utility, BNG, MAUVE, TDM, NUF, Agg) on 2,000 test rows of
realistic answers (``polyalign_testing.realistic_corpus``) and five prediction files (each a differently
perturbed copy of the answers), and reports

* one method, cold (no cache): the baseline;
* five methods sharing a cache (the first fills it): goal <= 2x one method's time;
* five methods without a cache, for comparison.

Writes benchmarks/results/evaluate_methods.json (``--quick``: 400 rows, under results/quick/).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the suite's helpers (polyalign_testing)

from _results import write_result  # noqa: E402

GOALS = {"ratio.five_methods_cached_vs_one": "<= 2.0 (five methods with --cache-dir vs one method, cold)"}
METHODS = ("base", "sft", "bucket_sft", "dpo", "hdpo")


def build_inputs(folder: Path, n: int) -> tuple[Path, list[Path]]:
    """Test records of realistic English answers and one prediction file per method."""
    from polyalign_testing.realistic_corpus import realistic_corpus

    from polyalign_lf.data.normalize import length_bin
    from polyalign_lf.data.schema import make_bucket_id, write_records
    from polyalign_lf.io import write_jsonl

    answers = realistic_corpus("en", n, seed=7)
    records = []
    for k, answer in enumerate(answers):
        family = "qa" if len(answer) < 200 else "assistant"
        bin_name, tokens = length_bin(answer, "en")
        records.append(
            {
                "id": f"r{k}",
                "dataset": "bench",
                "split": "test",
                "language": "en",
                "track": "single",
                "family": family,
                "style_bucket": family,
                "length_bin": bin_name,
                "question": f"Question {k}?",
                "context": "",
                "dialogue_history": [],
                "human_answer": answer,
                "bucket_id": make_bucket_id("en", "single", family, bin_name),
                "meta": {
                    "source_dataset": "bench",
                    "source_split": "test",
                    "source_id": str(k),
                    "length_tokens": tokens,
                },
            }
        )
    records_path = folder / "test.jsonl"
    write_records(records_path, records)
    paths = []
    for m, method in enumerate(METHODS):
        rng = random.Random(m)
        rows = []
        for record in records:
            words = record["human_answer"].split()
            kept = [w for w in words if rng.random() > 0.1 * (m + 1)]
            if m == 0:  # BaseLM: a generic assistant preamble
                kept = ["Sure!", "Here", "is", "the", "answer:"] + kept
            rows.append({"id": record["id"], "prediction": " ".join(kept)})
        path = folder / f"{method}.jsonl"
        write_jsonl(path, rows)
        paths.append(path)
    return records_path, paths


def evaluate(records: Path, predictions: Path, out: Path, cache: Path | None) -> float:
    from polyalign_lf.cli import main as polyalign

    argv = ["evaluate", "--records", str(records), "--predictions", str(predictions), "--out", str(out)]
    argv += ["--encoder", "bundled-minilm", "--method", predictions.stem]
    if cache is not None:
        argv += ["--cache-dir", str(cache)]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = polyalign(argv)
    if code != 0:
        raise SystemExit(f"polyalign evaluate failed ({code}) on {predictions}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="400 rows instead of 2,000")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    n = 400 if args.quick else args.n
    os.environ.setdefault("POLYALIGN_NO_PROGRESS", "1")
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        folder = Path(tmp)
        records, predictions = build_inputs(folder, n)
        evaluate(records, predictions[0], folder / "warmup.json", None)  # imports, encoder load, caches
        one = evaluate(records, predictions[1], folder / "one.json", None)
        cache = folder / "cache"
        cached = [evaluate(records, p, folder / f"cached_{p.stem}.json", cache) for p in predictions]
        uncached = [evaluate(records, p, folder / f"plain_{p.stem}.json", None) for p in predictions]
        same = all(
            json.loads((folder / f"cached_{p.stem}.json").read_text())["bng"]
            == json.loads((folder / f"plain_{p.stem}.json").read_text())["bng"]
            for p in predictions
        )
    figures = {
        "rows": n,
        "methods": len(METHODS),
        "one_method_s": round(one, 2),
        "five_methods_cached_s": round(sum(cached), 2),
        "five_methods_uncached_s": round(sum(uncached), 2),
        "per_method_cached_s": [round(t, 2) for t in cached],
        "ratio.five_methods_cached_vs_one": round(sum(cached) / one, 3),
        "ratio.five_methods_uncached_vs_one": round(sum(uncached) / one, 3),
        "cached_metrics_equal_uncached": same,
    }
    out = write_result("evaluate_methods", figures, GOALS, quick=args.quick)
    print(f"{n} test rows, {len(METHODS)} methods, `polyalign evaluate` end to end (bundled MiniLM encoder):")
    print(f"  one method, cold:            {one:7.1f} s")
    print(
        f"  five methods, --cache-dir:   {sum(cached):7.1f} s  (per method: {', '.join(f'{t:.1f}' for t in cached)})"
    )
    print(f"  five methods, no cache:      {sum(uncached):7.1f} s")
    print(
        f"  ratio five cached / one:     {figures['ratio.five_methods_cached_vs_one']:7.3f}   goal "
        f"{GOALS['ratio.five_methods_cached_vs_one']}"
    )
    print(f"  metrics identical with and without the cache: {same}")
    print(f"(load average {os.getloadavg()[0]:.1f}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
