"""``polyalign report`` as a library call: :func:`write_report` with a :class:`ReportConfig`."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import parse_named_paths, read_predictions
from polyalign_lf.errors import ConfigError
from polyalign_lf.io import read_json, replace_folder, write_json
from polyalign_lf.options import option


@dataclass(kw_only=True)
class ReportConfig:
    """Everything one ``polyalign report`` run needs: the command's options are generated from these fields."""

    runs: list[str] = option(
        flag="positional",
        metavar="[NAME=]RUN.json",
        help="metrics files from `polyalign evaluate`; the method name is NAME, --name, or the file stem",
    )
    name: list[str] | None = option(None, help="method names, one per run in order (instead of NAME=)")
    out: str = option(help="output directory (report.md, report.html, figures/, report.json)")
    overwrite: bool = option(False, help="replace an existing --out folder whole")
    title: str = option("PolyAlign evaluation report", help="title of the report")
    records: str | None = option(
        None, help="test records JSONL: with --predictions, draws the answer-embedding shifts"
    )
    predictions: list[str] = option(
        default_factory=list,
        metavar="NAME=PRED.jsonl",
        help="predictions per method for the embedding plot (names as for the runs)",
    )
    encoder: str | None = option(
        None,
        deprecated=("--embedding-model",),
        help="encoder for the embedding plot (default: the metrics' default, the bundled MiniLM)",
    )
    embedding_sample: int = option(400, type=opt.count, help="paired answers drawn in the embedding plot")
    projection: str = option(
        "auto", choices=("auto", "pca", "umap"), help="auto = UMAP when umap-learn is installed, else PCA"
    )
    judge: str | None = option(None, help="summary.json of `polyalign judge` to include (Table 3)")
    detect: str | None = option(None, help="summary.json of `polyalign detect` to include (Table 4)")
    seed: int = option(42, type=opt.integer(), help="seed of the embedding plot's sample (default 42)")


def _named_runs(args) -> dict[str, Path]:

    if args.name:
        if len(args.name) != len(args.runs):
            raise ConfigError(f"--name given {len(args.name)} time(s) for {len(args.runs)} run(s); give one per run")
        if any("=" in r for r in args.runs):
            raise ConfigError("use either NAME=RUN.json or --name, not both")
        return parse_named_paths([f"{n}={p}" for n, p in zip(args.name, args.runs)], "--name")
    return parse_named_paths(args.runs, "runs")


def write_report(args: ReportConfig) -> dict:
    """Write report.md, report.html, figures/ and report.json into ``args.out`` (replaced whole); return
    report.json's content."""
    from polyalign_lf.report.tables import load_runs

    runs = load_runs(_named_runs(args))
    out = Path(args.out)
    with replace_folder(out, overwrite=args.overwrite) as building:  # nothing of an earlier report survives
        summary = _write_report(args, runs, building)
        summary["figures"] = {
            name: str(out / "figures" / Path(path).name) for name, path in summary["figures"].items()
        }
        write_json(building / "report.json", summary)
    return summary


def _write_report(args: ReportConfig, runs, out: Path) -> dict:
    """Write the report into ``out`` (a folder being built); returns report.json's content."""
    from polyalign_lf.report import plots
    from polyalign_lf.report.render import write_report_files
    from polyalign_lf.report.tables import comparison_markdown

    figures_dir = out / "figures"
    figures_dir.mkdir()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [f"# {args.title}", f"Generated {stamp} from {len(runs)} run(s)."]
    sections.append("## Main results (Table 2 style)\n\n" + comparison_markdown(runs))
    sections.append("## Runs\n\n" + "".join(f"- **{r.name}**: `{r.path}` — test set {r.test_set}\n" for r in runs))
    fingerprints = {r.fingerprint for r in runs if r.fingerprint}
    if len(fingerprints) > 1:
        sections.append(
            "Note: the runs were evaluated on different test sets (different record ids); "
            "they are ranked only against runs on the same test set."
        )
    figures: list[tuple[Path, str]] = []
    summary: dict = {
        "runs": {
            r.name: {"path": str(r.path), "test_set": r.test_set, "values": r.values, "skipped": r.skipped}
            for r in runs
        },
        "figures": {},
    }
    path = plots.plot_bng_by_bucket(runs, figures_dir / "bng_by_bucket.png")
    if path:
        figures.append((path, "BNG per bucket and method (lower = closer to the bucket's human answers)."))
    path = plots.plot_nuf_frontier(runs, figures_dir / "nuf_frontier.png")
    if path:
        figures.append(
            (path, "Per-bucket utility vs naturalness; lines are each method's Pareto frontier (area = NUF-HV).")
        )

    if args.predictions and not args.records:
        raise ConfigError("--predictions needs --records (the human answers the embeddings are compared with)")
    if args.records:
        from polyalign_lf.core.embeddings import embed_texts
        from polyalign_lf.data.schema import read_records

        if not args.predictions:
            raise ConfigError("--records needs --predictions NAME=PRED.jsonl for the embedding plot")
        records = read_records(args.records)
        by_id = {r["id"]: r for r in records}
        predictions = {
            m: read_predictions(p, by_id.values(), require_all=False, check_question=True)
            for m, p in parse_named_paths(args.predictions, "--predictions").items()
        }
        data = plots.embedding_shift_data(
            records,
            predictions,
            lambda texts: embed_texts(texts, args.encoder, show_progress=True),
            sample=args.embedding_sample,
            seed=args.seed,
            projection=args.projection,
        )
        path = plots.plot_embedding_shifts(data, figures_dir / "embedding_shifts.png")
        figures.append(
            (
                path,
                f"Answer-embedding shifts ({data['projection']}); stars are centroids, grey lines join a "
                "human answer to the method's answer for the same record.",
            )
        )
        rows = "".join(
            f"| {m} | {v['centroid_cosine_distance']:.4f} | {v['mean_pair_cosine_distance']:.4f} |\n"
            for m, v in data["methods"].items()
        )
        sections.append(
            "## Answer embeddings vs human answers\n\n| Method | centroid cosine distance ↓ | "
            f"mean paired cosine distance ↓ |\n|---|---:|---:|\n{rows}\nn = {data['n']} records, "
            f"projection {data['projection']}."
        )
        summary["embedding_shift"] = {
            m: {k: v[k] for k in ("centroid_cosine_distance", "mean_pair_cosine_distance")}
            for m, v in data["methods"].items()
        }
    if args.judge:
        from polyalign_lf.judge.runner import summary_markdown

        sections.append("## LLM-as-a-judge (Table 3 style)\n\n" + summary_markdown(read_json(args.judge)))
    if args.detect:
        from polyalign_lf.detect.joint import table4_markdown

        detect = read_json(args.detect)
        sections.append(
            "## AI-text detectors and Joint score (Table 4 style)\n\n"
            + table4_markdown(detect["methods"], detect["detectors"])
        )
        path = plots.plot_quality_humanlikeness(detect["methods"], figures_dir / "quality_vs_humanlikeness.png")
        if path:
            figures.append((path, "Agg, detector human-likeness H and the Joint score per method (Figure 3 style)."))
    write_report_files(out / "report.md", args.title, sections, figures)
    summary["figures"] = {p.stem: str(p) for p, _ in figures}
    return summary
