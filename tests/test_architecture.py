"""The package's layering, checked on the import graph: data flows one way through the pipeline stages, and
what several stages share lives in a layer below them (``core``, plus ``errors``/``io``/``options``)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "polyalign_lf"

# Pipeline order: a stage may import any stage of a lower rank, never one of its own rank (siblings) or higher.
RANKS: dict[str, int] = {
    "errors": 0,
    "io": 0,
    "options": 0,
    "core": 0,
    "_bootstrap": 0,  # _bootstrap: the .pth hook, imports no stage
    "objectives": 1,  # the paper's objectives, pure math
    "models": 1,  # real models installed from PyPI (GGUF → verified folder); used by stages above
    "data": 2,
    "features": 3,
    "references": 4,
    "critic": 5,
    "pairs": 6,
    "integration": 7,  # the only code that touches LLaMA-Factory
    "inference": 8,
    "metrics": 9,
    "judge": 10,
    "detect": 10,
    "humaneval": 10,  # evaluations side by side: none imports another
    "report": 11,
    "pipeline": 12,
    "study": 13,
    "cli": 14,
    "_entry": 15,  # the console script: imports the CLI under a Ctrl-C guard
}
DEV_ONLY = {"testing"}  # helpers of the suite and the benchmarks: no module of the package imports them


def _imports() -> list[tuple[str, str, str]]:
    """(importing top-level module, imported top-level module, file:line) for every polyalign_lf import,
    including the ones inside functions."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("polyalign_lf."):
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.module == "polyalign_lf":
                names = [f"polyalign_lf.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("polyalign_lf.")]
            for name in names:
                found.append((top, name.split(".")[1], f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"))
    return found


def test_every_top_level_module_has_a_rank():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.rglob("*.py")}
    assert tops - {"__init__"} - DEV_ONLY <= set(RANKS), sorted(tops - set(RANKS) - DEV_ONLY - {"__init__"})


def test_no_stage_imports_a_later_stage_or_a_sibling():
    bad = [
        f"{where}: {src} imports {dst}"
        for src, dst, where in _imports()
        if src in RANKS
        and dst in RANKS
        and src != dst
        and (RANKS[dst] > RANKS[src] or (RANKS[dst] == RANKS[src] and RANKS[src] > 0))
    ]  # the base layer is one layer
    assert not bad, "\n".join(bad)


def test_nothing_at_run_time_imports_the_test_helpers():
    bad = [
        f"{where}: {src} imports {dst}" for src, dst, where in _imports() if dst in DEV_ONLY and src not in DEV_ONLY
    ]
    assert not bad, "\n".join(bad)
