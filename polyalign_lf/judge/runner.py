"""Run one or more judges over methods' predictions joined to the test records by record id."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from polyalign_lf.core.records import bucket_language
from polyalign_lf.errors import InputError
from polyalign_lf.io import iter_jsonl, output_lock, progress, recover_jsonl, write_jsonl
from polyalign_lf.judge.caps import EMPTY_SCORES, apply_caps, is_wrong_language
from polyalign_lf.judge.client import JudgeEndpoint, JudgeTransportError, chat_completion
from polyalign_lf.judge.prompts import ANSWER_SCHEMA, JudgeAnswerError, build_judge_messages, parse_judge_answer
from polyalign_lf.judge.rubric import COMPOSITES, DIMENSIONS, all_composites

ChatFn = Callable[[JudgeEndpoint, list, dict | None], str]


def candidate_digest(candidate: str) -> str:

    return hashlib.sha256(candidate.encode("utf-8")).hexdigest()[:16]


def judge_one(
    endpoint: JudgeEndpoint,
    record: dict,
    candidate: str,
    *,
    max_retries: int = 2,
    chat: ChatFn = chat_completion,
    run: Mapping[str, Any] | None = None,
    blind: bool = False,
) -> dict[str, Any]:
    """Judge one candidate; returns a result row (``status`` ok | error, ``error_kind`` parse | transport for
    errors) with raw and capped scores. ``run`` = the judged run's Appendix H fields (model_key, stage)."""
    base = {
        "id": record["id"],
        "judge": endpoint.name,
        "model": endpoint.model,
        "bucket_id": record.get("bucket_id"),
        "candidate_sha256": candidate_digest(candidate),
    }
    if not candidate.strip():
        return {
            **base,
            "status": "ok",
            "scores": dict(EMPTY_SCORES),
            "raw_scores": None,
            "caps": ["empty_candidate"],
            "composites": all_composites(EMPTY_SCORES),
            "attempts": 0,
            "major_errors": ["empty candidate"],
            "rationale": "",
        }
    messages = build_judge_messages(record, candidate, run, blind=blind)
    error = ""
    for attempt in range(1, max_retries + 2):
        try:
            answer = chat(endpoint, messages, ANSWER_SCHEMA)
        except JudgeTransportError as exc:
            return {
                **base,
                "status": "error",
                "error_kind": "transport",
                "error": f"transport: {exc}",
                "attempts": attempt,
            }
        try:
            parsed = parse_judge_answer(answer)
        except JudgeAnswerError as exc:
            error = str(exc)
            # Re-ask with the invalid answer and the reason, so the retry is not an identical greedy call.
            messages = build_judge_messages(record, candidate, run, blind=blind) + [
                {"role": "assistant", "content": (answer or "")[:2000]},
                {"role": "user", "content": f"That answer is invalid: {error}. Reply with only the JSON object."},
            ]
            continue
        scores, caps = apply_caps(
            parsed["scores"], wrong_language=is_wrong_language(candidate, record.get("language", ""))
        )
        return {
            **base,
            "status": "ok",
            "scores": scores,
            "raw_scores": parsed["scores"],
            "caps": caps,
            "composites": all_composites(scores),
            "attempts": attempt,
            "major_errors": parsed["major_errors"],
            "rationale": parsed["rationale"],
        }
    return {
        **base,
        "status": "error",
        "error_kind": "parse",
        "error": f"invalid answer after {max_retries + 1} attempts: {error}",
        "attempts": max_retries + 1,
    }


def _read_done(path: Path, model: str, predictions: Mapping[str, str]) -> dict[str, dict]:
    """Valid judgments from an earlier run, kept only if made by the same model for the same candidate text."""
    done: dict[str, dict] = {}
    partial_rows, _ = recover_jsonl(path.with_name(path.name + ".partial"))  # a torn last line is redone
    earlier = [row for _, row in iter_jsonl(path)] if path.exists() else []
    for rows in (earlier, partial_rows):
        for row in rows:
            rid = row.get("id")
            if (
                row.get("status") == "ok"
                and row.get("model") == model
                and rid in predictions
                and row.get("candidate_sha256") == candidate_digest(predictions[rid])
            ):
                done[rid] = row
    return done


def run_judge(
    endpoint: JudgeEndpoint,
    method: str,
    records_by_id: Mapping[str, dict],
    ids: Sequence[str],
    predictions: Mapping[str, str],
    out_path: Path,
    *,
    concurrency: int = 8,
    max_retries: int = 2,
    chat: ChatFn = chat_completion,
    model_key: str | None = None,
    blind: bool = False,
) -> list[dict]:
    """Judge ``ids`` of one method with one judge; resumable (rows already ``ok`` in ``out_path`` are kept).

    The judge sees Appendix H's metadata: ``stage`` is the method's name, ``model_key`` the judged model's
    (``blind`` withholds both)."""
    run = {"model_key": model_key, "stage": method}
    missing = [rid for rid in ids if rid not in predictions]
    if missing:
        raise InputError(
            f"method {method!r} has no prediction for {len(missing)} selected record(s), e.g. {missing[0]!r}",
            hint="every method must be judged on the same records; regenerate the missing rows",
        )
    with output_lock(out_path):  # one writer per judgment file: a second run is refused, not interleaved
        return _judge_locked(
            endpoint, method, records_by_id, ids, predictions, out_path, concurrency, max_retries, chat, run, blind
        )


def _judge_locked(
    endpoint, method, records_by_id, ids, predictions, out_path, concurrency, max_retries, chat, run, blind
):
    done = _read_done(out_path, endpoint.model, predictions)
    todo = [rid for rid in ids if rid not in done]
    partial = out_path.with_name(out_path.name + ".partial")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    results = dict(done)
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        with open(partial, "a", encoding="utf-8") as sink:
            futures = pool.map(
                lambda rid: judge_one(
                    endpoint,
                    records_by_id[rid],
                    predictions[rid],
                    max_retries=max_retries,
                    chat=chat,
                    run=run,
                    blind=blind,
                ),
                todo,
            )
            for row in progress(futures, total=len(todo), desc=f"judge {endpoint.name} · {method}", unit="answer"):
                row["method"] = method
                results[row["id"]] = row
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                sink.flush()
    finally:
        # On Ctrl-C or an error, drop the queued requests instead of sending them all first (a `with` block
        # would wait for every one); the rows already written to the partial file are kept for the rerun.
        pool.shutdown(wait=False, cancel_futures=True)
    ordered = [results[rid] for rid in ids]
    write_jsonl(out_path, ordered)
    partial.unlink(missing_ok=True)
    return ordered


def _mean_ci(values: Sequence[float]) -> dict[str, float | int | None]:
    import numpy as np
    from scipy import stats

    n = len(values)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0}
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else None
    return {"mean": mean, "ci95": half, "n": n}


def summarize_rows(rows: Sequence[dict]) -> dict[str, Any]:
    """Dimension means, composite means (± 95% CI) and counts of one judge × method."""
    ok = [r for r in rows if r["status"] == "ok"]
    parse_errors = [r["id"] for r in rows if r["status"] != "ok" and r.get("error_kind") == "parse"]
    summary: dict[str, Any] = {
        "n": len(rows),
        "n_valid": len(ok),
        "n_errors": len(rows) - len(ok),
        "n_parse_errors": len(parse_errors),
        "parse_error_ids": parse_errors[:20],
        "n_capped": sum(1 for r in ok if r.get("caps")),
        "dimensions": {d: (sum(r["scores"][d] for r in ok) / len(ok) if ok else None) for d in DIMENSIONS},
        "composites": {
            c: _mean_ci([r["composites"][c] for r in ok if r["composites"][c] is not None]) for c in COMPOSITES
        },
    }
    languages = sorted({bucket_language(r["bucket_id"]) for r in ok if r.get("bucket_id")})
    if len(languages) > 1:  # Table 3 reports each language separately
        summary["by_language"] = {
            lang: {
                c: _mean_ci(
                    [
                        r["composites"][c]
                        for r in ok
                        if bucket_language(r.get("bucket_id") or "") == lang and r["composites"][c] is not None
                    ]
                )
                for c in COMPOSITES
            }
            for lang in languages
        }
    return summary


def pairwise_agreement(rows_a: Sequence[dict], rows_b: Sequence[dict]) -> dict[str, Any]:
    """Item-level agreement of two judges over the (method, id) items both scored validly."""
    import numpy as np
    from scipy import stats
    from sklearn.metrics import cohen_kappa_score

    a = {(r["method"], r["id"]): r for r in rows_a if r["status"] == "ok" and r.get("raw_scores")}
    b = {(r["method"], r["id"]): r for r in rows_b if r["status"] == "ok" and r.get("raw_scores")}
    keys = sorted(set(a) & set(b))
    result: dict[str, Any] = {"n_items": len(keys)}
    if len(keys) < 3:
        result["skipped"] = f"only {len(keys)} item(s) scored by both judges (need 3)"
        return result
    overall_a = np.array([a[k]["composites"]["overall"] for k in keys])
    overall_b = np.array([b[k]["composites"]["overall"] for k in keys])
    constant = overall_a.std() == 0 or overall_b.std() == 0
    result["overall_pearson"] = None if constant else float(stats.pearsonr(overall_a, overall_b)[0])
    result["overall_spearman"] = None if constant else float(stats.spearmanr(overall_a, overall_b)[0])
    result["overall_mean_abs_diff"] = float(np.mean(np.abs(overall_a - overall_b)))
    per_dimension = {}
    for d in DIMENSIONS:
        sa = [a[k]["raw_scores"][d] for k in keys]
        sb = [b[k]["raw_scores"][d] for k in keys]
        exact = float(np.mean(np.array(sa) == np.array(sb)))
        if len(set(sa) | set(sb)) < 2:
            kappa = None  # one label only: kappa undefined
        else:
            kappa = float(cohen_kappa_score(sa, sb, weights="quadratic", labels=[1, 2, 3, 4, 5]))
        per_dimension[d] = {"exact_agreement": exact, "quadratic_kappa": kappa}
    result["dimensions"] = per_dimension
    return result


def build_summary(all_rows: Mapping[str, Mapping[str, list[dict]]]) -> dict[str, Any]:
    """Summary over judges × methods, the across-judge average (Table 3's Avg.) and pairwise agreement."""
    judges = list(all_rows)
    methods = list(dict.fromkeys(m for j in judges for m in all_rows[j]))
    per_judge = {j: {m: summarize_rows(all_rows[j][m]) for m in all_rows[j]} for j in judges}
    average: dict[str, Any] = {}
    for m in methods:
        average[m] = {}
        for c in COMPOSITES:
            means = [per_judge[j][m]["composites"][c]["mean"] for j in judges if m in per_judge[j]]
            means = [x for x in means if x is not None]
            average[m][c] = sum(means) / len(means) if means else None
    agreement = {}
    for i, ja in enumerate(judges):
        for jb in judges[i + 1 :]:
            rows_a = [r for m in all_rows[ja] for r in all_rows[ja][m]]
            rows_b = [r for m in all_rows[jb] for r in all_rows[jb][m]]
            agreement[f"{ja}__vs__{jb}"] = pairwise_agreement(rows_a, rows_b)
    return {"judges": judges, "methods": methods, "per_judge": per_judge, "average": average, "agreement": agreement}


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """A Table-3-style Markdown table: per judge and the average, four composites per method."""
    labels = {
        "overall": "Overall",
        "utility": "Utility",
        "conditional_naturalness": "Cond.",
        "distribution_faithfulness": "D-Faith.",
    }
    judges = summary["judges"]
    groups = judges + (["Avg."] if len(judges) > 1 else [])
    header = ["Method"] + [f"{g} {labels[c]}" for g in groups for c in COMPOSITES]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def fmt(x):
        return "–" if x is None else f"{x:.1f}"

    for m in summary["methods"]:
        cells = [m]
        for g in groups:
            for c in COMPOSITES:
                if g == "Avg.":
                    cells.append(fmt(summary["average"][m][c]))
                else:
                    entry = summary["per_judge"][g].get(m)
                    cells.append(fmt(entry["composites"][c]["mean"]) if entry else "–")
        lines.append("| " + " | ".join(cells) + " |")
    errors = [
        f"{j}/{m}: {s['n_errors']} error(s)"
        for j in judges
        for m, s in summary["per_judge"][j].items()
        if s["n_errors"]
    ]
    text = "\n".join(lines) + "\n\nScores are 0–100 rubric composites (higher is better).\n"
    if errors:
        text += "\nRows without a valid judgment (excluded from the means): " + "; ".join(errors) + "\n"
    return text
