"""`polyalign study` end to end at a reduced size: every method trains through `llamafactory-cli train`,
generates and is evaluated on one test set, and the report lists every claim."""

from __future__ import annotations

import json
import math

import pytest

from polyalign_lf.cli import main

pytestmark = pytest.mark.slow


def test_reduced_study_end_to_end(tmp_path, capsys):
    from polyalign_lf.study.report import CLAIMS
    from polyalign_lf.study.run import METHODS

    out = tmp_path / "study"
    code = main(
        [
            "study",
            "--out",
            str(out),
            "--quick",
            "--corpus-scale",
            "0.25",
            "--max-steps",
            "30",
            "--max-new-tokens",
            "24",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "wall time per stage" in printed and "base-train" in printed
    fingerprints = set()
    for method in METHODS:
        metrics = json.loads((out / "seed_1" / "saves" / "all" / "study" / "metrics" / f"{method}.json").read_text())
        fingerprints.add(metrics["test_set"]["ids_sha256"])
        assert metrics["test_set"]["n"] == 12 * 5  # every bucket's (reduced) test rows, the same for every method
        for key in ("f1", "em", "rouge_l"):
            assert math.isfinite(metrics["utility"]["overall"][key])
        assert metrics["bng"]["macro"] is not None and math.isfinite(metrics["bng"]["macro"])
    assert len(fingerprints) == 1
    summary = json.loads((out / "report" / "study.json").read_text())
    assert [c["claim"] for c in summary["claims"]] == [c.text for c in CLAIMS]
    assert all(c["verdict"].startswith("single seed") or c["verdict"] == "not measured" for c in summary["claims"])
    text = (out / "report" / "study.md").read_text()
    for claim in CLAIMS:
        assert claim.text in text
    assert (out / "report" / "study.html").stat().st_size > 2000
    # a rerun resumes: nothing is trained again
    assert (
        main(
            [
                "study",
                "--out",
                str(out),
                "--quick",
                "--corpus-scale",
                "0.25",
                "--max-steps",
                "30",
                "--max-new-tokens",
                "24",
            ]
        )
        == 0
    )
    assert "✓ done in" not in capsys.readouterr().out
    # the same folder with other sizes is refused (its stages would mix with the new run's)
    assert main(["study", "--out", str(out), "--quick", "--corpus-scale", "0.5"]) == 2
    assert "corpus_scale=0.25" in capsys.readouterr().err
