"""Run every benchmark and write the results table.

    python benchmarks/run_all.py            # every benchmarks/bench_*.py, full size
    python benchmarks/run_all.py --quick    # the small runs (minutes)
    python benchmarks/run_all.py --only critic,features
    python benchmarks/run_all.py --collect-only   # just rebuild RESULTS.md from benchmarks/results/*.json

Each ``bench_<topic>.py`` prints its figures next to its goal and writes ``benchmarks/results/<topic>.json``
(``{"benchmark", "figures": {name: value}, "goals": {name: text}, "machine"}``). This script runs them one
after the other (they measure time, so never in parallel), then collects every JSON in
``benchmarks/results/`` into ``benchmarks/results/RESULTS.md``: one table per benchmark (figure, value,
goal) and a description of the machine it ran on. A benchmark that fails is reported with its exit status
and the tail of its output, and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def discover() -> dict[str, Path]:
    return {p.stem[len("bench_"):]: p for p in sorted(HERE.glob("bench_*.py"))}


def machine_description() -> dict[str, Any]:
    """What the numbers were measured on (CPU model, cores, memory, GPU, load, library versions)."""
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "cpu_count": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # torch missing or broken: the table still gets written
        pass
    return info


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
        output = (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    wall = time.perf_counter() - start
    tail = "\n".join(output.strip().splitlines()[-15:])
    print(tail, flush=True)
    print(f"=== {name}: {status} in {wall:.0f} s", flush=True)
    return {"benchmark": name, "status": status, "wall_s": round(wall, 1), "quick": quick,
            "tail": tail if status != "ok" else ""}


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


def load_results() -> list[dict[str, Any]]:
    results = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            results.append({"benchmark": path.stem, "error": f"unreadable result file ({exc})"})
            continue
        if isinstance(data, dict) and "figures" in data:
            data.setdefault("benchmark", path.stem)
            data["_file"] = path.name
            data["_mtime"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(path.stat().st_mtime))
            results.append(data)
    return results


def render_table(results: list[dict[str, Any]], runs: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    lines = ["# Benchmark results", "",
             "Written by `python benchmarks/run_all.py` from `benchmarks/results/*.json` — each benchmark's figures "
             "next to its goal, and the machine it ran on. Timing figures depend on the machine and on its load "
             "at the time (see `load_average`).", ""]
    if runs:
        lines += ["## This run", "", "| benchmark | status | wall s | size |", "|---|---|---|---|"]
        lines += [f"| {r['benchmark']} | {r['status']} | {r['wall_s']} | {'quick' if r['quick'] else 'full'} |" for r in runs]
        lines += ["", f"Machine: {_machine_line(machine)}", ""]
        for r in runs:
            if r["tail"]:
                lines += [f"<details><summary>{r['benchmark']}: last lines</summary>", "", "```", r["tail"], "```", "</details>", ""]
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
        lines += [f"Source: `benchmarks/results/{res['_file']}` (written {res['_mtime']} UTC)", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (small runs)")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (bench_<name>.py)")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    parser.add_argument("--collect-only", action="store_true", help="run nothing; rebuild RESULTS.md from the JSON files")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark (default 3600)")
    parser.add_argument("--out", type=Path, default=RESULTS / "RESULTS.md")
    args = parser.parse_args(argv)

    found = discover()
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    skip = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = [n for n in [*only, *skip] if n not in found]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(found)}")
    selected = [n for n in (only or found) if n not in skip]
    runs = [] if args.collect_only else [run_benchmark(n, found[n], args.quick, args.timeout) for n in selected]
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = render_table(load_results(), runs, machine_description())
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text(table, encoding="utf-8")
    os.replace(tmp, args.out)
    print(f"\nresults table: {args.out}")
    failed = [r for r in runs if r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} benchmark(s) did not finish: {', '.join(r['benchmark'] for r in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
