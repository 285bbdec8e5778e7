"""The evaluator: alignment errors, skip reasons (never 0), hand-checkable end values and the CLI contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyalign_lf.errors import InputError
from polyalign_lf.metrics.evaluate import EvaluationConfig, Precomputed, align_predictions, evaluate

CONTRACT_KEYS = [
    "utility.overall.em",
    "utility.overall.nem",
    "utility.overall.f1",
    "utility.overall.rouge_l",
    "utility.by_bucket",
    "bng.macro",
    "bng.by_bucket",
    "mauve.global",
    "mauve.conditional_macro",
    "tdm.macro",
    "nuf.hypervolume",
    "agg",
]


def _get(obj, dotted):
    for part in dotted.split("."):
        obj = obj[part]
    return obj


def _bilingual_records(build_record, n_per_bucket=25):
    rng = np.random.default_rng(0)
    records = []
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    for k in range(n_per_bucket):
        answer = " ".join(rng.choice(words, size=rng.integers(2, 6)))
        records.append(build_record(k, language="en", answer=answer))
        history = [{"role": "user", "text": "早上好"}, {"role": "assistant", "text": "早上好！有什么可以帮你？"}]
        records.append(
            build_record(
                1000 + k,
                language="zh",
                track="multi",
                family="dialogue",
                length_bin="medium",
                question=f"今天第{k}天天气怎么样？",
                answer="".join(rng.choice(list("天气很好晴朗下雨有点冷"), size=rng.integers(3, 9))),
                history=history,
            )
        )
    records.append(build_record(9999, language="en", family="assistant", length_bin="long", answer="a small bucket"))
    return records


def _precomputed(records, predictions, *, shift=0.0):
    rng = np.random.default_rng(1)
    n = len(records)
    hf = rng.normal(size=(n, 3))
    pf = hf.copy() if shift == 0 else hf + shift
    he = rng.normal(size=(n, 8))
    he /= np.linalg.norm(he, axis=1, keepdims=True)
    return Precomputed(
        human_features=hf,
        prediction_features=pf,
        feature_names=["f0", "f1", "f2"],
        human_embeddings=he,
        prediction_embeddings=he.copy(),
        extra={"embeddings_model": "unit"},
    )


def test_alignment_errors_name_the_problem(make_record):
    records = [make_record(k) for k in range(3)]
    rows = [(f"p:{k + 1}", {"id": r["id"], "prediction": "x"}) for k, r in enumerate(records)]
    assert align_predictions(records, rows[::-1]) == ["x", "x", "x"]
    with pytest.raises(InputError, match="have no prediction"):
        align_predictions(records, rows[:2])
    with pytest.raises(InputError, match="duplicate prediction.*p:1"):
        align_predictions(records, rows + [("p:4", rows[0][1])])
    with pytest.raises(InputError, match="not in the test records"):
        align_predictions(records, rows + [("p:4", {"id": "other", "prediction": "y"})])
    with pytest.raises(InputError, match="another version of the test records"):
        align_predictions(
            records, [("p:1", {"id": records[0]["id"], "prediction": "x", "bucket_id": "zh|single|qa|short"})]
        )
    with pytest.raises(InputError, match="p:2"):
        align_predictions(records, [rows[0], ("p:2", {"id": records[1]["id"], "prediction": None})])


def test_perfect_predictions_in_both_languages(make_record):
    records = _bilingual_records(make_record)
    predictions = [r["human_answer"] for r in records]
    m = evaluate(records, predictions, EvaluationConfig(), _precomputed(records, predictions))
    for key in CONTRACT_KEYS:
        _get(m, key)  # every contract key exists
    assert m["utility"]["overall"] == {"em": 1.0, "nem": 1.0, "f1": 1.0, "rouge_l": 1.0, "n": 51}
    assert m["bng"]["macro"] == pytest.approx(0.0)
    assert set(m["bng"]["by_bucket"]) == {"en|single|qa|short", "zh|multi|dialogue|medium"}
    assert "en|single|assistant|long" in m["bng"]["skipped_buckets"]  # 1 example < 20
    assert m["mauve"]["global"] == pytest.approx(1.0, abs=1e-6)
    assert m["tdm"]["macro"] == pytest.approx(1.0)
    assert list(m["tdm"]["by_bucket"]) == ["zh|multi|dialogue|medium"]
    # NUF: u = 1 and n = 1 in both buckets → hypervolume 1; Agg = 1
    assert m["nuf"]["hypervolume"] == pytest.approx(1.0)
    assert m["agg"] == pytest.approx(1.0)
    assert m["skipped"] == {}


def test_shifted_features_give_the_hand_computed_bng(make_record):
    records = _bilingual_records(make_record)
    predictions = [r["human_answer"] for r in records]
    pre = _precomputed(records, predictions, shift=0.5)
    m = evaluate(records, predictions, EvaluationConfig(skip_mauve=True), pre)
    # a constant shift moves every sorted sample by 0.5: W1 = 0.5 per feature, divided by the bucket's robust scale
    from polyalign_lf.metrics.bng import robust_scale

    for bucket, info in m["bng"]["by_bucket"].items():
        rows = [i for i, r in enumerate(records) if r["bucket_id"] == bucket]
        expected = float(np.mean(0.5 / robust_scale(pre.human_features[rows])))
        assert info["bng"] == pytest.approx(expected, rel=1e-5)
    assert m["mauve"]["global"] is None and m["agg"] is None
    assert "mauve.global" in m["skipped"] and "agg" in m["skipped"]


def test_bng_scale_paper_in_evaluate_and_cli(tmp_path, make_record):
    from polyalign_lf.cli import main
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl
    from polyalign_lf.metrics.bng import paper_bucket_bng

    records = _bilingual_records(make_record)
    predictions = [r["human_answer"] for r in records]
    pre = _precomputed(records, predictions, shift=0.5)
    pre.human_features[:, 2] = 1.0  # constant among every bucket's human answers
    pre.prediction_features[:, 2] = 1.5
    robust = evaluate(records, predictions, EvaluationConfig(skip_mauve=True), pre)
    paper = evaluate(records, predictions, EvaluationConfig(skip_mauve=True, bng_scale="paper"), pre)
    assert robust["bng"]["scale"] == "robust" and paper["bng"]["scale"] == "paper"
    for bucket, info in paper["bng"]["by_bucket"].items():
        rows = [i for i, r in enumerate(records) if r["bucket_id"] == bucket]
        sigma = pre.human_features[rows].std(axis=0)  # population std, as the paper's σ_{b,k}
        scale = np.where(sigma <= 1e-12, 1.0, sigma)  # the reference's rule for constant features
        assert info["bng"] == pytest.approx(float(np.mean(0.5 / scale)), rel=1e-5)
        assert info["unit_scale_features"] == ["f2"]
        assert info["bng"] == pytest.approx(
            paper_bucket_bng(pre.prediction_features[rows], pre.human_features[rows]).bng, rel=1e-5
        )
    with pytest.raises(Exception, match="bng_scale"):
        evaluate(records, predictions, EvaluationConfig(skip_mauve=True, bng_scale="sigma"), pre)
    write_records(tmp_path / "test.jsonl", records)
    write_jsonl(tmp_path / "pred.jsonl", ({"id": r["id"], "prediction": p} for r, p in zip(records, predictions)))
    for name in ("human_features", "prediction_features"):
        np.save(tmp_path / f"{name}.npy", getattr(pre, name))
    args = [
        "evaluate",
        "--records",
        str(tmp_path / "test.jsonl"),
        "--predictions",
        str(tmp_path / "pred.jsonl"),
        "--out",
        str(tmp_path / "m.json"),
        "--skip-mauve",
        "--human-features",
        str(tmp_path / "human_features.npy"),
        "--prediction-features",
        str(tmp_path / "prediction_features.npy"),
    ]
    assert main(args + ["--bng-scale", "paper"]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["bng"]["scale"] == "paper"
    with pytest.raises(SystemExit):  # argparse refuses a third scale
        main(args + ["--bng-scale", "sigma"])


def test_too_few_examples_are_skipped_with_reasons_not_zero(make_record):
    records = [make_record(k, answer="Paris") for k in range(5)]
    predictions = ["Paris", "Lyon", "Paris", "", "paris."]
    m = evaluate(records, predictions, EvaluationConfig(), _precomputed(records, predictions))
    assert m["utility"]["overall"]["f1"] == pytest.approx(3 / 5)  # "paris." normalises to "paris"
    assert m["utility"]["overall"]["em"] == pytest.approx(2 / 5)
    assert m["utility"]["n_empty_predictions"] == 1
    for key in ("bng.macro", "mauve.global", "mauve.conditional_macro", "tdm.macro", "nuf.hypervolume", "agg"):
        assert _get(m, key) is None
        assert m["skipped"][key]


def test_cli_writes_the_contract_json(tmp_path, make_record):
    from polyalign_lf.cli import main
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl

    records = _bilingual_records(make_record)
    predictions = [r["human_answer"] if k % 3 else "something else" for k, r in enumerate(records)]
    pre = _precomputed(records, predictions, shift=0.1)
    write_records(tmp_path / "test.jsonl", records)
    write_jsonl(tmp_path / "pred.jsonl", ({"id": r["id"], "prediction": p} for r, p in zip(records, predictions)))
    for name in ("human_features", "prediction_features", "human_embeddings", "prediction_embeddings"):
        np.save(tmp_path / f"{name}.npy", getattr(pre, name))
    args = [
        "evaluate",
        "--records",
        str(tmp_path / "test.jsonl"),
        "--predictions",
        str(tmp_path / "pred.jsonl"),
        "--out",
        str(tmp_path / "metrics.json"),
        "--method",
        "unit",
    ]
    for name in ("human-features", "prediction-features", "human-embeddings", "prediction-embeddings"):
        args += [f"--{name}", str(tmp_path / f"{name.replace('-', '_')}.npy")]
    assert main(args) == 0
    m = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    for key in CONTRACT_KEYS:
        _get(m, key)
    assert m["method"] == "unit" and m["test_set"]["n"] == len(records)
    assert 0 < m["agg"] <= 1
    # a prediction file that misses a record is an error (exit 2), not a partial evaluation
    write_jsonl(tmp_path / "short.jsonl", ({"id": r["id"], "prediction": "x"} for r in records[:-1]))
    assert main(args[:3] + ["--predictions", str(tmp_path / "short.jsonl")] + args[5:]) == 2


def test_cli_bng_with_train_references(tmp_path, make_record):
    """--references: the BNG scale comes from the train-split references (with their back-off)."""
    from polyalign_lf.cli import main
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl
    from polyalign_lf.references import build_references

    records = _bilingual_records(make_record)
    predictions = [r["human_answer"] for r in records]
    pre = _precomputed(records, predictions, shift=0.5)
    rng = np.random.default_rng(3)
    train = rng.normal(scale=2.0, size=(60, 3))
    train_buckets = ["en|single|qa|short"] * 30 + [
        "zh|multi|dialogue|long"
    ] * 30  # zh medium backs off to zh|multi|dialogue
    refs = build_references(train, train_buckets, ["train"] * 60, ["f0", "f1", "f2"], "unit-1", min_bucket_size=20)
    refs.save(tmp_path / "refs.json")
    write_records(tmp_path / "test.jsonl", records)
    write_jsonl(tmp_path / "pred.jsonl", ({"id": r["id"], "prediction": p} for r, p in zip(records, predictions)))
    np.save(tmp_path / "hf.npy", pre.human_features)
    np.save(tmp_path / "pf.npy", pre.prediction_features)
    assert (
        main(
            [
                "evaluate",
                "--records",
                str(tmp_path / "test.jsonl"),
                "--predictions",
                str(tmp_path / "pred.jsonl"),
                "--out",
                str(tmp_path / "m.json"),
                "--references",
                str(tmp_path / "refs.json"),
                "--skip-mauve",
                "--human-features",
                str(tmp_path / "hf.npy"),
                "--prediction-features",
                str(tmp_path / "pf.npy"),
            ]
        )
        == 0
    )
    m = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert m["bng"]["reference_keys"]["zh|multi|dialogue|medium"] == "zh|multi|dialogue"
    en_scale = np.asarray(refs.entries["en|single|qa|short"]["robust_scale"])
    assert m["bng"]["by_bucket"]["en|single|qa|short"]["bng"] == pytest.approx(
        float(np.mean(0.5 / en_scale)), rel=1e-5
    )
    assert "en|single|assistant|long" in m["bng"]["skipped_buckets"]


def test_cli_cache_dir_reuses_human_features(tmp_path, make_record):
    """--cache-dir: the human side is computed once per test set and read back for the next method."""
    from polyalign_lf.cli import main
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl

    records = _bilingual_records(make_record)
    write_records(tmp_path / "test.jsonl", records)
    write_jsonl(tmp_path / "pred.jsonl", ({"id": r["id"], "prediction": r["human_answer"]} for r in records))
    args = [
        "evaluate",
        "--records",
        str(tmp_path / "test.jsonl"),
        "--predictions",
        str(tmp_path / "pred.jsonl"),
        "--skip-mauve",
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    assert main(args + ["--out", str(tmp_path / "a.json")]) == 0
    cached = list((tmp_path / "cache").glob("human_features.*.npy"))
    assert len(cached) == 1
    assert json.loads((tmp_path / "a.json").read_text())["bng"]["macro"] == pytest.approx(0.0)
    # the second run reads the cache: altering it changes BNG (predictions = human answers, so only the cache differs)
    np.save(cached[0], np.load(cached[0]) + 1.0)
    assert main(args + ["--out", str(tmp_path / "b.json")]) == 0
    assert json.loads((tmp_path / "b.json").read_text())["bng"]["macro"] > 0


def test_nuf_table2_uses_eq15_for_every_bucket_and_agg_says_which_nuf(make_record):
    """Table 2's NUF and Agg used Eq. 15 (no TDM) for every bucket: `nuf.table2` carries that frontier beside
    the TDM-aware one, and `agg_table2` is Agg with it."""
    records = _bilingual_records(make_record)
    predictions = [r["human_answer"] + (" extra words here" if r["language"] == "zh" else "") for r in records]
    m = evaluate(records, predictions, EvaluationConfig(), _precomputed(records, predictions, shift=0.3))
    multi = "zh|multi|dialogue|medium"
    tdm = m["tdm"]["by_bucket"][multi]["tdm"]
    assert tdm < 1.0
    for point in m["nuf"]["table2"]["points"]:
        b = point["bucket_id"]
        bng, c_mauve = m["bng"]["by_bucket"][b]["bng"], m["mauve"]["by_bucket"][b]["mauve"]
        expected = ((1 / (1 + bng)) * min(max(c_mauve, 0.0), 1.0)) ** 0.5  # Eq. 15
        assert point["naturalness"] == pytest.approx(expected, abs=1e-6) and point["multi_turn"] is False
    tdm_point = next(p for p in m["nuf"]["points"] if p["bucket_id"] == multi)
    bng, c_mauve = m["bng"]["by_bucket"][multi]["bng"], m["mauve"]["by_bucket"][multi]["mauve"]
    assert tdm_point["multi_turn"] and tdm_point["naturalness"] == pytest.approx(
        ((1 / (1 + bng)) * min(max(c_mauve, 0.0), 1.0) * tdm) ** (1 / 3), abs=1e-6
    )
    from polyalign_lf.metrics.nuf import aggregate_score

    c = m["agg_components"]
    assert m["agg_table2"] == pytest.approx(
        aggregate_score(c["f1"], c["bng_macro"], c["mauve_global"], m["nuf"]["table2"]["hypervolume"]), abs=1e-6
    )
    assert m["agg"] == pytest.approx(aggregate_score(c["f1"], c["bng_macro"], c["mauve_global"], c["nuf_hypervolume"]))
    assert m["agg_nuf"].startswith("nuf.hypervolume")


def test_a_lone_surrogate_is_a_clear_per_row_error(tmp_path, make_record, capsys):
    """JSON lets an unpaired \\ud800 escape through; no tokenizer, segmenter or UTF-8 file accepts it."""
    from polyalign_lf.cli import main

    records = _bilingual_records(make_record)
    good = tmp_path / "test.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    rows = [{"id": r["id"], "prediction": r["human_answer"]} for r in records]
    rows[3]["prediction"] = "北京\ud800是首都"
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")  # ensure_ascii: "\\ud800"
    args = ["evaluate", "--records", str(good), "--predictions", str(pred), "--out", str(tmp_path / "m.json")]
    assert main([*args, "--skip-mauve"]) == 2
    err = capsys.readouterr().err
    assert f"{pred}:4" in err and "lone surrogate U+D800" in err and "Traceback" not in err
    bad = [dict(r) for r in records]
    bad[1]["human_answer"] = "answer \udc00"
    (tmp_path / "bad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in bad), encoding="utf-8")
    ok_pred = tmp_path / "ok.jsonl"
    ok_pred.write_text(
        "".join(json.dumps({"id": r["id"], "prediction": "x"}) + "\n" for r in records), encoding="utf-8"
    )
    assert (
        main(
            [
                "evaluate",
                "--records",
                str(tmp_path / "bad.jsonl"),
                "--predictions",
                str(ok_pred),
                "--out",
                str(tmp_path / "m2.json"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "bad.jsonl:2" in err and "'human_answer'" in err and "lone surrogate U+DC00" in err
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "m2.json").exists()


def test_cache_dir_is_keyed_by_the_human_answers_not_just_their_ids(tmp_path, make_record):
    """Same ids, changed answers: the cached human side of the old answers must not be reused."""
    from polyalign_lf.cli import main
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl

    records = _bilingual_records(make_record)
    write_records(tmp_path / "test.jsonl", records)
    write_jsonl(tmp_path / "pred.jsonl", ({"id": r["id"], "prediction": r["human_answer"]} for r in records))
    args = [
        "evaluate",
        "--predictions",
        str(tmp_path / "pred.jsonl"),
        "--skip-mauve",
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    assert main([*args, "--records", str(tmp_path / "test.jsonl"), "--out", str(tmp_path / "a.json")]) == 0
    changed = [dict(r, human_answer=r["human_answer"] + " and a much longer tail of words " * 3) for r in records]
    write_records(tmp_path / "changed.jsonl", changed)
    assert main([*args, "--records", str(tmp_path / "changed.jsonl"), "--out", str(tmp_path / "b.json")]) == 0
    assert len(list((tmp_path / "c").glob("human_features.*.npy"))) == 2
    fresh = tmp_path / "fresh.json"
    assert main([*args[:-2], "--records", str(tmp_path / "changed.jsonl"), "--out", str(fresh)]) == 0
    bng = lambda path: json.loads(path.read_text())["bng"]["macro"]  # noqa: E731
    assert bng(tmp_path / "b.json") == pytest.approx(bng(fresh)) and bng(fresh) > 0.5
