"""The extension families: a detector and a metric registered from outside the package appear in `polyalign
detect`, `polyalign evaluate`, `polyalign report` and the study's table without editing those modules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyalign_lf.cli import main
from polyalign_lf.core.registry import Registry
from polyalign_lf.errors import ConfigError


def test_registry_refuses_a_second_entry_under_one_name_and_names_the_choices():
    family: Registry[int] = Registry("widget")
    family.register("a", 1)
    with pytest.raises(ConfigError, match="already registered"):
        family.register("a", 2)
    family.register("a", 2, replace=True)
    assert family.get("a") == 2 and family.names() == ("a",)
    with pytest.raises(ConfigError, match="unknown widget 'b'; choose from a"):
        family.get("b")


@pytest.fixture
def dummy_detector():
    """A detector without models: the share of characters that are vowels, as a probability of 'AI'."""
    from polyalign_lf.detect.detectors import DETECTORS, Detector, register_detector

    @register_detector
    class VowelShare(Detector):
        name = "vowel_share"
        label = "Vowel AI%"

        def score(self, texts, models, desc):
            return [sum(ch in "aeiou" for ch in t) / len(t) if t else None for t in texts]

    yield VowelShare
    DETECTORS.unregister("vowel_share")


@pytest.fixture
def dummy_metric():
    """A metric outside the built-in suite: mean prediction length over mean human answer length."""
    from polyalign_lf.metrics.registry import METRICS, MetricSpec, register_metric

    def length_ratio(records, predictions, config):
        human = np.mean([len(r["human_answer"]) for r in records])
        return float(np.mean([len(p) for p in predictions]) / human) if human else None

    spec = register_metric(MetricSpec("length.ratio", "Length ratio", False, (0.0, None), compute=length_ratio))
    yield spec
    METRICS.unregister(spec.key)


def _write_inputs(tmp_path, make_record):
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl

    records = [make_record(k, answer=f"the answer number {k} is here") for k in range(6)]
    write_records(tmp_path / "test.jsonl", records)
    for name, text in (("short", "yes"), ("long", "a much longer answer than the human one, by far")):
        write_jsonl(
            tmp_path / f"{name}.jsonl", ({"id": r["id"], "prediction": f"{text} {k}"} for k, r in enumerate(records))
        )
    return records


def test_dummy_detector_in_detect_and_report(tmp_path, make_record, dummy_detector, capsys):
    _write_inputs(tmp_path, make_record)
    args = ["detect", "--records", str(tmp_path / "test.jsonl"), "--predictions", str(tmp_path / "short.jsonl"),
            str(tmp_path / "long.jsonl"), "--detectors", "vowel_share", "--out", str(tmp_path / "det")]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((tmp_path / "det" / "summary.json").read_text())
    assert summary["detectors"] == ["vowel_share"] and summary["h_label"] == "H(1: vowel_share)"
    for method in ("short", "long"):
        assert 0.0 <= summary["methods"][method]["vowel_share"]["ai_rate"] <= 1.0
    assert "Vowel AI%" in (tmp_path / "det" / "summary.md").read_text()
    help_text = _help("detect", capsys)
    assert "vowel_share" in help_text


def test_dummy_metric_in_evaluate_report_and_study(tmp_path, make_record, dummy_metric):
    records = _write_inputs(tmp_path, make_record)
    for name in ("short", "long"):
        args = ["evaluate", "--records", str(tmp_path / "test.jsonl"), "--predictions", str(tmp_path / f"{name}.jsonl"),
                "--out", str(tmp_path / f"{name}.json"), "--skip-mauve", "--min-bucket-size", "2"]  # fmt: skip
        assert main(args) == 0
    metrics = {n: json.loads((tmp_path / f"{n}.json").read_text()) for n in ("short", "long")}
    human = np.mean([len(r["human_answer"]) for r in records])
    assert metrics["short"]["length"]["ratio"] == pytest.approx(np.mean([len(f"yes {k}") for k in range(6)]) / human)
    assert metrics["long"]["length"]["ratio"] > 1.0 > metrics["short"]["length"]["ratio"]
    out = tmp_path / "report"
    args = ["report", f"short={tmp_path / 'short.json'}", f"long={tmp_path / 'long.json'}", "--out", str(out)]
    assert main(args) == 0
    table = (out / "report.md").read_text()
    assert "Length ratio ↓" in table
    from polyalign_lf.study.report import study_metrics

    assert ("Length ratio", "length.ratio", False) in study_metrics()


def test_a_metric_outside_its_domain_is_an_error(make_record, dummy_metric):
    from polyalign_lf.metrics.evaluate import EvaluationConfig, evaluate
    from polyalign_lf.metrics.registry import METRICS, MetricSpec, register_metric

    register_metric(MetricSpec("length.ratio", "Length ratio", False, (0.0, 1.0), compute=lambda *_: float("nan")),
                    replace=True)  # fmt: skip
    records = [make_record(k) for k in range(3)]
    with pytest.raises(ConfigError, match="length.ratio"):
        evaluate(records, [r["human_answer"] for r in records], EvaluationConfig(skip_mauve=True))
    assert "length.ratio" in METRICS


def _help(command, capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


def test_detect_replaces_its_output_folder_whole(tmp_path, make_record, dummy_detector, capsys):
    """A rerun over an earlier detect output is refused without --overwrite and replaces it whole with it: no
    score file of a method the new run does not have survives next to the new summary."""
    _write_inputs(tmp_path, make_record)
    base = [
        "detect",
        "--records",
        str(tmp_path / "test.jsonl"),
        "--detectors",
        "vowel_share",
        "--out",
        str(tmp_path / "det"),
    ]
    assert main([*base, "--predictions", str(tmp_path / "short.jsonl"), str(tmp_path / "long.jsonl")]) == 0
    assert main([*base, "--predictions", str(tmp_path / "long.jsonl")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*base, "--predictions", str(tmp_path / "long.jsonl"), "--overwrite"]) == 0
    assert sorted(p.name for p in (tmp_path / "det" / "scores").iterdir()) == ["human.jsonl", "long.jsonl"]
