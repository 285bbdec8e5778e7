"""The study's report: every method's metrics as mean ± 95% CI over seeds, the paper's claims as paired
differences with CIs, and per-bucket BNG.

A claim *holds* when its whole 95% CI lies on the claimed side of 0, is *contradicted* when the whole CI
lies on the other side, and is *inconclusive* otherwise (or with a single seed, where no CI exists: then
only the measured direction is shown). The report states what was measured; nothing is tuned until a
claim holds.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign_lf.io import read_json, write_json

# (label, dotted metrics key, higher is better)
# The study's columns: the registered metrics' labels and directions (metrics/registry.py), the paper's
# headline ones first and every metric registered beyond the built-in suite after them, plus the study's own
# rare-bucket BNG.
STUDY_KEYS = (
    "utility.overall.f1",
    "bng.macro",
    "rare_bng",
    "mauve.conditional_macro",
    "mauve.global",
    "nuf.hypervolume",
    "agg",
)


def study_metrics() -> tuple[tuple[str, str, bool], ...]:
    """(label, key, higher is better) of every study column."""
    from polyalign_lf.metrics.registry import METRICS, computed_metrics

    own = {"rare_bng": ("rare-bucket BNG", "rare_bng", False)}
    columns = [own[k] if k in own else (METRICS.get(k).label, k, METRICS.get(k).higher_is_better) for k in STUDY_KEYS]
    return tuple(columns) + tuple((m.label, m.key, m.higher_is_better) for m in computed_metrics())


@dataclass(frozen=True)
class Claim:
    text: str
    better: str  # the method the paper says is better
    worse: str
    metric: str  # dotted key of a study column (study_metrics)


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "Bucket-SFT brings rare buckets closer to their human distribution than Full-SFT (Theorem 1)",
        "bucket_sft",
        "sft",
        "rare_bng",
    ),
    Claim("Bucket-SFT lowers BNG-macro relative to Full-SFT", "bucket_sft", "sft", "bng.macro"),
    Claim(
        "Bucket-SFT with balanced sampling brings rare buckets closer than Full-SFT",
        "bucket_sampling",
        "sft",
        "rare_bng",
    ),
    Claim("HDPO moves outputs toward the human support relative to DPO (BNG-macro)", "hdpo", "dpo", "bng.macro"),
    Claim("HDPO improves Agg over DPO", "hdpo", "dpo", "agg"),
    Claim("HDPO refines naturalness beyond Bucket-SFT (BNG-macro)", "hdpo", "bucket_sft", "bng.macro"),
    Claim("Bucket-SFT keeps utility: QA-F1 at least Full-SFT's", "bucket_sft", "sft", "utility.overall.f1"),
)
# The real-data study's profile-prompt ablation: what the paper's Bucket-SFT gain is made of.
ABLATION_CLAIMS: tuple[Claim, ...] = (
    Claim("The situation profile brings Full-SFT closer to the human answers", "sft_situation", "sft", "bng.macro"),
    Claim(
        "The situation profile brings the grid's Bucket-SFT closer to the human answers",
        "bucket_sampling_situation",
        "bucket_sampling",
        "bng.macro",
    ),
    Claim(
        "Leakage: the oracle profile (gold length) adds to the situation profile, Full-SFT",
        "sft_oracle",
        "sft_situation",
        "bng.macro",
    ),
    Claim(
        "Leakage: the oracle profile (gold length) adds to the situation profile, grid's Bucket-SFT",
        "bucket_sampling_oracle",
        "bucket_sampling_situation",
        "bng.macro",
    ),
    Claim(
        "The paper's comparison: Bucket-SFT with the oracle profile vs Full-SFT without one",
        "bucket_sampling_oracle",
        "sft",
        "bng.macro",
    ),
    Claim(
        "Bucket-SFT's own share: the grid's Bucket-SFT vs Full-SFT, both with the situation profile",
        "bucket_sampling_situation",
        "sft_situation",
        "bng.macro",
    ),
)


def lookup(metrics: Mapping[str, Any], dotted: str) -> float | None:
    """The finite number at ``dotted`` (None when it is absent, null or not a finite number)."""
    from polyalign_lf.metrics.registry import lookup as value_at

    current = value_at(metrics, dotted)
    if isinstance(current, bool) or not isinstance(current, (int, float)) or not math.isfinite(current):
        return None
    return float(current)


def rare_bng(metrics: Mapping[str, Any], rare_buckets: Sequence[str]) -> float | None:
    """Mean BNG over the rare buckets (None when a rare bucket has no BNG)."""
    by_bucket = (metrics.get("bng") or {}).get("by_bucket") or {}
    values = [lookup(by_bucket.get(b, {}), "bng") for b in rare_buckets]
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)


def mean_ci(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean and the half-width of the t-based 95% CI (None with fewer than two values)."""
    from scipy import stats

    n = len(values)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0}
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "ci95": None, "n": 1}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return {"mean": mean, "ci95": float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)), "n": n}


def verdict(diff: Mapping[str, Any], higher_is_better: bool) -> str:
    """holds / contradicted / inconclusive for a paired difference better − worse."""
    mean, half = diff["mean"], diff["ci95"]
    if mean is None:
        return "not measured"
    if half is None:
        direction = (mean > 0) == higher_is_better and mean != 0
        return f"single seed: {'claimed direction' if direction else 'opposite direction'}"
    low, high = mean - half, mean + half
    good_side = (low > 0) if higher_is_better else (high < 0)
    bad_side = (high < 0) if higher_is_better else (low > 0)
    return "holds" if good_side else "contradicted" if bad_side else "inconclusive"


def summarize(
    metrics_by_seed: Mapping[int, Mapping[str, Mapping[str, Any]]],
    rare_buckets: Sequence[str],
    methods: Sequence[str],
    claims_to_check: Sequence[Claim] = CLAIMS,
) -> dict[str, Any]:
    """The study's numbers: per method × metric mean ± CI over seeds, claims as paired differences."""
    fingerprints = {
        m.get("test_set", {}).get("ids_sha256") for seed in metrics_by_seed.values() for m in seed.values()
    }
    if len(fingerprints) != 1 or None in fingerprints:
        raise ValueError(
            f"the study's runs were not evaluated on one test set (fingerprints {sorted(map(str, fingerprints))})"
        )
    values: dict[str, dict[str, list[float]]] = {m: {key: [] for _, key, _ in study_metrics()} for m in methods}
    per_seed: dict[int, dict[str, dict[str, float | None]]] = {}
    for seed, by_method in metrics_by_seed.items():
        per_seed[seed] = {}
        for method in methods:
            metrics = by_method[method]
            row = {
                key: (rare_bng(metrics, rare_buckets) if key == "rare_bng" else lookup(metrics, key))
                for _, key, _ in study_metrics()
            }
            per_seed[seed][method] = row
            for key, value in row.items():
                if value is not None:
                    values[method][key].append(value)
    table = {m: {key: mean_ci(v) for key, v in values[m].items()} for m in methods}
    higher = {key: h for _, key, h in study_metrics()}
    claims = []
    for claim in claims_to_check:
        diffs = [
            per_seed[s][claim.better][claim.metric] - per_seed[s][claim.worse][claim.metric]
            for s in per_seed
            if per_seed[s][claim.better][claim.metric] is not None
            and per_seed[s][claim.worse][claim.metric] is not None
        ]
        diff = mean_ci(diffs)
        claims.append(
            {
                "claim": claim.text,
                "better": claim.better,
                "worse": claim.worse,
                "metric": claim.metric,
                "difference": diff,
                "verdict": verdict(diff, higher[claim.metric]),
            }
        )
    return {
        "seeds": sorted(metrics_by_seed),
        "rare_buckets": list(rare_buckets),
        "test_set": next(iter(fingerprints)),
        "table": table,
        "per_seed": per_seed,
        "claims": claims,
    }


def _fmt(cell: Mapping[str, Any], digits: int = 3) -> str:
    if cell["mean"] is None:
        return "–"
    text = f"{cell['mean']:.{digits}f}"
    return text + (f" ± {cell['ci95']:.{digits}f}" if cell["ci95"] is not None else "")


def markdown(summary: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    seeds = summary["seeds"]
    columns = study_metrics()
    header = ["Method"] + [f"{label} {'↑' if higher else '↓'}" for label, _, higher in columns]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * len(columns)]
    for method, row in summary["table"].items():
        lines.append(
            "| " + " | ".join([labels.get(method, method)] + [_fmt(row[key]) for _, key, _ in columns]) + " |"
        )
    text = (
        f"Mean ± half-width of the 95% CI (t) over {len(seeds)} seed(s) ({', '.join(map(str, seeds))}); rare-bucket "
        f"BNG = mean BNG of {', '.join(f'`{b}`' for b in summary['rare_buckets'])}.\n\n" + "\n".join(lines) + "\n"
    )
    claim_lines = ["| Claim of the paper | Difference (better − worse) | 95% CI | Verdict |", "|---|---:|---:|---|"]
    for claim in summary["claims"]:
        diff = claim["difference"]
        mean = "–" if diff["mean"] is None else f"{diff['mean']:+.3f}"
        ci = (
            "–"
            if diff["ci95"] is None
            else f"[{diff['mean'] - diff['ci95']:+.3f}, {diff['mean'] + diff['ci95']:+.3f}]"
        )
        name = f"{claim['claim']} ({labels.get(claim['better'], claim['better'])} − {labels.get(claim['worse'], claim['worse'])}, {claim['metric']})"
        claim_lines.append(f"| {name} | {mean} | {ci} | {claim['verdict']} |")
    return text + "\n### Claims\n\n" + "\n".join(claim_lines) + "\n"


def bucket_bng_runs(
    metrics_by_seed: Mapping[int, Mapping[str, Mapping[str, Any]]], methods: Sequence[str], labels: Mapping[str, str]
):
    """Report ``Run`` objects whose per-bucket BNG is the mean over seeds (for the report's heat map)."""
    from polyalign_lf.report.tables import Run

    runs = []
    for method in methods:
        buckets: dict[str, list[float]] = {}
        for by_method in metrics_by_seed.values():
            for bucket, info in ((by_method[method].get("bng") or {}).get("by_bucket") or {}).items():
                if lookup(info, "bng") is not None:
                    buckets.setdefault(bucket, []).append(float(info["bng"]))
        by_bucket = {b: {"bng": sum(v) / len(v), "n": len(v)} for b, v in buckets.items()}
        runs.append(Run(name=labels.get(method, method), path=Path("."), metrics={"bng": {"by_bucket": by_bucket}}))
    return runs


def rare_bucket_ids() -> list[str]:
    """The study's rare buckets: fewer than ten training rows (Table 1's long tail)."""
    from polyalign_lf.study.corpus import BUCKETS

    return sorted(spec.bucket_id for spec in BUCKETS if spec.train < 10)


def regularizer_activity(trainer_state: Path) -> dict[str, float | int] | None:
    """Mean of ``hdpo/regularizer_active`` over an HDPO run's logged steps (its ``trainer_state.json``): the
    fraction of pairs on which the critic regularizer's hinge is active."""
    if not trainer_state.is_file():
        return None
    values = [
        float(entry["hdpo/regularizer_active"])
        for entry in read_json(trainer_state).get("log_history", [])
        if isinstance(entry.get("hdpo/regularizer_active"), (int, float))
    ]
    return {"mean": sum(values) / len(values), "logged_steps": len(values)} if values else None


def write_report(cfg, *, timings: Mapping[str, float] | None = None, elapsed_s: float | None = None) -> Path:
    """study.md / study.html / study.json and the per-bucket BNG figure under ``cfg.report_dir``."""

    from polyalign_lf.report import plots
    from polyalign_lf.report.render import write_report_files
    from polyalign_lf.study.run import METHOD_LABELS, cell_config, metrics_paths

    methods = cfg.methods
    metrics = {
        seed: {m: read_json(path) for m, path in by_method.items()} for seed, by_method in metrics_paths(cfg).items()
    }
    if cfg.real:
        design = read_json(cfg.prepared / "design.json")
        summary = summarize(metrics, design["rare_buckets"], methods, CLAIMS + ABLATION_CLAIMS)
        title = f"PolyAlign study on real human text with {cfg.model}"
        inventory = ", ".join(f"`{b}` {n['train']}" for b, n in design["buckets"].items())
        setup = (
            f"Training rows per bucket (from the data's {design['pool_split']} split, imbalance "
            f"{design['imbalance']}×): {inventory}; {design['rule']['test_per_bucket']} test rows per bucket. BaseLM: "
            f"{cfg.model} as installed; every other method through `llamafactory-cli train` on the grid's recipes "
            "resized for the CPU. Methods marked *oracle* see the gold answer's length bin in their system prompt at "
            "training and test time (the reference implementation's Bucket-SFT views): leakage, kept for parity."
        )
    else:
        from polyalign_lf.study.corpus import BUCKETS

        summary = summarize(metrics, rare_bucket_ids(), methods)
        title = "PolyAlign miniature study"
        inventory = ", ".join(f"`{spec.bucket_id}` {spec.train}" for spec in BUCKETS)
        setup = (
            f"Training rows per bucket: {inventory}; validation 4 and test 20 per bucket. BaseLM: a 1M-parameter "
            "Qwen2 trained on one uniform assistant style; every other method through `llamafactory-cli train` on "
            "the grid's recipes resized for it"
        )
    summary["hdpo_regularizer_active"] = {
        seed: regularizer_activity(cell_config(cfg, cfg.seed_root(seed)).model_dir("hdpo") / "trainer_state.json")
        for seed in cfg.seeds
    }
    out = cfg.report_dir
    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    figure = plots.plot_bng_by_bucket(
        bucket_bng_runs(metrics, methods, METHOD_LABELS), figures_dir / "bng_by_bucket.png"
    )
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} CPU core(s), {platform.python_version()}"
    active = ", ".join(
        f"seed {seed}: {a['mean']:.3f} over {a['logged_steps']} logged steps" if a else f"seed {seed}: not logged"
        for seed, a in summary["hdpo_regularizer_active"].items()
    )
    sections = [
        f"# {title}",
        f"Generated {stamp} on {machine}" + (f" in {elapsed_s / 60:.1f} min" if elapsed_s else "") + ".",
        "## Results\n\n" + markdown(summary, METHOD_LABELS) + f"\nHDPO `hdpo/regularizer_active` (mean): {active}.\n",
        "## Setup\n\n" + setup + "; metrics from `polyalign evaluate` on the same test set "
        f"(fingerprint `{str(summary['test_set'])[:16]}`).",
    ]
    if timings:
        sections.append(
            "## Wall time per stage (summed over seeds)\n\n| stage | seconds |\n|---|---:|\n"
            + "".join(f"| {k} | {v:.1f} |\n" for k, v in sorted(timings.items(), key=lambda kv: -kv[1]))
        )
    figures = (
        [(figure, "Mean BNG per bucket over seeds (lower = closer to the bucket's human answers).")] if figure else []
    )
    write_report_files(out / "study.md", title, sections, figures)
    write_json(
        out / "study.json",
        {**summary, "timings_s": dict(timings or {}), "elapsed_s": elapsed_s, "generated": stamp, "machine": machine},
    )
    return out / "study.md"
