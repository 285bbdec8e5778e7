"""``polyalign judge`` as a library call: :func:`judge_methods` with a :class:`JudgeJob`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import parse_named_paths, read_predictions
from polyalign_lf.core.records import select_ids
from polyalign_lf.errors import AllFailed, ConfigError, InputError
from polyalign_lf.io import atomic_write, write_json
from polyalign_lf.options import option


@dataclass(kw_only=True)
class JudgeJob:
    """Everything one ``polyalign judge`` run needs: the command's options are generated from these fields."""

    records: str = option(help="test records JSONL (the references and metadata)")
    predictions: list[str] = option(
        metavar="NAME=PRED.jsonl",
        help="predictions per method (rows {id, prediction}); NAME defaults to the file stem",
    )
    judge: list[str] = option(
        default_factory=list,
        metavar="NAME=MODEL@BASE_URL",
        help="a judge on an OpenAI-compatible server, e.g. qwen3_8b=Qwen/Qwen3-8B@http://127.0.0.1:8000/v1",
    )
    judges_config: str | None = option(
        None,
        help="YAML/JSON list of judges {name, model, base_url, api_key_env, extra_body, json_schema, max_tokens, …}",
    )
    out: str = option(help="output directory (judgments/<judge>/<method>.jsonl, summary.json, summary.md)")
    sample: int | None = option(
        None, type=opt.count, help="judge a seeded sample of N records (same for every method)"
    )
    seed: int = option(42, type=opt.integer(), help="seed of --sample (default 42)")
    concurrency: int = option(8, type=opt.count, help="parallel requests per judge")
    max_retries: int = option(2, type=opt.non_negative_int, help="re-asks after an invalid answer")
    no_json_schema: bool = option(False, help="do not send response_format (servers without structured output)")
    api_key_env: str | None = option(None, help="environment variable holding the API key (for --judge)")
    timeout: float = option(
        120.0, type=opt.positive, help="seconds per request, all told: connect, status, headers, body"
    )
    model_key: str | None = option(
        None,
        help="the judged model's key (e.g. qwen25_1_5b), sent as Appendix H's model_key; the method "
        "name is sent as its stage",
    )
    blind: bool = option(
        False,
        help="withhold model_key and stage from the judge (Appendix H sends them; blinding keeps the "
        "judge from knowing which method it scores)",
    )


def _load_endpoints(args) -> list:
    from polyalign_lf.judge.client import JudgeEndpoint

    endpoints = [JudgeEndpoint.from_spec(spec) for spec in args.judge]
    for endpoint in endpoints:
        endpoint.api_key_env = args.api_key_env
        endpoint.timeout_s = args.timeout
    if args.judges_config:
        import yaml

        path = Path(args.judges_config)
        if not path.exists():
            raise InputError("file not found", where=str(path))
        items = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(items, list):
            raise ConfigError(f"{path}: expected a list of judges")
        endpoints += [JudgeEndpoint.from_dict(item, f"{path}: judge #{k + 1}") for k, item in enumerate(items)]
    if not endpoints:
        raise ConfigError("no judge given: use --judge NAME=MODEL@BASE_URL or --judges-config FILE")
    names = [e.name for e in endpoints]
    if len(set(names)) != len(names):
        raise ConfigError(f"judge names must be unique, got {names}")
    if args.no_json_schema:
        for endpoint in endpoints:
            endpoint.json_schema = False
    return endpoints


def judge_methods(args: JudgeJob) -> str:
    """Judge every method's predictions with every judge (resumable files under ``args.out/judgments``), write
    summary.json and summary.md; returns the Markdown (a count of answers without a valid judgment goes to
    stderr)."""
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.judge.runner import build_summary, run_judge, summary_markdown

    endpoints = _load_endpoints(args)
    records = list(read_records(args.records))
    records_by_id = {r["id"]: r for r in records}
    methods = parse_named_paths(args.predictions, "--predictions", file_names=True)
    predictions = {
        m: read_predictions(p, records_by_id.values(), require_all=False, check_question=True)
        for m, p in methods.items()
    }
    ids = select_ids(records, args.sample, args.seed)
    out = Path(args.out)
    all_rows = {}
    for endpoint in endpoints:
        all_rows[endpoint.name] = {}
        for method, preds in predictions.items():
            all_rows[endpoint.name][method] = run_judge(
                endpoint,
                method,
                records_by_id,
                ids,
                preds,
                out / "judgments" / endpoint.name / f"{method}.jsonl",
                concurrency=args.concurrency,
                max_retries=args.max_retries,
                model_key=args.model_key,
                blind=args.blind,
            )
    n_rows = sum(len(rows) for per_method in all_rows.values() for rows in per_method.values())
    n_valid = sum(
        1 for per_method in all_rows.values() for rows in per_method.values() for r in rows if r["status"] == "ok"
    )
    summary = build_summary(all_rows)
    summary["n_records"] = len(ids)
    write_json(out / "summary.json", summary)
    markdown = summary_markdown(summary)
    with atomic_write(out / "summary.md") as handle:
        handle.write(markdown)
    if n_rows and not n_valid:
        first = next(r for per_method in all_rows.values() for rows in per_method.values() for r in rows)
        raise AllFailed(
            f"all {n_rows} judge requests failed, so the summary holds no scores; the first error: "
            f"{first.get('error')}\n  hint: check --judge's URL and model name (is the server up?), "
            f"--timeout and --api-key-env; the judgments under {out / 'judgments'} keep each error, and a "
            "rerun retries them"
        )
    n_errors = sum(s["n_errors"] for j in summary["per_judge"].values() for s in j.values())
    if n_errors:
        print(
            f"{n_errors} of {n_rows} answer(s) have no valid judgment (see 'error' in the judgments files); "
            "re-run to retry them.",
            file=sys.stderr,
        )
    return markdown
