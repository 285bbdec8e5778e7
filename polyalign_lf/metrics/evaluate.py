"""The PolyAlign metric suite over one method's predictions for a full test set.

:func:`align_predictions` joins predictions to test records by record id (a missing, duplicate or unknown
id is an error — every method is scored on the same full test set); :func:`evaluate` computes utility,
distinct-n, BNG, global and conditional MAUVE, TDM, NUF and Agg and returns the metrics JSON (contract keys
``utility.overall.{em,nem,f1,rouge_l}``, ``utility.by_bucket``, ``bng.macro``, ``bng.by_bucket``,
``mauve.global``, ``mauve.conditional_macro``, ``tdm.macro``, ``nuf.hypervolume``, ``agg``).

A metric that cannot be computed is ``null`` and its reason is in the top-level ``skipped`` mapping
(dotted key → reason); per-bucket exclusions are in each section's ``skipped_buckets``. Nothing is ever
reported as 0 for lack of data.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from polyalign_lf.core.embeddings import DEFAULT_MULTILINGUAL_ENCODER
from polyalign_lf.core.predictions import align_rows
from polyalign_lf.core.records import bucket_language, bucket_track
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import progress
from polyalign_lf.metrics import bng as bng_lib
from polyalign_lf.metrics import nuf as nuf_lib
from polyalign_lf.metrics.mauve_score import MAUVE_PROTOCOLS, MIN_TEXTS, MauveProtocol, mauve_between
from polyalign_lf.metrics.tdm import bucket_tdm, turn_quantities
from polyalign_lf.metrics.utility import UTILITY_METRICS, distinct_n, utility_scores

METRICS_SCHEMA = "polyalign-metrics/1"


@dataclass
class EvaluationConfig:
    """Options of :func:`evaluate` (all recorded in the output's ``config``)."""

    min_bucket_size: int = 20
    bng_eps: float = bng_lib.DEFAULT_EPS
    # "robust" (default): IQR-based human scale, constant features left out; "paper": W1 / σ on every
    # feature, the paper's formula, for comparison with its Table 2
    bng_scale: str = "robust"
    # "polyalign" (default) or "reference" (MAUVE as the reference computed Table 2): see metrics/mauve_score.py
    mauve_protocol: str = "polyalign"
    mauve_featurizer: str = DEFAULT_MULTILINGUAL_ENCODER
    mauve_max_texts: int = 1000  # per bucket, paired subsample (the reference's cap too); polyalign protocol
    mauve_global_max_texts: int = 5000  # polyalign protocol
    skip_mauve: bool = False
    tdm_eps: float = 1e-6
    distinct_ns: tuple[int, ...] = (1, 2, 3)
    seed: int = 42
    # BLAS/OpenMP threads for the numeric steps (PCA, k-means, SVD). One thread per process is fastest on a
    # shared or small machine: oversubscribed BLAS/OpenMP threads spin-wait and ran MAUVE ~8× slower in wall
    # time on the 2-core box. None leaves the libraries' own defaults.
    num_threads: int | None = 1
    embed_batch_size: int = 64
    device: str | None = None
    show_progress: bool = False

    def __post_init__(self) -> None:
        if self.mauve_protocol not in MAUVE_PROTOCOLS:
            raise ConfigError(
                f"mauve_protocol must be one of {', '.join(MAUVE_PROTOCOLS)}, got {self.mauve_protocol!r}"
            )

    @property
    def mauve(self) -> MauveProtocol:
        """The MAUVE protocol in force (the polyalign protocol's caps come from this config)."""
        protocol = MAUVE_PROTOCOLS[self.mauve_protocol]
        if protocol.name == "polyalign":
            return replace(protocol, max_texts=self.mauve_max_texts, global_max_texts=self.mauve_global_max_texts)
        return protocol


@dataclass
class Precomputed:
    """Optional precomputed inputs, rows in test-record order (skip feature extraction / embedding)."""

    human_features: np.ndarray | None = None
    prediction_features: np.ndarray | None = None
    feature_names: list[str] | None = None
    feature_schema_version: str | None = None
    human_embeddings: np.ndarray | None = None
    prediction_embeddings: np.ndarray | None = None
    # bucket_id → per-feature scale (e.g. train-split robust scales from ``polyalign references``)
    reference_scales: dict[str, np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def align_predictions(records: Sequence[dict], prediction_rows: Iterable[tuple[str, dict]]) -> list[str]:
    """Predictions in record order (every test record needs one). ``prediction_rows`` yields ``(where, row)``."""
    by_id = align_rows(prediction_rows, records, records_label="test records", check_bucket=True, where="predictions")
    return [by_id[r["id"]] for r in records]


def test_set_fingerprint(records: Sequence[dict]) -> str:
    """sha256 of the sorted record ids: equal fingerprints ⇔ methods were scored on the same test set."""
    digest = hashlib.sha256()
    for rid in sorted(r["id"] for r in records):
        digest.update(rid.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def _round(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def _default_feature_extractor():
    try:
        from polyalign_lf.features import extract_features, feature_names
    except ImportError as exc:  # the features subpackage is optional at import time
        raise InputError(f"cannot import polyalign_lf.features ({exc}); pass precomputed features") from None
    try:
        from polyalign_lf.features import FEATURE_SCHEMA_VERSION
    except ImportError:
        FEATURE_SCHEMA_VERSION = None
    return extract_features, feature_names, FEATURE_SCHEMA_VERSION


def evaluate(
    records: Sequence[dict],
    predictions: Sequence[str],
    config: EvaluationConfig | None = None,
    precomputed: Precomputed | None = None,
    *,
    timings: dict[str, float] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Compute the metric suite for predictions aligned with ``records`` (see :func:`align_predictions`)."""
    config = config or EvaluationConfig()
    with _thread_limit(config.num_threads):
        return _evaluate(
            records,
            predictions,
            config,
            precomputed or Precomputed(),
            {} if timings is None else timings,
            log or (lambda _msg: None),
        )


@contextlib.contextmanager
def _thread_limit(num_threads: int | None):
    if num_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    faiss = None
    try:
        import faiss  # mauve's k-means; its OpenMP pool is not always visible to threadpoolctl

        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(num_threads)
    except ImportError:
        pass
    try:
        with threadpool_limits(limits=num_threads):
            yield
    finally:
        if faiss is not None:
            faiss.omp_set_num_threads(previous)


def _evaluate(
    records: Sequence[dict],
    predictions: Sequence[str],
    config: EvaluationConfig,
    pre: Precomputed,
    timings: dict[str, float],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """:func:`evaluate` with its defaults filled in (``timings`` is filled in place, ``say`` logs progress)."""
    if len(records) != len(predictions):
        raise ValueError("records and predictions must be aligned (same length and order)")
    if not records:
        raise InputError("the test set is empty")
    skipped: dict[str, str] = {}
    ts = _TestSet.of(records, predictions, config.min_bucket_size)
    utility = _timed(timings, "utility", _utility_section, ts)
    diversity = _timed(timings, "distinct_n", _diversity_section, ts, config)
    bng = _bng_section(ts, config, pre, say, skipped, timings)
    mauve_section = _mauve_section(ts, config, pre, say, skipped, timings)
    tdm_section = _timed(timings, "tdm", _tdm_section, ts, config, skipped)
    nuf = _timed(timings, "nuf", _nuf_section, ts, utility, bng, mauve_section, tdm_section, skipped)
    agg, components = _aggregate(utility, bng, mauve_section, nuf, skipped)
    n, languages, rows_by_bucket = ts.n, ts.languages, ts.rows_by_bucket

    result = {
        "schema": METRICS_SCHEMA,
        "test_set": {
            "n": n,
            "ids_sha256": test_set_fingerprint(records),
            "languages": sorted(set(languages)),
            "buckets": {b: int(len(rows)) for b, rows in rows_by_bucket.items()},
        },
        "config": {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items() if k != "show_progress"
        },
        "utility": utility,
        "diversity": diversity,
        "bng": bng,
        "mauve": mauve_section,
        "tdm": tdm_section,
        "nuf": nuf,
        "agg": agg,
        "agg_components": components,
        # which NUF Agg used; agg_table2 is Agg with Table 2's NUF (Eq. 15 for every bucket, nuf.table2)
        "agg_nuf": "nuf.hypervolume (Eq. 16 points for multi-turn buckets with TDM, Eq. 15 for the others)",
        "agg_table2": _aggregate_table2(components, nuf),
        "skipped": skipped,
    }
    _registered_metrics(result, records, predictions, config, skipped, timings)
    result["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    return result


def _registered_metrics(
    result: dict, records: Sequence[dict], predictions: Sequence[str], config: EvaluationConfig, skipped, timings
) -> None:
    """Every metric registered beyond the built-in suite (metrics/registry.py), written at its key; one that
    returns None is skipped with the reason, one that returns a value outside its domain is an error."""
    from polyalign_lf.metrics.registry import computed_metrics, lookup, place
    from polyalign_lf.options import number_problem

    for spec in computed_metrics():
        if lookup(result, spec.key) is not None:
            raise ConfigError(f"the registered metric {spec.key!r} would overwrite a built-in value; rename its key")
        t0 = time.perf_counter()
        value = spec.compute(records, predictions, config)
        timings[spec.key] = time.perf_counter() - t0
        if value is None:
            skipped[spec.key] = "the metric returned no value for this test set"
        elif problem := number_problem(value, *spec.domain):
            raise ConfigError(f"the registered metric {spec.key!r} {problem}")
        place(result, spec.key, None if value is None else float(value))


@dataclass
class _TestSet:
    """The aligned test set and its buckets, as every metric section reads them."""

    records: Sequence[dict]
    predictions: Sequence[str]
    references: list[str]
    languages: list[str]
    rows_by_bucket: dict[str, np.ndarray]
    eligible: list[str]  # buckets with at least min_bucket_size examples
    too_small: dict[str, str]  # the others, with the reason
    n: int

    @classmethod
    def of(cls, records: Sequence[dict], predictions: Sequence[str], min_bucket_size: int) -> _TestSet:
        rows_by_bucket = {b: np.asarray(rows) for b, rows in sorted(_group([r["bucket_id"] for r in records]).items())}
        return cls(
            records=records,
            predictions=predictions,
            references=[r["human_answer"] for r in records],
            languages=[r["language"] for r in records],
            rows_by_bucket=rows_by_bucket,
            eligible=[b for b, rows in rows_by_bucket.items() if len(rows) >= min_bucket_size],
            too_small={
                b: f"{len(rows)} held-out examples < min_bucket_size {min_bucket_size}"
                for b, rows in rows_by_bucket.items()
                if len(rows) < min_bucket_size
            },
            n=len(records),
        )


def _timed(timings: dict[str, float], name: str, section: Callable[..., Any], *args: Any) -> Any:
    t0 = time.perf_counter()
    result = section(*args)
    timings[name] = time.perf_counter() - t0
    return result


def _utility_section(ts: _TestSet) -> dict[str, Any]:
    """EM, nEM, token F1 and ROUGE-L: overall, per bucket and per language."""
    predictions = ts.predictions
    references = ts.references
    languages = ts.languages
    n = ts.n
    rows_by_bucket = ts.rows_by_bucket
    scores = utility_scores(predictions, references, languages)
    utility = {
        "overall": {m: _round(_mean(scores[m])) for m in UTILITY_METRICS} | {"n": n},
        "by_bucket": {
            b: {m: _round(_mean(scores[m][rows])) for m in UTILITY_METRICS} | {"n": int(len(rows))}
            for b, rows in rows_by_bucket.items()
        },
        "by_language": {
            lang: {m: _round(_mean(scores[m][rows])) for m in UTILITY_METRICS} | {"n": int(len(rows))}
            for lang, rows in sorted((k, np.asarray(v)) for k, v in _group(languages).items())
        },
        "n_empty_predictions": int(sum(1 for p in predictions if not p.strip())),
    }
    return utility


def _diversity_section(ts: _TestSet, config: EvaluationConfig) -> dict[str, Any]:
    """distinct-n of the generated and the human answers."""
    predictions = ts.predictions
    references = ts.references
    languages = ts.languages
    diversity = {
        "generated": {f"distinct_{k}": _round(distinct_n(predictions, languages, k)) for k in config.distinct_ns},
        "human": {f"distinct_{k}": _round(distinct_n(references, languages, k)) for k in config.distinct_ns},
    }
    return diversity


def _bng_section(
    ts: _TestSet, config: EvaluationConfig, pre: Precomputed, say, skipped: dict, timings: dict
) -> dict[str, Any]:
    """Bucket naturalness gap per bucket and its macro/weighted means (times ``features`` and ``bng``)."""
    records = ts.records
    predictions = ts.predictions
    languages = ts.languages
    rows_by_bucket = ts.rows_by_bucket
    eligible = ts.eligible
    too_small = ts.too_small
    t0 = time.perf_counter()
    human_features, pred_features, names, schema_version = _features(records, predictions, pre, config, say)
    timings["features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pooled_by_language = {lang: human_features[np.asarray(rows)] for lang, rows in _group(languages).items()}
    bng_by_bucket: dict[str, dict] = {}
    bng_skipped = dict(too_small)
    if config.bng_scale not in bng_lib.BNG_SCALES:
        raise ConfigError(f"bng_scale must be one of {', '.join(bng_lib.BNG_SCALES)}, got {config.bng_scale!r}")
    paper_scale = config.bng_scale == "paper"
    for b in eligible:
        rows = rows_by_bucket[b]
        if paper_scale:  # the paper's formula on the bucket's held-out human answers, every feature kept
            gap = bng_lib.paper_bucket_bng(pred_features[rows], human_features[rows], feature_names=names)
            bng_by_bucket[b] = {
                "bng": _round(gap.bng),
                "n": int(len(rows)),
                "n_features": gap.n_features,
                "excluded_features": [],
                "unit_scale_features": gap.unit_scale_features,
            }
            continue
        if pre.reference_scales is not None:
            if b not in pre.reference_scales:
                bng_skipped[b] = "no reference statistics for this bucket or its language in --references"
                continue
            scale = np.asarray(pre.reference_scales[b], dtype=np.float64)
        else:
            scale = bng_lib.feature_scales(human_features[rows], pooled_by_language[languages[rows[0]]])
        gap = bng_lib.bucket_bng(
            pred_features[rows], human_features[rows], scale=scale, feature_names=names, eps=config.bng_eps
        )
        if gap.n_features == 0:
            bng_skipped[b] = "every feature is constant among the human answers"
            continue
        bng_by_bucket[b] = {
            "bng": _round(gap.bng),
            "n": int(len(rows)),
            "n_features": gap.n_features,
            "excluded_features": gap.excluded_features,
        }
    bng_macro = _mean(np.array([v["bng"] for v in bng_by_bucket.values()])) if bng_by_bucket else None
    if bng_macro is None:
        skipped["bng.macro"] = f"no bucket has ≥ {config.min_bucket_size} held-out examples with usable features"
    bng = {
        "macro": _round(bng_macro),
        "weighted": _round(
            sum(v["bng"] * v["n"] for v in bng_by_bucket.values()) / sum(v["n"] for v in bng_by_bucket.values())
        )
        if bng_by_bucket
        else None,
        "by_bucket": bng_by_bucket,
        "skipped_buckets": bng_skipped,
        "scale": config.bng_scale,
        "scale_source": (
            "held-out human answers: population std, every feature, 1 where the std is <= 1e-12 "
            "(the reference implementation's Table-2 rule; see unit_scale_features per bucket)"
            if paper_scale
            else "references (train split, robust IQR)"
            if pre.reference_scales is not None
            else "held-out human answers (robust IQR)"
        ),
        "reference_keys": pre.extra.get("reference_keys"),
        "n_feature_columns": len(names),
        "feature_schema_version": schema_version,
    }
    timings["bng"] = time.perf_counter() - t0

    return bng


def _mauve_section(
    ts: _TestSet, config: EvaluationConfig, pre: Precomputed, say, skipped: dict, timings: dict
) -> dict[str, Any]:
    """Global and conditional (per-bucket) MAUVE (times ``embeddings``, ``mauve_global``, ``mauve_conditional``)."""
    predictions = ts.predictions
    references = ts.references
    n = ts.n
    rows_by_bucket = ts.rows_by_bucket
    eligible = ts.eligible
    too_small = ts.too_small
    protocol = config.mauve
    mauve_section: dict[str, Any] = {
        "global": None,
        "conditional_macro": None,
        "by_bucket": {},
        "skipped_buckets": dict(too_small),
        "protocol": protocol.name,
        "featurizer": None,
        "max_text_tokens": protocol.max_text_tokens,
        "max_texts": protocol.max_texts,
        "global_max_texts": protocol.global_max_texts,
        "sampling": "paired" if protocol.paired else "independent",
    }
    settings = dict(
        paired=protocol.paired,
        seed=config.seed if protocol.sample_seed is None else protocol.sample_seed,
        kmeans_seed=protocol.kmeans_seed,
        kmeans_num_redo=protocol.kmeans_num_redo,
        kmeans_max_iter=protocol.kmeans_max_iter,
    )
    if config.skip_mauve:
        skipped["mauve.global"] = skipped["mauve.conditional_macro"] = "disabled (--skip-mauve)"
    else:
        t0 = time.perf_counter()
        human_emb, pred_emb, featurizer = _embeddings(references, predictions, pre, config, say)
        mauve_section["featurizer"] = featurizer
        timings["embeddings"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if n >= MIN_TEXTS:
            mauve_section["global"] = _round(
                mauve_between(human_emb, pred_emb, max_texts=protocol.global_max_texts, **settings)
            )
        else:
            skipped["mauve.global"] = f"{n} examples < {MIN_TEXTS}"
        timings["mauve_global"] = time.perf_counter() - t0
        t0 = time.perf_counter()

        iterator = progress(eligible, desc="conditional MAUVE", unit="bucket") if config.show_progress else eligible
        for b in iterator:
            rows = rows_by_bucket[b]
            value = mauve_between(human_emb[rows], pred_emb[rows], max_texts=protocol.max_texts, **settings)
            mauve_section["by_bucket"][b] = {"mauve": _round(value), "n": int(len(rows))}
        if mauve_section["by_bucket"]:
            mauve_section["conditional_macro"] = _round(
                _mean(np.array([v["mauve"] for v in mauve_section["by_bucket"].values()]))
            )
        else:
            skipped["mauve.conditional_macro"] = f"no bucket has ≥ {config.min_bucket_size} held-out examples"
        timings["mauve_conditional"] = time.perf_counter() - t0

    return mauve_section


def _tdm_section(ts: _TestSet, config: EvaluationConfig, skipped: dict) -> dict[str, Any]:
    """Turn Dynamics Match of the multi-turn buckets, fitted per language."""
    records = ts.records
    predictions = ts.predictions
    references = ts.references
    rows_by_bucket = ts.rows_by_bucket
    too_small = ts.too_small
    tdm_section: dict[str, Any] = {"macro": None, "by_bucket": {}, "skipped_buckets": {}}
    multi = [b for b in rows_by_bucket if bucket_track(b) == "multi"]
    tdm_skipped = {b: too_small[b] for b in multi if b in too_small}
    multi_eligible = [b for b in multi if b not in too_small]
    from polyalign_lf.data.lf_format import record_prompt

    for lang in sorted({bucket_language(b) for b in multi_eligible}):
        lang_buckets = [b for b in multi_eligible if b.startswith(lang + "|")]
        rows_all = np.concatenate([rows_by_bucket[b] for b in lang_buckets])
        prompts = [record_prompt(records[i])["instruction"] for i in rows_all]
        quantities = turn_quantities(
            prompts, [references[i] for i in rows_all], [predictions[i] for i in rows_all], lang, seed=config.seed
        )
        offset = 0
        for b in lang_buckets:
            local = np.arange(offset, offset + len(rows_by_bucket[b]))
            offset += len(local)
            tdm_section["by_bucket"][b] = {
                k: _round(v) for k, v in bucket_tdm(quantities, local, config.tdm_eps).items()
            } | {"n": int(len(local))}
    tdm_section["skipped_buckets"] = tdm_skipped
    if tdm_section["by_bucket"]:
        tdm_section["macro"] = _round(_mean(np.array([v["tdm"] for v in tdm_section["by_bucket"].values()])))
    else:
        skipped["tdm.macro"] = (
            "no multi-turn bucket in the test set"
            if not multi
            else f"no multi-turn bucket has ≥ {config.min_bucket_size} held-out examples"
        )
    return tdm_section


def _nuf_section(
    ts: _TestSet, utility: dict, bng: dict, mauve_section: dict, tdm_section: dict, skipped: dict
) -> dict[str, Any]:
    """The utility–naturalness frontier over buckets and its hypervolume: multi-turn buckets with a TDM value
    at their Eq.-16 point (the paper's definition), and under ``table2`` every bucket at its Eq.-15 point
    (what Table 2's NUF and Agg were computed with)."""
    rows_by_bucket = ts.rows_by_bucket
    nuf_skipped = {}
    usable = []
    for b in rows_by_bucket:
        if b not in bng["by_bucket"] or b not in mauve_section["by_bucket"]:
            nuf_skipped[b] = "needs both BNG and C-MAUVE for this bucket"
        else:
            usable.append(b)

    def frontier_of(with_tdm: bool) -> dict[str, Any]:
        points = []
        for b in usable:
            tdm_value = tdm_section["by_bucket"].get(b, {}).get("tdm") if with_tdm else None
            u = nuf_lib.clip01(utility["by_bucket"][b]["f1"])
            nat = nuf_lib.bucket_naturalness(
                bng["by_bucket"][b]["bng"], mauve_section["by_bucket"][b]["mauve"], tdm_value
            )
            points.append(
                {"bucket_id": b, "utility": _round(u), "naturalness": _round(nat), "multi_turn": tdm_value is not None}
            )
        frontier = nuf_lib.pareto_frontier([(p["utility"], p["naturalness"]) for p in points])
        for k, p in enumerate(points):
            p["on_frontier"] = k in frontier
        return {
            "hypervolume": _round(nuf_lib.hypervolume_2d([(p["utility"], p["naturalness"]) for p in points]))
            if points
            else None,
            "points": points,
            "frontier": [points[k]["bucket_id"] for k in frontier],
        }

    nuf = frontier_of(with_tdm=True)
    nuf.update({"reference_point": [0.0, 0.0], "skipped_buckets": nuf_skipped})
    nuf["table2"] = frontier_of(with_tdm=False)
    if not usable:
        skipped["nuf.hypervolume"] = "no bucket has both BNG and C-MAUVE"
    return nuf


def _aggregate(utility: dict, bng: dict, mauve_section: dict, nuf: dict, skipped: dict) -> tuple[float | None, dict]:
    """Agg and its components (None, with the reason in ``skipped``, when one is missing)."""
    components = {
        "f1": utility["overall"]["f1"],
        "bng_macro": bng["macro"],
        "mauve_global": mauve_section["global"],
        "nuf_hypervolume": nuf["hypervolume"],
    }
    missing = [k for k, v in components.items() if v is None]
    if missing:
        agg = None
        skipped["agg"] = f"component(s) not available: {', '.join(missing)}"
    else:
        agg = _round(
            nuf_lib.aggregate_score(
                f1=components["f1"],
                bng_macro=components["bng_macro"],
                g_mauve=components["mauve_global"],
                nuf_hv=components["nuf_hypervolume"],
            )
        )
    return agg, components


def _aggregate_table2(components: dict, nuf: dict) -> float | None:
    """Agg as Table 2 computed it: the same components with the Eq.-15 NUF of ``nuf.table2``."""
    table2_hv = nuf["table2"]["hypervolume"]
    if table2_hv is None or any(components[k] is None for k in ("f1", "bng_macro", "mauve_global")):
        return None
    return _round(
        nuf_lib.aggregate_score(
            f1=components["f1"],
            bng_macro=components["bng_macro"],
            g_mauve=components["mauve_global"],
            nuf_hv=table2_hv,
        )
    )


def _group(keys: Sequence[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        groups[key].append(i)
    return groups


def _check_matrix(matrix: np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    if matrix is None:
        return None
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise InputError(f"{what} has shape {matrix.shape}; expected [{n}, d] rows in test-record order")
    return matrix


def _features(
    records, predictions, pre: Precomputed, config: EvaluationConfig, say
) -> tuple[np.ndarray, np.ndarray, list[str], str | None]:
    n = len(records)
    human = _check_matrix(pre.human_features, n, "human features")
    pred = _check_matrix(pre.prediction_features, n, "prediction features")
    names, version = pre.feature_names, pre.feature_schema_version
    if human is None or pred is None:
        extract, feature_names, schema_version = _default_feature_extractor()
        languages = [r["language"] for r in records]
        if names is not None and list(names) != list(feature_names()):
            raise InputError(
                "precomputed features were written with other feature names than polyalign_lf.features has now",
                hint="recompute them or pass both human and prediction features",
            )
        names, version = list(feature_names()), schema_version
        if human is None:
            say("extracting features of the human answers")
            human = extract([r["human_answer"] for r in records], languages, show_progress=config.show_progress)
        if pred is None:
            say("extracting features of the predictions")
            pred = extract(list(predictions), languages, show_progress=config.show_progress)
    if human.shape[1] != pred.shape[1]:
        raise InputError(f"human features have {human.shape[1]} columns but prediction features {pred.shape[1]}")
    if names is None:
        names = [f"f{k}" for k in range(human.shape[1])]
    return np.asarray(human, dtype=np.float64), np.asarray(pred, dtype=np.float64), list(names), version


def _embeddings(references, predictions, pre: Precomputed, config: EvaluationConfig, say):
    n = len(references)
    human = _check_matrix(pre.human_embeddings, n, "human embeddings")
    pred = _check_matrix(pre.prediction_embeddings, n, "prediction embeddings")
    featurizer = (
        pre.extra.get("embeddings_model", "precomputed")
        if human is not None and pred is not None
        else config.mauve_featurizer
    )
    if human is None or pred is None:
        check_mauve_featurizer(config)
        if human is None:
            say(f"embedding human answers with {config.mauve_featurizer}")
            human = mauve_embeddings(references, config)
        if pred is None:
            say(f"embedding predictions with {config.mauve_featurizer}")
            pred = mauve_embeddings(list(predictions), config)
    if human.shape != pred.shape:
        raise InputError(f"human embeddings {human.shape} and prediction embeddings {pred.shape} differ in shape")
    return human, pred, featurizer


def mauve_embeddings(texts: Sequence[str], config: EvaluationConfig) -> np.ndarray:
    """MAUVE features of ``texts`` under the configured featurizer and protocol."""
    from polyalign_lf.core.embeddings import embed_texts

    return embed_texts(
        texts,
        config.mauve_featurizer,
        batch_size=config.embed_batch_size,
        device=config.device,
        max_length=config.mauve.max_text_tokens,
        show_progress=config.show_progress,
    )


def check_mauve_featurizer(config: EvaluationConfig) -> None:
    """Load the featurizer now (fail before any feature extraction) and check the protocol accepts it."""
    from polyalign_lf.core.embeddings import is_gpt2_style, load_encoder

    _, model = load_encoder(config.mauve_featurizer, config.device)
    if config.mauve.gpt2_featurizer and not is_gpt2_style(model):
        raise ConfigError(
            f"--mauve-protocol {config.mauve_protocol} featurizes with a GPT-2-style model (mauve-text's last-token "
            f"features, as the reference did), but {config.mauve_featurizer!r} is a "
            f"{getattr(model.config, 'model_type', '?')} model; pass --encoder gpt2 or the folder of a "
            "GPT-2 model, or use --mauve-protocol polyalign"
        )
