"""The ``polyalign`` command line.

Each command lives in the subpackage of its pipeline stage; this module only dispatches. Commands are
imported lazily (only the one that runs), so ``polyalign --help`` stays instant and a heavy stage
(torch, transformers) costs nothing to the others.

Convention: command ``NAME`` (``-`` written ``_`` in Python) is implemented in module ``MODULE`` by
``NAME_arguments(parser)`` (adds its arguments, or its own sub-commands) and ``NAME_main(args) -> int | None``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from polyalign_lf import __version__
from polyalign_lf.errors import PolyalignError

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
    "demo": ("polyalign_lf.study.cli", "the whole method in ~10 minutes: the one-seed miniature study (--data: other rows)"),
    "study": ("polyalign_lf.study.cli", "the miniature PolyAlign study on CPU: every method, seeds, claims with CIs"),
    "doctor": ("polyalign_lf.integration.doctor", "check the installation and the LLaMA-Factory hook"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polyalign",
        description="PolyAlign: conditional human-distribution alignment on top of LLaMA-Factory.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items())
        + "\n\nRun `polyalign COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"polyalign-lf {__version__}")
    parser.add_argument("command", nargs="?", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
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
        add_arguments = getattr(module, f"{attr}_arguments")
        run = getattr(module, f"{attr}_main")
    except (ImportError, AttributeError) as exc:
        print(f"polyalign {name}: this command is not available in this installation ({exc}).", file=sys.stderr)
        return 3
    parser = argparse.ArgumentParser(prog=f"polyalign {name}", description=help_)
    add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        code = run(args)
    except PolyalignError as exc:
        print(f"polyalign {name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"polyalign {name}: interrupted; completed outputs were written atomically, rerun to resume.", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
