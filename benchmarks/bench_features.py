"""Feature-extraction throughput (responses/s on one core), English and Chinese, on two corpora.

* ``realistic`` (the goal's corpus): 5,000 answers per language from QA spans to multi-paragraph answers with
  headings, lists and markdown; Chinese with full-width punctuation, enumerations and Latin terms
  (``polyalign_testing.realistic_corpus``). Goal: >= 5,000 en and >= 3,000 zh responses/s per core
  (the reference implementation's NLTK extractor did 144 en / 262 zh on such a corpus: 35x / 11x).
* ``synthetic``: the project's earlier benchmark texts (shorter, more regular), reported for continuity.

Per core = responses per CPU-second of this single-threaded process (best of 3 runs: the machine is shared);
the wall-clock rate is printed too. Also measured: the Chinese segmenter in use and its token agreement with
jieba on both corpora (goal >= 99.5%), and the throughput with jieba itself (the fallback).
Writes benchmarks/results/features.json (``--quick``: benchmarks/results/quick/features.json).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the suite's helpers (polyalign_testing)

from _results import write_result  # noqa: E402

GOALS = {
    "realistic.en_responses_per_s": ">= 5000 per core",
    "realistic.zh_responses_per_s": ">= 3000 per core",
    "segmenter_token_agreement": ">= 0.995 (vs jieba, both corpora)",
}


def throughput(texts: list[str], lang: str, repeats: int) -> tuple[float, float]:
    """(responses per CPU-second, responses per wall-second), best of ``repeats``."""
    from polyalign_lf.features import extract_features

    extract_features(texts[:10], lang)  # warm-up (segmenter dictionary, caches)
    best_cpu = best_wall = 0.0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        extract_features(texts, lang)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best_cpu, best_wall = max(best_cpu, len(texts) / cpu), max(best_wall, len(texts) / wall)
    return round(best_cpu, 1), round(best_wall, 1)


def token_agreement(texts: list[str]) -> float | None:
    """Matched tokens / tokens of the longer segmentation, compiled segmenter vs jieba (None without rjieba)."""
    from polyalign_lf.features.linguistic import chinese_segmenter

    name, fast = chinese_segmenter()
    if name == "jieba":
        return None
    _, slow = chinese_segmenter("jieba")
    matched = total = 0
    for text in texts:
        a, b = slow(text), fast(text)
        if a == b:
            matched += len(a)
            total += len(a)
            continue
        blocks = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()
        matched += sum(block.size for block in blocks)
        total += max(len(a), len(b))
    return round(matched / total, 6) if total else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small run (1,000 texts per language and corpus)")
    parser.add_argument("--n", type=int, default=5000, help="texts per language and corpus (default 5000)")
    args = parser.parse_args()
    n = 1000 if args.quick else args.n
    repeats = 1 if args.quick else 3
    os.environ.setdefault("POLYALIGN_NO_PROGRESS", "1")
    from polyalign_testing.realistic_corpus import corpus_stats, realistic_corpus, synthetic_corpus

    from polyalign_lf.features.linguistic import chinese_segmenter

    figures: dict = {"texts_per_language": n, "segmenter": chinese_segmenter()[0]}
    corpora = {"realistic": realistic_corpus, "synthetic": synthetic_corpus}
    zh_texts = []
    for name, make in corpora.items():
        for lang in ("en", "zh"):
            texts = make(lang, n)
            if lang == "zh":
                zh_texts += texts
            per_core, per_wall = throughput(texts, lang, repeats)
            stats = corpus_stats(texts)
            figures[f"{name}.{lang}_responses_per_s"] = per_core
            figures[f"{name}.{lang}_responses_per_wall_s"] = per_wall
            figures[f"{name}.{lang}_mean_chars"] = stats["mean_chars"]
            figures[f"{name}.{lang}_median_chars"] = stats["median_chars"]
    figures["segmenter_token_agreement"] = token_agreement(zh_texts)
    if figures["segmenter"] != "jieba":  # the fallback's speed, for the record
        os.environ["POLYALIGN_SEGMENTER"] = "jieba"
        figures["realistic.zh_responses_per_s_with_jieba"] = throughput(realistic_corpus("zh", n), "zh", 1)[0]
        os.environ.pop("POLYALIGN_SEGMENTER")
    out = write_result("features", figures, GOALS, quick=args.quick)
    f = figures
    print(f"Chinese segmenter: {f['segmenter']}")
    print(
        f"realistic corpus (en mean {f['realistic.en_mean_chars']:.0f} / median {f['realistic.en_median_chars']:.0f} "
        f"chars, zh mean {f['realistic.zh_mean_chars']:.0f}):"
    )
    for lang in ("en", "zh"):
        key = f"realistic.{lang}_responses_per_s"
        print(f"  {lang}_responses_per_s: {f[key]:>9.1f}   goal {GOALS[key]}")
    if "realistic.zh_responses_per_s_with_jieba" in f:
        print(f"  zh with jieba (the fallback): {f['realistic.zh_responses_per_s_with_jieba']:.1f}")
    print(
        f"synthetic corpus: en {f['synthetic.en_responses_per_s']:.1f}, zh {f['synthetic.zh_responses_per_s']:.1f} "
        "per core"
    )
    agreement = figures["segmenter_token_agreement"]
    print(
        "token agreement with jieba: "
        + (f"{agreement:.4%}" if agreement is not None else "n/a (jieba in use)")
        + f"   goal {GOALS['segmenter_token_agreement']}"
    )
    print(f"(single process, best of {repeats}; load average {os.getloadavg()[0]:.1f}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
