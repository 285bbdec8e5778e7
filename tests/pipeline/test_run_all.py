"""benchmarks/run_all.py: runs every bench script, survives a failing one, and tabulates figures next to goals;
benchmarks/_results.py: full and quick results go to separate folders."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
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
        "out = pathlib.Path(__file__).parent / 'results' / ('quick' if quick else '') / 'speed.json'\n"
        "out.parent.mkdir(exist_ok=True)\n"
        "out.write_text(json.dumps({'benchmark': 'speed', 'figures': {'ratio': 1.013, 'rows': 20000 if quick else 800000},"
        " 'goals': {'ratio': '<= 1.02', 'latency_s': '< 1 s'}, 'machine': {'cpu_count': 2, 'cpu_model': 'Test CPU'}}))\n"
        "print('ratio 1.013 (goal <= 1.02)')\n"
    )
    (bench / "bench_broken.py").write_text("import sys\nprint('no data here')\nsys.exit(4)\n")
    (bench / "results" / "speed.json").write_text(
        json.dumps(  # a full-size result the quick run must not touch
            {"benchmark": "speed", "figures": {"ratio": 1.5, "rows": 800000}, "goals": {"ratio": "<= 1.02"}}
        )
    )
    assert run_all.main(["--quick"]) == 1  # one benchmark failed
    table = (bench / "results" / "quick" / "RESULTS.md").read_text()
    assert not (bench / "results" / "RESULTS.md").exists()
    assert "| speed | ratio | 1.013 | <= 1.02 |" in table
    assert "| latency_s | — | < 1 s |" in table  # a goal without a figure is shown, not dropped
    assert "| rows | 20000 |  |" in table  # --quick reached the script
    assert "| broken | failed (exit 4) |" in table and "no data here" in table
    assert "cpu_model: Test CPU" in table
    assert "Source: `benchmarks/results/quick/speed.json`" in table
    assert "| ratio | 1.5 |" not in table  # only the quick folder is collected
    assert json.loads((bench / "results" / "speed.json").read_text())["figures"]["ratio"] == 1.5
    # without --quick: the full results only, the quick folder is ignored
    assert run_all.main(["--collect-only"]) == 0
    full = (bench / "results" / "RESULTS.md").read_text()
    assert "| speed | ratio | 1.5 | <= 1.02 |" in full and "1.013" not in full


def test_collect_only_and_name_checks(tmp_path, capsys):
    run_all, bench = _load(tmp_path)
    (bench / "results" / "critic.json").write_text(
        json.dumps(
            {
                "benchmark": "critic",
                "figures": {"train_seconds": 379.4},
                "goals": {"train_seconds": "<= 300 s"},
                "machine": "x86_64",
            }
        )
    )
    out = tmp_path / "R.md"
    assert run_all.main(["--collect-only", "--out", str(out)]) == 0
    assert "| critic | train_seconds | 379.4 | <= 300 s |" in out.read_text()
    try:
        run_all.main(["--only", "nope"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "unknown benchmark(s) nope" in capsys.readouterr().err


def test_write_result_locations_and_keys(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("results_under_test", REPO / "benchmarks" / "_results.py")
    results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(results)
    monkeypatch.setattr(results, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(results, "QUICK_DIR", tmp_path / "results" / "quick")
    full = results.write_result("speed", {"ratio": 1.0}, {"ratio": "<= 1.02"}, quick=False, runs_s={"a": [1.0]})
    quick = results.write_result(
        "speed", {"ratio": 2.0}, {"ratio": "<= 1.02"}, quick=True, settings={"n": 5}, machine={"device": "cpu"}
    )
    assert full == tmp_path / "results" / "speed.json" and quick == tmp_path / "results" / "quick" / "speed.json"
    data = json.loads(full.read_text())
    assert list(data) == ["benchmark", "figures", "goals", "machine", "quick", "runs_s"]
    assert data["benchmark"] == "speed" and data["figures"] == {"ratio": 1.0} and data["quick"] is False
    assert {"platform", "python", "cpu_count"} <= set(data["machine"])
    data = json.loads(quick.read_text())
    assert data["settings"] == {"n": 5} and data["quick"] is True and data["machine"]["device"] == "cpu"
    explicit = results.write_result("speed", {}, {}, quick=True, out=tmp_path / "mine.json")
    assert explicit == tmp_path / "mine.json" and explicit.exists()
    assert [p.name for p in (tmp_path / "results").rglob("*.json")] == ["speed.json", "speed.json"]


def test_bucket_mass_benchmark(tmp_path, capsys, monkeypatch):
    """The objectives benchmark on the paper-shaped inventory: `dataset` gives every bucket its share exactly,
    the self-normalized `step` starves the rarest bucket."""
    spec = importlib.util.spec_from_file_location("bench_bucket_mass", REPO / "benchmarks" / "bench_bucket_mass.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    out = tmp_path / "bucket_mass.json"
    assert module.main(["--quick", "--inventory", "table1_en,reference_val", "--out", str(out)]) == 0
    figures = json.loads(out.read_text())["figures"]
    assert figures["table1_en.dataset.min_share"] == 1.0
    assert figures["table1_en.bucket_sampling.expected_min_share"] == 1.0
    assert figures["table1_en.step.smallest_share"] < 0.1 < 1.0 < figures["table1_en.step.largest_share"]
    printed = capsys.readouterr().out
    assert "goal >= 0.99" in printed
    # after the recipes' own clipping: the shipped grid (balanced sampling) keeps every bucket's share, the
    # Eq.-1-literal weighting does not
    line = re.search(r"^grid_recipe_with_clipping\.min_share (\S+)", printed, re.M)
    assert line and float(line.group(1)) == figures["grid_recipe_with_clipping.min_share"] >= 0.9
    assert figures["dataset_with_clipping.min_share"] < 0.1
    assert figures["step_with_clipping.min_share"] < 0.1
    assert re.search(r"^dataset_with_clipping\.min_share ", printed, re.M)
    assert re.search(r"^step_with_clipping\.min_share ", printed, re.M)
    counts = module.table1_inventory(("en",))
    assert sum(counts.values()) == 584_422  # Table 1's English training rows
