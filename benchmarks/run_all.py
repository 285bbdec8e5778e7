"""Run every benchmark and write the results table.

    python benchmarks/run_all.py            # every benchmarks/bench_*.py, full size
    python benchmarks/run_all.py --quick    # the small runs (minutes)
    python benchmarks/run_all.py --only critic,features
    python benchmarks/run_all.py --collect-only   # just rebuild RESULTS.md from benchmarks/results/*.json
    python benchmarks/run_all.py --collect-only --quick   # ... from benchmarks/results/quick/*.json

Each ``bench_<topic>.py`` prints its figures next to its goal and writes ``benchmarks/results/<topic>.json``
(``{"benchmark", "figures": {name: value}, "goals": {name: text}, "machine"}``, see ``_results.py``); a
``--quick`` run writes ``benchmarks/results/quick/<topic>.json`` instead, so it never replaces full-size
figures. This script runs them one after the other (they measure time, so never in parallel), then collects
every JSON in ``benchmarks/results/`` (with ``--quick``: ``benchmarks/results/quick/``) into ``RESULTS.md``
in that folder: one table per benchmark (figure, value, goal) and a description of the machine it ran on.
A benchmark that fails is reported with its exit status and the tail of its output, and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"  # full-size results; quick ones in RESULTS / "quick"

if str(HERE) not in sys.path:  # loaded by path (tests), not run as a script
    sys.path.insert(0, str(HERE))
from _results import machine_description  # noqa: E402


def discover() -> dict[str, Path]:
    return {p.stem[len("bench_") :]: p for p in sorted(HERE.glob("bench_*.py"))}


def run_benchmark(name: str, path: Path, quick: bool, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(path)] + (["--quick"] if quick else [])
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True, timeout=timeout)
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        output = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        status = f"timed out after {timeout:.0f} s"
        output = (
            (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        )
    wall = time.perf_counter() - start
    tail = "\n".join(output.strip().splitlines()[-15:])
    print(tail, flush=True)
    print(f"=== {name}: {status} in {wall:.0f} s", flush=True)
    return {
        "benchmark": name,
        "status": status,
        "wall_s": round(wall, 1),
        "quick": quick,
        "tail": tail if status != "ok" else "",
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _machine_line(machine: Any) -> str:
    if isinstance(machine, dict):
        keys = ("cpu_model", "cpu_count", "cpus", "memory_gb", "gpu", "load_average", "platform", "python")
        return "; ".join(f"{k}: {_fmt(machine[k])}" for k in keys if k in machine) or _fmt(machine)
    return _fmt(machine)


def load_results(folder: Path) -> list[dict[str, Any]]:
    """The result files directly in ``folder`` (not in its subfolders: full results ignore ``quick/``)."""
    results = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            results.append({"benchmark": path.stem, "error": f"unreadable result file ({exc})"})
            continue
        if isinstance(data, dict) and "figures" in data:
            data.setdefault("benchmark", path.stem)
            try:
                data["_file"] = path.relative_to(HERE.parent).as_posix()
            except ValueError:  # a results folder outside the checkout
                data["_file"] = str(path)
            data["_mtime"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(path.stat().st_mtime))
            results.append(data)
    return results


def render_table(
    results: list[dict[str, Any]], runs: list[dict[str, Any]], machine: dict[str, Any], quick: bool = False
) -> str:
    source = "benchmarks/results/quick/*.json" if quick else "benchmarks/results/*.json"
    command = "python benchmarks/run_all.py" + (" --quick" if quick else "")
    lines = [
        "# Benchmark results" + (" (quick runs)" if quick else ""),
        "",
        f"Written by `{command}` from `{source}` — each benchmark's figures "
        "next to its goal, and the machine it ran on. Timing figures depend on the machine and on its load "
        "at the time (see `load_average`).",
        "",
    ]
    if runs:
        lines += ["## This run", "", "| benchmark | status | wall s | size |", "|---|---|---|---|"]
        lines += [
            f"| {r['benchmark']} | {r['status']} | {r['wall_s']} | {'quick' if r['quick'] else 'full'} |" for r in runs
        ]
        lines += ["", f"Machine: {_machine_line(machine)}", ""]
        for r in runs:
            if r["tail"]:
                lines += [
                    f"<details><summary>{r['benchmark']}: last lines</summary>",
                    "",
                    "```",
                    r["tail"],
                    "```",
                    "</details>",
                    "",
                ]
    lines += ["## Summary: figures with a goal", "", "| benchmark | figure | value | goal |", "|---|---|---|---|"]
    for res in results:
        figures, goals = res.get("figures", {}), res.get("goals", {})
        for name, goal in goals.items():
            lines.append(f"| {res['benchmark']} | {name} | {_fmt(figures.get(name, '—'))} | {goal} |")
    lines.append("")
    for res in results:
        lines += [f"## {res['benchmark']}", ""]
        if "error" in res:
            lines += [res["error"], ""]
            continue
        figures, goals = res.get("figures", {}), res.get("goals", {})
        lines += ["| figure | value | goal |", "|---|---|---|"]
        for name, value in figures.items():
            lines.append(f"| {name} | {_fmt(value)} | {goals.get(name, '')} |")
        for name, goal in goals.items():
            if name not in figures:
                lines.append(f"| {name} | — | {goal} |")
        settings = res.get("settings") or ({"quick": res["quick"]} if "quick" in res else None)
        lines += ["", f"Machine: {_machine_line(res.get('machine', 'not recorded'))}"]
        if settings:
            lines.append(f"Settings: {_fmt(settings)}")
        lines += [f"Source: `{res['_file']}` (written {res['_mtime']} UTC)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="pass --quick to every benchmark (small runs) and collect results/quick/"
    )
    parser.add_argument("--only", default="", help="comma-separated benchmark names (bench_<name>.py)")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    parser.add_argument(
        "--collect-only", action="store_true", help="run nothing; rebuild RESULTS.md from the JSON files"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark (default 3600)")
    parser.add_argument(
        "--out", type=Path, default=None, help="table to write (default: RESULTS.md in the folder collected)"
    )
    args = parser.parse_args(argv)

    found = discover()
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    skip = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = [n for n in [*only, *skip] if n not in found]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(found)}")
    selected = [n for n in (only or found) if n not in skip]
    runs = [] if args.collect_only else [run_benchmark(n, found[n], args.quick, args.timeout) for n in selected]
    folder = RESULTS / "quick" if args.quick else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    out = args.out or folder / "RESULTS.md"
    table = render_table(load_results(folder), runs, machine_description(), quick=args.quick)
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text(table, encoding="utf-8")
    os.replace(tmp, out)
    print(f"\nresults table: {out}")
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} benchmark(s) did not finish: {', '.join(r['benchmark'] for r in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
