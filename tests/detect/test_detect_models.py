"""`polyalign detect` with the tiny local models (observer = tiny_model, performer = tiny_ref_model)."""

from __future__ import annotations

import json

import pytest
import torch

from polyalign_lf.cli import main
from polyalign_lf.detect.detection import DetectorModels, score_texts
from polyalign_lf.detect.scores import binoculars_score, fast_detectgpt_criterion

TEXTS = [
    "Paris is the capital of France.",
    "巴黎是法国的首都。",
    "ok",
    "The quick brown fox jumps over the lazy dog. " * 3,
    "",
]


def test_batched_scores_equal_one_by_one(tiny_model, tiny_ref_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    models = DetectorModels(observer=str(tiny_model), performer=str(tiny_ref_model), device="cpu", batch_size=3)
    rows = score_texts(TEXTS, models)
    assert rows[4]["binoculars"] is None and rows[4]["n_tokens"] < 2  # empty text: counted as not scorable
    tok = AutoTokenizer.from_pretrained(tiny_model)
    observer = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    performer = AutoModelForCausalLM.from_pretrained(tiny_ref_model).eval()
    for text, row in zip(TEXTS[:4], rows):
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            lo, lp = observer(**enc).logits, performer(**enc).logits
        mask = enc["attention_mask"]
        assert row["binoculars"] == pytest.approx(binoculars_score(lo, lp, enc["input_ids"], mask).item(), rel=1e-4)
        assert row["fast_detectgpt"] == pytest.approx(
            fast_detectgpt_criterion(lo, lp, enc["input_ids"], mask).item(), rel=1e-4, abs=1e-5
        )


def test_detect_cli_table4(tmp_path, tiny_model, tiny_ref_model, toy_records, write_rows):
    records = write_rows(tmp_path / "test.jsonl", toy_records)
    copy = write_rows(tmp_path / "copy.jsonl", [{"id": r["id"], "prediction": r["human_answer"]} for r in toy_records])
    other = write_rows(
        tmp_path / "other.jsonl",
        [{"id": r["id"], "prediction": "I think it depends on the context, but usually yes."} for r in toy_records],
    )
    metrics = tmp_path / "copy_metrics.json"
    metrics.write_text(json.dumps({"agg": 0.5}))
    out = tmp_path / "detect"
    code = main(
        [
            "detect",
            "--records",
            records,
            "--predictions",
            f"copy={copy}",
            f"other={other}",
            "--metrics",
            f"copy={metrics}",
            "--observer",
            str(tiny_model),
            "--performer",
            str(tiny_ref_model),
            "--detectors",
            "binoculars,fast_detectgpt",
            "--device",
            "cpu",
            "--batch-size",
            "4",
            "--out",
            str(out),
        ]
    )
    assert code in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    methods = summary["methods"]
    assert set(methods) == {"human", "copy", "other"}
    # The copy of the human answers gets exactly the human scores: same AI rate, AUROC 0.5.
    for d in ("binoculars", "fast_detectgpt"):
        assert methods["copy"][d]["ai_rate"] == methods["human"][d]["ai_rate"]
        assert methods["copy"][d]["auroc_vs_human"] == pytest.approx(0.5)
    h = 1 - (methods["copy"]["binoculars"]["ai_rate"] + methods["copy"]["fast_detectgpt"]["ai_rate"]) / 2
    assert methods["copy"]["h"] == pytest.approx(h) and methods["copy"]["H"] == methods["copy"]["h"]
    assert methods["copy"]["detectors_used"] == ["binoculars", "fast_detectgpt"]
    assert summary["h_label"] == "H(2: binoculars, fast_detectgpt)"
    assert "| H(2: binoculars, fast_detectgpt) |" in (out / "summary.md").read_text()
    assert methods["copy"]["joint"] == pytest.approx(0.0 if h == 0 else 100 * 2 * 0.5 * h / (0.5 + h))
    assert methods["other"]["joint"] is None and "no --metrics" in methods["other"]["joint_skip_reason"]
    rows = [json.loads(x) for x in (out / "scores" / "other.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and rows[0]["binoculars"]["score_ai"] == -rows[0]["binoculars"]["raw"]
    assert "| copy | 0.500 |" in (out / "summary.md").read_text()


def test_detect_refuses_different_tokenizers(tmp_path, tiny_model):
    from polyalign_lf.core.tiny_models import build_tiny_causal_lm
    from polyalign_lf.errors import ConfigError

    other = build_tiny_causal_lm(tmp_path / "other", vocab_size=400)
    models = DetectorModels(observer=str(tiny_model), performer=str(other), device="cpu")
    with pytest.raises(ConfigError, match="different tokenizers"):
        score_texts(["hello there"], models)


def _tiny_radar(tmp_path, tiny_model):
    """A RADAR-shaped sequence classifier (2 labels) built on the spot from the tiny model's config."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForSequenceClassification

    config = Qwen2Config.from_pretrained(tiny_model)
    config.num_labels = 2
    torch.manual_seed(0)
    classifier = Qwen2ForSequenceClassification(config).eval()
    path = tmp_path / "radar"
    classifier.save_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.save_pretrained(path)
    return path, classifier, tokenizer


def test_radar_detector_matches_direct_softmax(tmp_path, tiny_model, toy_records, write_rows):
    """RADAR (here a tiny random classifier) gives P(AI label) per text, batched like the LM detectors."""
    path, classifier, tokenizer = _tiny_radar(tmp_path, tiny_model)
    models = DetectorModels(radar=str(path), radar_ai_label=1, device="cpu", batch_size=2)
    texts = ["Paris is the capital of France.", "巴黎是法国的首都。", "", "hi"]
    rows = score_texts(texts, models, ["radar"])
    assert rows[2]["radar"] is None
    for text, row in zip(texts, rows):
        if not text:
            continue
        with torch.no_grad():
            logits = classifier(**tokenizer(text, return_tensors="pt")).logits
        assert row["radar"] == pytest.approx(torch.softmax(logits, -1)[0, 1].item(), rel=1e-4)
    records = write_rows(tmp_path / "test.jsonl", toy_records)
    pred = write_rows(
        tmp_path / "m.jsonl", [{"id": r["id"], "prediction": r["human_answer"] + "!"} for r in toy_records]
    )
    out = tmp_path / "det"
    # the old spellings (--detectors classifier, --classifier, --classifier-ai-label) still work
    assert main(
        [
            "detect",
            "--records",
            records,
            "--predictions",
            f"m={pred}",
            "--detectors",
            "classifier",
            "--classifier",
            str(path),
            "--classifier-ai-label",
            "1",
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    ) in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(x) for x in (out / "scores" / "m.jsonl").read_text().splitlines()]
    rate = sum(r["radar"]["raw"] >= 0.5 for r in rows) / len(rows)
    assert summary["methods"]["m"]["radar"]["ai_rate"] == pytest.approx(rate)
    assert summary["methods"]["m"]["h"] == pytest.approx(1 - rate)
    assert summary["h_label"] == "H(1: radar)"


def test_three_detectors_by_default_give_the_papers_h(tmp_path, tiny_model, tiny_ref_model, toy_records, write_rows):
    path, _, _ = _tiny_radar(tmp_path, tiny_model)
    records = write_rows(tmp_path / "test.jsonl", toy_records)
    pred = write_rows(tmp_path / "m.jsonl", [{"id": r["id"], "prediction": r["human_answer"]} for r in toy_records])
    metrics = tmp_path / "m_metrics.json"
    metrics.write_text(json.dumps({"agg": 0.4}))
    out = tmp_path / "det"
    assert main(
        [
            "detect",
            "--records",
            records,
            "--predictions",
            f"m={pred}",
            "--metrics",
            f"m={metrics}",
            "--observer",
            str(tiny_model),
            "--performer",
            str(tiny_ref_model),
            "--radar-model",
            str(path),
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    ) in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    entry = summary["methods"]["m"]
    assert summary["detectors_used"] == ["binoculars", "fast_detectgpt", "radar"] and summary["h_label"] == "H"
    rates = [entry[d]["ai_rate"] for d in ("binoculars", "fast_detectgpt", "radar")]
    assert entry["h"] == pytest.approx(1 - sum(rates) / 3)
    assert entry["joint"] == pytest.approx(0.0 if entry["h"] == 0 else 200 * 0.4 * entry["h"] / (0.4 + entry["h"]))
    assert "| RADAR AI% | H | Joint |" in (out / "summary.md").read_text()


def test_unloadable_radar_is_an_error_naming_the_flag(
    tmp_path, tiny_model, tiny_ref_model, toy_records, write_rows, capsys
):
    records = write_rows(tmp_path / "test.jsonl", toy_records)
    pred = write_rows(tmp_path / "m.jsonl", [{"id": r["id"], "prediction": r["human_answer"]} for r in toy_records])
    out = tmp_path / "det"
    code = main(
        [
            "detect",
            "--records",
            records,
            "--predictions",
            f"m={pred}",
            "--observer",
            str(tiny_model),
            "--performer",
            str(tiny_ref_model),
            "--device",
            "cpu",
            "--out",
            str(out),
        ]
    )  # default: RADAR from the Hub
    err = capsys.readouterr().err
    assert code == 2 and "radar" in err and "--radar-model" in err and "Traceback" not in err
    assert not out.exists()  # refused before anything was scored or written


def test_unloadable_language_model_names_detector_and_flag(tmp_path, tiny_model):
    from polyalign_lf.errors import ConfigError

    models = DetectorModels(observer=str(tmp_path / "missing"), performer=str(tiny_model), device="cpu")
    with pytest.raises(ConfigError, match=r"binoculars, fast_detectgpt: .*--observer, --sampling"):
        score_texts(["hello there"], models, ["binoculars", "fast_detectgpt"])
