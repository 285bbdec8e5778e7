"""How much of its equal share of the gradient mass each bucket receives over one epoch, per step estimator.

Bucket-SFT's promise (Eq. 1, Theorem 1) is that every bucket carries mass N/|B|. An optimizer step holds 64
examples (the grid: 8 GPUs × batch 1 × accumulation 8), so what a bucket actually receives depends on how a
step normalizes the weights. This simulates one shuffled epoch (without replacement, like the HF Trainer's
RandomSampler) on a bucket inventory shaped like the paper's corpus and reports, per normalization, the
share of the ideal mass N/|B| that the smallest, median and largest bucket receive:

* ``dataset`` (the default): c_i = w_i / (m_step · w̄)  — every bucket exactly 1.0 in every epoch;
* ``bucket_sampling``: N draws ∝ w_i, plain mean — 1.0 in expectation, the realized epoch within sampling noise;
* ``step``: c_i = w_i / Σ_step w (self-normalized) — biased toward frequent buckets;
* ``micro_batch`` at per-device batch 1 (the reference fork): the weights cancel, i.e. plain SFT.

An example's mass in a step of m examples is m · c_i (1 for an unweighted example), so the masses of one
epoch add up to N under every normalization.

Inventories (``--inventory``):
* ``table1_en`` / ``table1_zh`` / ``table1_bilingual``: the training counts of the paper's Table 1, each
  dataset placed in its (language, track, family) cell as the formatters do and spread over the four length
  bins by an *assumed* length profile per dataset (``LENGTH_PROFILES``; the paper gives no per-bin counts);
* ``reference_val``: the bucket counts of the reference implementation's released balanced validation sample
  (13 buckets of 2–217 rows), a real inventory with a 2-row bucket.

    python benchmarks/bench_bucket_mass.py            # all inventories, 5 epochs each
    python benchmarks/bench_bucket_mass.py --quick    # 1 epoch
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import write_result  # noqa: E402

GOAL = 0.99
STEP_SIZE = 64  # 8 GPUs × per-device batch 1 × gradient accumulation 8 (recipes/)

# Table 1 training counts and the cell each dataset's formatter writes (language, track, family).
TABLE1_TRAIN = {
    "dolly": ("en", "single", "assistant", 13_525),
    "eli5_category": ("en", "single", "qa", 91_772),
    "dailydialog": ("en", "multi", "dialogue", 37_377),
    "ms_marco": ("en", "single", "qa", 80_143),
    "coqa": ("en", "multi", "qa", 98_015),
    "squad_v2": ("en", "single", "qa", 117_444),
    "natural_questions": ("en", "single", "qa", 90_133),
    "multiwoz": ("en", "multi", "dialogue", 56_013),
    "coig_cqia": ("zh", "single", "assistant", 9_536),
    "hc3_chinese": ("zh", "single", "qa", 19_990),
    "oasst2_zh": ("zh", "multi", "dialogue", 3_809),
    "cmrc2018": ("zh", "single", "qa", 10_142),
    "drcd": ("zh", "single", "qa", 26_936),
    "dureader": ("zh", "single", "qa", 15_923),
}
BINS = ("short", "medium", "long", "xlong")
# ASSUMED share of each dataset's answers per length bin (short / medium / long / xlong). Not measured:
# extractive QA and chit-chat answers are almost all short, instruction and long-form answers spread out.
LENGTH_PROFILES = {
    "dolly": (0.45, 0.35, 0.14, 0.06),
    "eli5_category": (0.15, 0.45, 0.28, 0.12),
    "dailydialog": (0.97, 0.028, 0.0018, 0.0002),
    "ms_marco": (0.93, 0.065, 0.004, 0.001),
    "coqa": (0.999, 0.001, 0.0, 0.0),
    "squad_v2": (0.998, 0.0019, 0.0001, 0.0),
    "natural_questions": (0.97, 0.025, 0.004, 0.001),
    "multiwoz": (0.985, 0.0145, 0.0005, 0.0),
    "coig_cqia": (0.30, 0.35, 0.22, 0.13),
    "hc3_chinese": (0.08, 0.32, 0.35, 0.25),
    "oasst2_zh": (0.25, 0.30, 0.25, 0.20),
    "cmrc2018": (0.985, 0.014, 0.001, 0.0),
    "drcd": (0.985, 0.014, 0.001, 0.0),
    "dureader": (0.35, 0.40, 0.18, 0.07),
}
# The reference implementation's balanced validation sample (its per-bucket row counts, as released).
REFERENCE_VAL = {
    "en|multi|dialogue|long": 2,
    "en|multi|dialogue|medium": 137,
    "en|multi|dialogue|short": 217,
    "en|multi|qa|medium": 4,
    "en|multi|qa|short": 217,
    "en|single|assistant|long": 92,
    "en|single|assistant|medium": 217,
    "en|single|assistant|short": 217,
    "en|single|assistant|xlong": 34,
    "en|single|qa|long": 217,
    "en|single|qa|medium": 216,
    "en|single|qa|short": 215,
    "en|single|qa|xlong": 215,
}


def table1_inventory(languages: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, (lang, track, family, n) in TABLE1_TRAIN.items():
        if lang not in languages:
            continue
        shares = np.asarray(LENGTH_PROFILES[name])
        per_bin = np.floor(shares * n).astype(int)
        per_bin[0] += n - per_bin.sum()  # rounding remainder to the (largest) short bin
        for length_bin, k in zip(BINS, per_bin):
            if k:
                key = f"{lang}|{track}|{family}|{length_bin}"
                counts[key] = counts.get(key, 0) + int(k)
    return counts


INVENTORIES = {
    "table1_en": lambda: table1_inventory(("en",)),
    "table1_zh": lambda: table1_inventory(("zh",)),
    "table1_bilingual": lambda: table1_inventory(("en", "zh")),
    "reference_val": lambda: dict(REFERENCE_VAL),
}


def _steps(order: np.ndarray) -> np.ndarray:
    """Start offsets of the 64-example steps of an epoch (the last one partial)."""
    return np.arange(0, len(order), STEP_SIZE)


def epoch_masses(
    bucket_of: np.ndarray, weights: np.ndarray, num_buckets: int, method: str, rng: np.random.Generator
) -> np.ndarray:
    """Mass each bucket receives over one epoch under ``method`` (sums to N)."""
    n = len(weights)
    if method == "bucket_sampling":
        draws = rng.choice(n, size=n, replace=True, p=weights / weights.sum())
        return np.bincount(bucket_of[draws], minlength=num_buckets).astype(float)
    order = rng.permutation(n)
    w = weights[order]
    starts = _steps(order)
    sizes = np.diff(np.append(starts, n))
    if method == "dataset":
        mass = w / weights.mean()  # m_step · w_i / (m_step · w̄)
    elif method == "step":
        step_sums = np.add.reduceat(w, starts)
        mass = np.repeat(sizes / step_sums, sizes) * w  # m_step · w_i / Σ_step w
    elif method in ("micro_batch_b1", "sft"):
        mass = np.ones(n)  # batch 1: w_i / w_i per micro-batch — the weights cancel, as in plain SFT
    else:
        raise ValueError(method)
    return np.bincount(bucket_of[order], weights=mass, minlength=num_buckets)


METHODS = ("dataset", "bucket_sampling", "step", "micro_batch_b1")


def measure(counts: dict[str, int], epochs: int, seed: int) -> dict:
    names = sorted(counts, key=lambda b: (counts[b], b))
    sizes = np.array([counts[b] for b in names])
    n, num_buckets = int(sizes.sum()), len(names)
    bucket_of = np.repeat(np.arange(num_buckets), sizes)
    weights = (n / (num_buckets * sizes))[bucket_of]  # N / (|B| n_b)
    ideal = n / num_buckets
    rng = np.random.default_rng(seed)
    shares = {
        m: np.stack([epoch_masses(bucket_of, weights, num_buckets, m, rng) for _ in range(epochs)]) / ideal
        for m in METHODS
    }
    picks = {"smallest": 0, "median": num_buckets // 2, "largest": num_buckets - 1}
    result = {"rows": n, "buckets": num_buckets, "max_weight": float(weights.max()), "picks": {}, "methods": {}}
    for label, k in picks.items():
        result["picks"][label] = {"bucket": names[k], "rows": int(sizes[k])}
    for m in METHODS:
        mean = shares[m].mean(axis=0)  # over epochs
        result["methods"][m] = {
            **{label: float(mean[k]) for label, k in picks.items()},
            "min_share_mean": float(mean.min()),
            "min_share_worst_epoch": float(shares[m].min()),
        }
    # bucket_sampling is unbiased by construction: each draw lands in bucket b with probability 1/|B|
    p = np.bincount(bucket_of, weights=weights / weights.sum(), minlength=num_buckets)
    result["methods"]["bucket_sampling"]["expected_min_share"] = float((p * n / ideal).min())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one epoch per inventory")
    parser.add_argument("--epochs", type=int, default=None, help="epochs averaged per inventory (default 5; 1 quick)")
    parser.add_argument("--seed", type=int, default=0, help="shuffling / sampling seed")
    parser.add_argument(
        "--inventory", default=",".join(INVENTORIES), help="comma-separated: " + ", ".join(INVENTORIES)
    )
    parser.add_argument("--out", default=None, help="result JSON (default benchmarks/results/bucket_mass.json)")
    args = parser.parse_args(argv)
    epochs = args.epochs or (1 if args.quick else 5)
    if epochs < 1:
        parser.error("--epochs must be >= 1")
    chosen = [name.strip() for name in args.inventory.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in INVENTORIES]
    if unknown:
        parser.error(f"unknown inventory {', '.join(unknown)}; choose from {', '.join(INVENTORIES)}")

    figures, goals, details = {}, {}, {}
    print(
        f"Share of the ideal mass N/|B| per bucket over one epoch ({STEP_SIZE} examples per step, "
        f"mean of {epochs} epoch(s)); goal >= {GOAL} for every bucket under dataset and bucket_sampling.\n"
    )
    ok = True
    for name in chosen:
        result = measure(INVENTORIES[name](), epochs, args.seed)
        details[name] = result
        picks = result["picks"]
        print(
            f"== {name}: {result['rows']:,} rows, {result['buckets']} buckets, largest weight "
            f"{result['max_weight']:.1f}"
        )
        header = f"{'':24s}" + "".join(f"{label} ({p['rows']:,} rows)".rjust(26) for label, p in picks.items())
        print(header + "   min over buckets")
        for m in METHODS:
            row = result["methods"][m]
            print(f"{m:24s}" + "".join(f"{row[label]:26.4f}" for label in picks) + f"   {row['min_share_mean']:.4f}")
        sampling = result["methods"]["bucket_sampling"]
        print(
            f"  bucket_sampling: expected share {sampling['expected_min_share']:.4f} for every bucket; worst "
            f"single epoch {sampling['min_share_worst_epoch']:.4f} (sampling noise of one epoch)\n"
        )
        figures[f"{name}.dataset.min_share"] = round(result["methods"]["dataset"]["min_share_mean"], 4)
        figures[f"{name}.bucket_sampling.expected_min_share"] = round(sampling["expected_min_share"], 4)
        figures[f"{name}.bucket_sampling.min_share"] = round(sampling["min_share_mean"], 4)
        figures[f"{name}.step.smallest_share"] = round(result["methods"]["step"]["smallest"], 4)
        figures[f"{name}.step.largest_share"] = round(result["methods"]["step"]["largest"], 4)
        figures[f"{name}.micro_batch_b1.smallest_share"] = round(result["methods"]["micro_batch_b1"]["smallest"], 6)
        goals[f"{name}.dataset.min_share"] = f">= {GOAL}"
        goals[f"{name}.bucket_sampling.expected_min_share"] = f">= {GOAL}"
        goals[f"{name}.bucket_sampling.min_share"] = f"(realized, mean of {epochs} epoch(s))"
        goals[f"{name}.step.smallest_share"] = "(biased option, shown for comparison)"
        ok = ok and figures[f"{name}.dataset.min_share"] >= GOAL and sampling["expected_min_share"] >= GOAL
    path = write_result(
        "bucket_mass",
        figures,
        goals,
        quick=args.quick,
        out=args.out,
        settings={
            "epochs": epochs,
            "seed": args.seed,
            "step_size": STEP_SIZE,
            "length_profiles": "assumed, see LENGTH_PROFILES",
        },
        inventories=details,
    )
    print(f"{'all goals met' if ok else 'GOAL MISSED'}; wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
