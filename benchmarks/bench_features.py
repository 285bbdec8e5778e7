"""Feature-extraction throughput (responses/s on one core) for English and Chinese vs the issue-4 goals.

Goal: ≥ 2,000 responses/s per core in English and ≥ 1,000 in Chinese (797k answers in < 4 min on 2 cores).
Texts are synthetic answers of realistic length (1–6 sentences, some lists), generated deterministically.
Writes benchmarks/results/features.json (``--quick``: benchmarks/results/quick/features.json).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import write_result  # noqa: E402


def corpus(lang: str, n: int, seed: int = 0) -> list[str]:
    from polyalign_lf.critic.synthetic import human_like, off_support

    rng = random.Random(seed)
    texts = []
    for k in range(n):
        if k % 4 == 3:
            texts.append(off_support(rng, lang, rng.choice(["long", "list"])))
        else:
            texts.append(" ".join(human_like(rng, lang) for _ in range(rng.randint(1, 2))))
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small run (2,000 texts per language)")
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    n = 2000 if args.quick else args.n
    os.environ.setdefault("POLYALIGN_NO_PROGRESS", "1")
    from polyalign_lf.features import extract_features

    figures = {}
    for lang in ("en", "zh"):
        texts = corpus(lang, n)
        extract_features(texts[:10], lang)  # warm-up (jieba dictionary load)
        t0, c0 = time.perf_counter(), time.process_time()
        extract_features(texts, lang)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        # per core = responses per CPU-second of this (single-threaded) process; wall-clock rate also reported,
        # it is lower when other processes share the core
        figures[f"{lang}_responses_per_s"] = round(n / cpu, 1)
        figures[f"{lang}_responses_per_wall_s"] = round(n / wall, 1)
        figures[f"{lang}_mean_chars"] = round(sum(map(len, texts)) / n, 1)
    goals = {"en_responses_per_s": ">= 2000 per core", "zh_responses_per_s": ">= 1000 per core"}
    out = write_result("features", {**figures, "texts_per_language": n}, goals, quick=args.quick)
    for key, goal in goals.items():
        print(f"{key:>22}: {figures[key]:>10.1f}   goal {goal}")
    print(f"(single process; load average {os.getloadavg()[0]:.1f}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
