"""benchmarks/run_all.py: runs every bench script, survives a failing one, and tabulates figures next to goals."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("run_all_under_test", REPO / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bench = tmp_path / "benchmarks"
    (bench / "results").mkdir(parents=True)
    module.HERE, module.RESULTS = bench, bench / "results"
    return module, bench


def test_runs_benchmarks_and_writes_the_table(tmp_path):
    run_all, bench = _load(tmp_path)
    (bench / "bench_speed.py").write_text(
        "import json, sys, pathlib\n"
        "quick = '--quick' in sys.argv\n"
        "out = pathlib.Path(__file__).parent / 'results' / 'speed.json'\n"
        "out.write_text(json.dumps({'benchmark': 'speed', 'figures': {'ratio': 1.013, 'rows': 20000 if quick else 800000},"
        " 'goals': {'ratio': '<= 1.02', 'latency_s': '< 1 s'}, 'machine': {'cpu_count': 2, 'cpu_model': 'Test CPU'}}))\n"
        "print('ratio 1.013 (goal <= 1.02)')\n")
    (bench / "bench_broken.py").write_text("import sys\nprint('no data here')\nsys.exit(4)\n")
    out = tmp_path / "RESULTS.md"
    assert run_all.main(["--quick", "--out", str(out)]) == 1  # one benchmark failed
    table = out.read_text()
    assert "| speed | ratio | 1.013 | <= 1.02 |" in table
    assert "| latency_s | — | < 1 s |" in table  # a goal without a figure is shown, not dropped
    assert "| rows | 20000 |  |" in table  # --quick reached the script
    assert "| broken | failed (exit 4) |" in table and "no data here" in table
    assert "cpu_model: Test CPU" in table


def test_collect_only_and_name_checks(tmp_path, capsys):
    run_all, bench = _load(tmp_path)
    (bench / "results" / "critic.json").write_text(json.dumps(
        {"benchmark": "critic", "figures": {"train_seconds": 379.4}, "goals": {"train_seconds": "<= 300 s"}, "machine": "x86_64"}))
    out = tmp_path / "R.md"
    assert run_all.main(["--collect-only", "--out", str(out)]) == 0
    assert "| critic | train_seconds | 379.4 | <= 300 s |" in out.read_text()
    try:
        run_all.main(["--only", "nope"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "unknown benchmark(s) nope" in capsys.readouterr().err
