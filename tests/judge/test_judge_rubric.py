"""Rubric math, answer parsing and caps against hand-computed values."""

from __future__ import annotations

import pytest

from polyalign_lf.judge.caps import apply_caps, is_wrong_language
from polyalign_lf.judge.prompts import JudgeAnswerError, build_judge_messages, parse_judge_answer
from polyalign_lf.judge.rubric import COMPOSITE_WEIGHTS, DIMENSIONS, composite_score, score_to_100


def test_overall_weights_are_the_papers():
    assert [COMPOSITE_WEIGHTS["overall"][d] for d in DIMENSIONS] == [0.20, 0.15, 0.15, 0.10, 0.17, 0.08, 0.10, 0.05]
    assert sum(COMPOSITE_WEIGHTS["overall"].values()) == pytest.approx(1.0)
    for weights in COMPOSITE_WEIGHTS.values():
        assert sum(weights.values()) == pytest.approx(1.0)


def test_score_mapping():
    assert [score_to_100(s) for s in (1, 2, 3, 4, 5)] == [0.0, 25.0, 50.0, 75.0, 100.0]
    with pytest.raises(ValueError):
        score_to_100(6)


def test_composites_hand_computed():
    scores = dict(zip(DIMENSIONS, (5, 4, 3, 2, 1, 5, 4, 3)))
    # mapped: 100, 75, 50, 25, 0, 100, 75, 50
    overall = 0.20 * 100 + 0.15 * 75 + 0.15 * 50 + 0.10 * 25 + 0.17 * 0 + 0.08 * 100 + 0.10 * 75 + 0.05 * 50
    assert composite_score(scores, "overall") == pytest.approx(overall)  # 59.25
    assert overall == pytest.approx(59.25)
    utility = 0.35 * 100 + 0.25 * 75 + 0.20 * 50 + 0.15 * 25 + 0.05 * 50
    assert composite_score(scores, "utility") == pytest.approx(utility)
    cond = 0.15 * 25 + 0.35 * 0 + 0.20 * 100 + 0.25 * 75 + 0.05 * 50
    assert composite_score(scores, "conditional_naturalness") == pytest.approx(cond)
    faith = 0.10 * 75 + 0.20 * 25 + 0.30 * 0 + 0.20 * 100 + 0.20 * 75
    assert composite_score(scores, "distribution_faithfulness") == pytest.approx(faith)
    # A missing dimension is renormalised away, not counted as 0.
    partial = {"task_success": 5, "safety": 1}
    assert composite_score(partial, "overall") == pytest.approx((0.20 * 100 + 0.05 * 0) / 0.25)
    assert composite_score({}, "overall") is None


GOOD = '{"scores": {' + ", ".join(f'"{d}": 4' for d in DIMENSIONS) + '}, "major_errors": [], "rationale": "ok"}'


def test_parse_variants():
    assert parse_judge_answer(GOOD)["scores"] == {d: 4 for d in DIMENSIONS}
    assert parse_judge_answer("```json\n" + GOOD + "\n```")["scores"]["safety"] == 4
    assert parse_judge_answer("<think>{not json}</think>Sure: " + GOOD + " done")["scores"]["task_success"] == 4
    assert parse_judge_answer(GOOD.replace('"safety": 4', '"safety": "5"'))["scores"]["safety"] == 5


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("", "empty"),
        ("I think it is good", "no JSON"),
        ("{'scores': 1}", "invalid JSON"),
        (GOOD.replace('"safety": 4', '"safety": 6'), "outside"),
        (GOOD.replace('"safety": 4', '"safety": 4.5'), "expected an integer"),
        (GOOD.replace('"safety": 4', '"safety": true'), "boolean"),
        (GOOD.replace(', "safety": 4', ""), "missing score"),
        (GOOD.replace(', "major_errors": []', ""), "missing key.s. major_errors"),
        (GOOD.replace(', "rationale": "ok"', ""), "missing key.s. rationale"),
        (GOOD.replace('"major_errors": []', '"major_errors": "none"'), "not a list"),
        (GOOD.replace('"rationale": "ok"', '"rationale": 3'), "not a string"),
    ],
)
def test_parse_rejects(bad, reason):
    with pytest.raises(JudgeAnswerError, match=reason):
        parse_judge_answer(bad)


def test_wrong_language_and_caps():
    assert is_wrong_language("This is an English sentence about towers.", "zh")
    assert not is_wrong_language("巴黎是法国的首都。", "zh")
    assert not is_wrong_language("Gustave Eiffel", "zh")  # a name is a fine Chinese extractive answer
    assert not is_wrong_language("1889", "en")
    assert is_wrong_language("巴黎是法国的首都，埃菲尔铁塔很高。", "en")
    scores = {d: 5 for d in DIMENSIONS}
    capped, applied = apply_caps(scores, wrong_language=True)
    assert applied == ["wrong_language"]
    assert capped["instruction_following"] == 2 and capped["conditional_appropriateness"] == 2
    assert capped["factual_grounding"] == 5 and capped["safety"] == 5
    assert apply_caps(scores, wrong_language=False) == (scores, [])


def test_prompt_contains_reference_and_candidate(toy_records):
    record = toy_records[0]
    messages = build_judge_messages(record, "CANDIDATE-XYZ")
    user = messages[-1]["content"]
    assert record["human_answer"] in user and "CANDIDATE-XYZ" in user and record["question"] in user
    assert record["bucket_id"] in user


def test_parse_follows_appendix_h_three_key_schema():
    from polyalign_lf.judge.prompts import ANSWER_KEYS, ANSWER_SCHEMA

    assert ANSWER_KEYS == ("scores", "major_errors", "rationale")
    assert ANSWER_SCHEMA["required"] == list(ANSWER_KEYS) and set(ANSWER_SCHEMA["properties"]) == set(ANSWER_KEYS)
    parsed = parse_judge_answer(GOOD)
    assert set(parsed) == set(ANSWER_KEYS)
    # an extra key (what an earlier rubric asked for) is ignored, not an error
    assert (
        parse_judge_answer(GOOD.replace('"rationale"', '"contradicts_context": false, "rationale"'))["rationale"]
        == "ok"
    )


def test_prompt_sends_appendix_h_metadata(toy_records):
    import json as _json

    from polyalign_lf.judge.prompts import METADATA_FIELDS, judge_metadata

    record = dict(toy_records[0], meta={**toy_records[0].get("meta", {}), "source_id": "squad-57"})
    metadata = judge_metadata(record, {"model_key": "qwen25_1_5b", "stage": "bucket_sft"})
    assert list(metadata) == list(METADATA_FIELDS)  # Appendix H's fields, in its order
    assert METADATA_FIELDS[-3:] == ("source_id", "model_key", "stage")
    assert metadata["source_id"] == "squad-57" and metadata["model_key"] == "qwen25_1_5b"
    assert metadata["stage"] == "bucket_sft" and metadata["bucket_id"] == record["bucket_id"]
    user = build_judge_messages(record, "x", {"model_key": "qwen25_1_5b", "stage": "bucket_sft"})[-1]["content"]
    assert _json.dumps(metadata, ensure_ascii=False) in user
    blind = judge_metadata(record, {"model_key": "qwen25_1_5b", "stage": "bucket_sft"}, blind=True)
    assert "model_key" not in blind and "stage" not in blind and blind["source_id"] == "squad-57"
