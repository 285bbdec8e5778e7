"""Preference pairs for DPO and HDPO, as LLaMA-Factory alpaca ranking rows.

Every row's prompt side comes from :func:`polyalign_lf.data.lf_format.record_prompt`, so DPO/HDPO prompts are
exactly the SFT prompts. Row keys: ``instruction, input, history, chosen, rejected, id, bucket_id, language,
pair_type`` (+ ``weight, chosen_score, rejected_score`` for HDPO).

Pair types (their bias ρ_t enters the HDPO weight, Theorem 5):

* ``global`` (ρ = 0): chosen = the human answer, rejected = the SFT model's (greedy) prediction.
* ``local`` (ρ = 0.5): chosen = the human answer, rejected = the policy's *nearest miss*: among the sampled
  candidates, the one with the highest utility (token F1 against the human answer, ≥ ``local_min_utility``)
  that is not the human answer itself. Both responses carry nearly the same content, so the pair teaches
  local corrections (wording, length, layout) around the human answer.
* ``distribution`` (ρ = 1): two sampled candidates of similar utility (|ΔF1| ≤ ``utility_tolerance``);
  the one the critic places closer to the bucket's human support wins. Per prompt, the pair with the
  largest critic gap (≥ ``min_critic_gap``) is kept. Its preference is purely distributional.

Skips are counted by reason and reported, never silent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from polyalign_lf.core.text import token_f1
from polyalign_lf.data.lf_format import record_prompt
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.options import number_problem

PAIR_TYPES = ("global", "distribution", "local")


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def utility(prediction: str, reference: str, language: str) -> float:
    """Token F1 of a response against the human answer (the same language-aware tokens the metrics use)."""
    return float(token_f1(prediction, reference, language))


def pair_row(record: dict, chosen: str, rejected: str, pair_type: str) -> dict:
    prompt = record_prompt(record)
    return {
        "instruction": prompt["instruction"],
        "input": prompt["input"],
        "history": prompt.get("history", []),
        "chosen": chosen,
        "rejected": rejected,
        "id": record["id"],
        "bucket_id": record["bucket_id"],
        "language": record["language"],
        "pair_type": pair_type,
    }


@dataclass
class PairBuildResult:
    rows: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> dict:
        return {
            "pairs": len(self.rows),
            "by_type": dict(Counter(r["pair_type"] for r in self.rows)),
            "skipped": dict(self.skipped),
        }


def global_pairs(
    records: Sequence[dict],
    predictions: dict[str, str],
    *,
    keep_exact_match: bool = False,
    result: PairBuildResult | None = None,
) -> PairBuildResult:
    """human answer ≻ SFT prediction, one pair per record (``predictions`` is strictly aligned by id)."""
    result = result or PairBuildResult()
    for record in records:
        chosen, rejected = record["human_answer"], predictions[record["id"]]
        if not chosen.strip():
            result.skipped["global: empty human answer"] += 1
        elif not rejected.strip():
            result.skipped["global: empty prediction"] += 1
        elif _same(chosen, rejected) and not keep_exact_match:
            result.skipped["global: prediction equals the human answer"] += 1
        else:
            result.rows.append(pair_row(record, chosen, rejected, "global"))
    return result


def local_pairs(
    records: Sequence[dict],
    candidates: dict[str, list[str]],
    *,
    local_min_utility: float = 0.3,
    result: PairBuildResult | None = None,
) -> PairBuildResult:
    """human answer ≻ the highest-utility sampled candidate (the nearest miss), see module docstring."""
    result = result or PairBuildResult()
    for record in records:
        human = record["human_answer"]
        options = [c for c in candidates.get(record["id"], []) if c.strip() and not _same(c, human)]
        if not human.strip() or not options:
            result.skipped["local: no usable candidate"] += 1
            continue
        scored = [(utility(c, human, record["language"]), c) for c in options]
        best_u, best = max(scored, key=lambda x: x[0])
        if best_u < local_min_utility:
            result.skipped["local: no candidate with utility >= local_min_utility"] += 1
            continue
        result.rows.append(pair_row(record, human, best, "local"))
    return result


def distribution_pairs(
    records: Sequence[dict],
    candidates: dict[str, list[str]],
    critic,
    *,
    utility_tolerance: float = 0.1,
    min_critic_gap: float = 0.05,
    result: PairBuildResult | None = None,
) -> PairBuildResult:
    """Between candidates of similar utility, the one closer to the human support (lower critic score) wins."""
    result = result or PairBuildResult()
    flat_texts, flat_buckets, spans = [], [], []
    for record in records:
        options = list(dict.fromkeys(c for c in candidates.get(record["id"], []) if c.strip()))
        spans.append((len(flat_texts), options))
        flat_texts += options
        flat_buckets += [record["bucket_id"]] * len(options)
    scores = critic.score(flat_texts, flat_buckets) if flat_texts else []
    for record, (start, options) in zip(records, spans):
        if len(options) < 2:
            result.skipped["distribution: fewer than 2 distinct candidates"] += 1
            continue
        s = scores[start : start + len(options)]
        u = [utility(c, record["human_answer"], record["language"]) for c in options]
        best = None
        for a in range(len(options)):
            for b in range(a + 1, len(options)):
                gap = abs(s[a] - s[b])
                if abs(u[a] - u[b]) <= utility_tolerance and gap >= min_critic_gap and (best is None or gap > best[0]):
                    best = (gap, a, b) if s[a] < s[b] else (gap, b, a)
        if best is None:
            result.skipped["distribution: no similar-utility candidates with a critic gap"] += 1
            continue
        _, win, lose = best
        row = pair_row(record, options[win], options[lose], "distribution")
        row["chosen_score"], row["rejected_score"] = float(s[win]), float(s[lose])
        result.rows.append(row)
    return result


def check_types(types: Sequence[str]) -> list[str]:
    bad = [t for t in types if t not in PAIR_TYPES]
    if bad or not types:
        raise ConfigError(f"pair types must be among {', '.join(PAIR_TYPES)}; got {list(types)}")
    return list(dict.fromkeys(types))


PAIR_COLUMNS: tuple[str, ...] = ("chosen", "rejected", "id", "bucket_id", "language", "pair_type")


def without_identical_pairs(rows: list[dict]) -> tuple[list[dict], int]:
    """The pairs whose chosen and rejected differ once normalized (case, whitespace, invisible characters), and
    how many were dropped: an identical pair has DPO margin 0 whatever the model does, so it cannot teach."""
    from polyalign_lf.data.normalize import canonical_text

    kept = [row for row in rows if canonical_text(row["chosen"]) != canonical_text(row["rejected"])]
    return kept, len(rows) - len(kept)


def check_pair_rows(rows: object, where: str) -> list[dict]:
    """A pair file's rows, checked: objects with every pair column, one pair per (id, pair_type), and critic
    scores that are finite numbers where given (null = not scored yet). Errors name the pair (1-based)."""
    if not isinstance(rows, list):
        raise InputError(
            "expected a JSON list of pair rows", where=where, hint="build HDPO pairs with `polyalign pairs hdpo`"
        )
    first: dict[tuple, int] = {}
    for k, row in enumerate(rows, start=1):
        missing = [key for key in PAIR_COLUMNS if not isinstance(row, dict) or key not in row]
        if missing:
            raise InputError(
                f"pair #{k} lacks {', '.join(missing)}",
                where=where,
                hint="build HDPO pairs with `polyalign pairs hdpo`",
            )
        for key in ("chosen", "rejected"):
            if not isinstance(row[key], str):
                raise InputError(
                    f"pair #{k} (id {row['id']!r}): {key} must be a string, got {type(row[key]).__name__}", where=where
                )
        for key in ("chosen_score", "rejected_score"):
            if row.get(key) is not None:
                problem = number_problem(row[key])
                if problem:
                    raise InputError(
                        f"pair #{k} (id {row['id']!r}): {key} {problem}",
                        where=where,
                        hint="scores come from the critic; set them to null to have --critic score them again",
                    )
        key = (row["id"], row["pair_type"])
        seen = first.setdefault(key, k)
        if seen != k:
            raise InputError(
                f"duplicate pair: pairs #{seen} and #{k} are both the {row['pair_type']!r} pair of id {row['id']!r}",
                where=where,
                hint="a record has at most one pair of each type; rebuild with `polyalign pairs hdpo`",
            )
    return rows


def score_and_weight(rows: list[dict], critic, cfg=None, *, rescore: bool = True) -> dict:
    """Fill ``chosen_score``/``rejected_score`` (with the critic) and the Theorem-5 ``weight`` of each row in place."""
    import numpy as np

    from polyalign_lf.pairs.hdpo_weights import WeightConfig, hdpo_weights

    cfg = cfg or WeightConfig()
    if rescore or any(r.get("chosen_score") is None or r.get("rejected_score") is None for r in rows):
        if critic is None:
            raise ConfigError("pairs have no critic scores; pass a critic bundle")
        buckets = [r["bucket_id"] for r in rows]
        both = critic.score([r["chosen"] for r in rows] + [r["rejected"] for r in rows], buckets + buckets)
        if not np.isfinite(both).all():
            raise ConfigError(
                f"the critic returned {int((~np.isfinite(both)).sum())} non-finite score(s); its bundle is "
                "broken (retrain it with `polyalign critic train`)"
            )
        for k, r in enumerate(rows):
            r["chosen_score"], r["rejected_score"] = float(both[k]), float(both[len(rows) + k])
    terms = hdpo_weights(
        [r["bucket_id"] for r in rows],
        [r["language"] for r in rows],
        [r["chosen_score"] for r in rows],
        [r["rejected_score"] for r in rows],
        [r["pair_type"] for r in rows],
        cfg,
    )
    for k, r in enumerate(rows):
        r["weight"] = round(float(terms["weight"][k]), 8)
        r["chosen_score"] = round(r["chosen_score"], 8)
        r["rejected_score"] = round(r["rejected_score"], 8)
    w = terms["weight"]
    return {
        "weight": {"mean": float(np.mean(w)), "min": float(np.min(w)), "max": float(np.max(w))} if len(w) else {},
        "active_terms": {name: bool(np.any(terms[name] > 0)) for name in ("g", "delta", "h", "rho")},
        "rho_values": sorted(set(terms["rho"].tolist())),
        "config": cfg.as_dict(),
    }
