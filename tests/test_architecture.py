"""The package's layering, checked on the import graph: data flows one way through the pipeline stages, and
what several stages share lives in a layer below them (``core``, plus ``errors``/``io``/``options``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "polyalign_lf"
REPO = PACKAGE.parent

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
    assert tops - {"__init__"} <= set(RANKS), sorted(tops - set(RANKS) - {"__init__"})


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
    """The suite's helpers (tests/polyalign_testing) are not in the wheel: no package module may import them."""
    bad = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            bad += [f"{path.relative_to(REPO)}:{node.lineno}" for m in modules if m.startswith("polyalign_testing")]
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------ thin commands


COMMAND_MODULES = sorted(p for p in PACKAGE.glob("*/cli.py"))  # polyalign_lf/cli.py is the dispatcher


def _top_level_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def test_command_modules_only_parse_and_call():
    """A `*/cli.py` defines `NAME_arguments` and `NAME_main` (and private helpers of its own): what other code
    could reuse is a library function of the stage, not of its command."""
    bad = [
        f"{path.relative_to(REPO)}: {name}"
        for path in COMMAND_MODULES
        for name in _top_level_functions(path)
        if not name.startswith("_") and not name.endswith(("_arguments", "_main"))
    ]
    assert not bad, "\n".join(bad)


def _command_imports(root: Path) -> list[tuple[str, str, list[str]]]:
    """(file:line, command module, imported names) for every import of a `polyalign_lf.*.cli` module."""
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and re.fullmatch(r"polyalign_lf\.\w+\.cli", node.module)
            ):
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if re.fullmatch(r"polyalign_lf\.\w+\.cli", alias.name):
                        found.append((f"{path.relative_to(REPO)}:{node.lineno}", alias.name, ["*"]))
    return found


def test_no_module_of_the_package_imports_a_command_module():
    """Commands never import each other (nor does the library import a command): the dispatcher loads them
    by name."""
    bad = [f"{where}: imports {module}" for where, module, _ in _command_imports(PACKAGE)]
    assert not bad, "\n".join(bad)


def test_tests_and_benchmarks_import_only_what_the_dispatcher_calls_from_commands():
    bad = [
        f"{where}: {module} {names}"
        for root in (REPO / "tests", REPO / "benchmarks")
        for where, module, names in _command_imports(root)
        if any(not n.endswith(("_arguments", "_main")) for n in names)
    ]
    assert not bad, "\n".join(bad)


def test_the_command_table_of_docs_architecture_is_the_dispatchers():
    """docs/architecture.md maps every command to its code; the table is generated from the dispatcher."""
    from polyalign_lf.cli import command_table_markdown

    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert command_table_markdown() in text, (
        "regenerate the table: python -c 'from polyalign_lf.cli import command_table_markdown as t; print(t())'"
    )


def test_every_command_module_defines_its_commands():
    from polyalign_lf.cli import COMMANDS

    for name, (module, _) in COMMANDS.items():
        path = REPO / (module.replace(".", "/") + ".py")
        functions = set(_top_level_functions(path))
        attr = name.replace("-", "_")
        assert {f"{attr}_arguments", f"{attr}_main"} <= functions, (name, module)


def test_every_library_entry_of_the_command_table_exists():
    import importlib

    from polyalign_lf.cli import COMMANDS, LIBRARY

    assert set(LIBRARY) == set(COMMANDS)
    for name, targets in LIBRARY.items():
        for target in targets:
            module, _, attr = f"polyalign_lf.{target}".rpartition(".")
            assert hasattr(importlib.import_module(module), attr), (name, target)


def test_only_the_integration_layer_reaches_the_lf_v0_patches():
    """LLaMA-Factory's v0 internals are patched in integration/lf_v0 alone; the rest of the package reaches
    LLaMA-Factory through integration's version-agnostic modules (the entry points pick the patches)."""
    bad = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "integration"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("polyalign_lf.integration.lf_v0"):
                bad.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not bad, "\n".join(bad)


# Module names that repeat across packages mean the same thing in each: a command's options (cli), its work as
# a library call (workflow), what a stage builds (build), prompts, LLaMA-Factory entry points and their v0
# patches (plugin), an extension family on core.registry (registry).
SHARED_MODULE_NAMES = {"__init__", "cli", "workflow", "build", "prompts", "plugin", "registry"}


def test_module_names_do_not_repeat_with_other_meanings():
    from collections import Counter

    counts = Counter(p.stem for p in PACKAGE.rglob("*.py"))
    repeated = {name for name, n in counts.items() if n > 1}
    assert repeated <= SHARED_MODULE_NAMES, sorted(repeated - SHARED_MODULE_NAMES)
    for path in PACKAGE.rglob("registry.py"):  # every registry module is a family on the one pattern
        if path.parent.name != "core":
            assert "core.registry import Registry" in path.read_text(encoding="utf-8"), path
