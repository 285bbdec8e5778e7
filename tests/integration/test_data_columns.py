"""Columns through converter → weights/scores → processor (in process, no model): Bucket-SFT weights over
the merged training set, explicit weights, clipping, the critic-scoring preprocessor and data refusals."""

from __future__ import annotations

import json

import pytest
from pa_integration_helpers import (
    PREF_ROWS,
    SFT_ROWS,
    LengthCritic,
    base_args,
    load_dataset_in_process,
    naive_bucket_weights,
)


def _train(module):
    return module["train_dataset"]


def test_bucket_weights_reach_the_processed_rows(tiny_model, pa_data, tmp_path):
    data = _train(load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True)))
    expected = naive_bucket_weights([r["bucket_id"] for r in SFT_ROWS])
    assert data["pa_weight"] == pytest.approx(expected)
    assert expected == pytest.approx([2 / 3, 2 / 3, 2 / 3, 2.0])
    assert sorted(set(data["pa_bucket"])) == [0, 1]  # string bucket ids mapped to ints
    assert {"input_ids", "labels", "pa_score_chosen", "pa_score_rejected"} <= set(data.column_names)


def test_bucket_weights_count_the_merged_training_set(tiny_model, pa_data, tmp_path):
    # sft4 twice (two dataset entries): counts double, weights stay N/(|B| n_b) over all 8 rows
    args = base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True, dataset="sft4,sft4_weighted")
    data = _train(load_dataset_in_process(args))
    assert data["pa_weight"] == pytest.approx(naive_bucket_weights([r["bucket_id"] for r in SFT_ROWS] * 2))


def test_explicit_weight_overrides_and_clipping(tiny_model, pa_data, tmp_path):
    args = base_args(tiny_model, pa_data, tmp_path, stage="hdpo", dataset="pref4", weight_clip_max=2.5)
    data = _train(load_dataset_in_process(args))
    assert data["pa_weight"] == pytest.approx([min(r["weight"], 2.5) for r in PREF_ROWS])
    assert data["pa_score_chosen"] == pytest.approx([r["chosen_score"] for r in PREF_ROWS])
    assert data["pa_score_rejected"] == pytest.approx([r["rejected_score"] for r in PREF_ROWS])


def test_rows_dropped_by_llamafactory_keep_their_own_weights(tiny_model, pa_data, tmp_path):
    # row 2 has no rejected answer: LLaMA-Factory's pairwise processor drops it; the others keep theirs
    data = _train(
        load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path, stage="hdpo", dataset="pref_invalid"))
    )
    kept = [r for i, r in enumerate(PREF_ROWS) if i != 2]
    assert len(data) == 3
    assert data["pa_weight"] == pytest.approx([r["weight"] for r in kept])
    assert data["pa_score_rejected"] == pytest.approx([r["rejected_score"] for r in kept])


def test_rows_dropped_by_llamafactory_count_in_no_bucket(tiny_model, pa_data, tmp_path):
    # row 0 (bucket A) has an empty answer and is dropped: the kept rows A, A, B give w_A = 3/(2·2), w_B = 3/(2·1)
    data = _train(
        load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True, dataset="sft_invalid"))
    )
    assert len(data) == 3
    assert data["pa_weight"] == pytest.approx(naive_bucket_weights([r["bucket_id"] for r in SFT_ROWS[1:]]))
    assert data["pa_weight"] == pytest.approx([0.75, 0.75, 1.5])
    assert data["pa_index"] == [1, 2, 3]  # row numbers of the split before LLaMA-Factory's drop


def test_uniform_weighting_sets_every_weight_to_one(tiny_model, pa_data, tmp_path):
    data = _train(
        load_dataset_in_process(
            base_args(tiny_model, pa_data, tmp_path, bucket_weighting="uniform", dataset="sft4,sft_plain")
        )
    )
    assert data["pa_weight"] == [1.0] * 8  # bucket weighting would give 2/3 and 2 on these rows


def test_unmasked_multi_turn_history_is_warned(tiny_model, pa_data, tmp_path, capsys):
    load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True, dataset="sft_multi"))
    err = capsys.readouterr().err
    assert "2 of 4 training rows are multi-turn" in err and "`mask_history: true`" in err
    load_dataset_in_process(
        base_args(
            tiny_model, pa_data, tmp_path / "masked", bucket_weighting=True, dataset="sft_multi", mask_history=True
        )
    )
    assert "multi-turn" not in capsys.readouterr().err
    load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path / "single", bucket_weighting=True))
    assert "multi-turn" not in capsys.readouterr().err  # single-turn rows: nothing to mask


def test_bucket_sampling_refuses_a_bucket_that_can_never_be_drawn(tiny_model, pa_data, tmp_path):
    from polyalign_lf.errors import InputError

    table = tmp_path / "table.json"
    table.write_text(json.dumps({"en|qa|wiki|short": 0.0, "zh|qa|wiki|long": 4.0}))
    with pytest.raises(InputError, match="would never be drawn") as exc:
        load_dataset_in_process(
            base_args(
                tiny_model, pa_data, tmp_path, bucket_weighting=True, bucket_sampling=True, bucket_table=str(table)
            )
        )
    assert "en|qa|wiki|short" in str(exc.value)
    # without sampling a zero-weight bucket is allowed (its rows just do not count) ...
    load_dataset_in_process(
        base_args(tiny_model, pa_data, tmp_path / "w", bucket_weighting=True, bucket_table=str(table))
    )
    # ... but a training set whose every weight is 0 is not
    table.write_text(json.dumps({"en|qa|wiki|short": 0.0, "zh|qa|wiki|long": 0.0}))
    with pytest.raises(InputError, match="every training example has weight 0"):
        load_dataset_in_process(
            base_args(tiny_model, pa_data, tmp_path / "z", bucket_weighting=True, bucket_table=str(table))
        )


def test_bucket_table_file(tiny_model, pa_data, tmp_path):
    table = tmp_path / "table.json"
    table.write_text(json.dumps({"en|qa|wiki|short": 0.5, "zh|qa|wiki|long": 4.0}))
    data = _train(
        load_dataset_in_process(
            base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True, bucket_table=str(table))
        )
    )
    assert data["pa_weight"] == pytest.approx([0.5, 0.5, 0.5, 4.0])
    table.write_text(json.dumps({"en|qa|wiki|short": 0.5}))
    from polyalign_lf.errors import InputError

    with pytest.raises(InputError, match="unknown bucket id 'zh|qa|wiki|long'"):
        load_dataset_in_process(
            base_args(tiny_model, pa_data, tmp_path / "b", bucket_weighting=True, bucket_table=str(table))
        )


def _critic_bundle(tmp_path):
    from polyalign_lf.critic.interface import register_critic_type

    register_critic_type("test_length", "pa_integration_helpers:LengthCritic")
    bundle = tmp_path / "critic"
    bundle.mkdir()
    (bundle / "critic_config.json").write_text(json.dumps({"type": "test_length"}))
    return bundle


def test_critic_scores_unscored_pairs_once_and_caches_with_tokenized_path(tiny_model, pa_data, tmp_path):
    bundle = _critic_bundle(tmp_path)
    tokenized = tmp_path / "tokenized"
    args = base_args(
        tiny_model,
        pa_data,
        tmp_path,
        stage="hdpo",
        dataset="pref_unscored",
        hdpo_critic=str(bundle),
        hdpo_critic_batch_size=8,
        tokenized_path=str(tokenized),
    )
    LengthCritic.calls.clear()
    data = _train(load_dataset_in_process(dict(args)))
    assert LengthCritic.calls == [4]  # rows 1 and 3 lack both scores: one batched call with 4 texts
    for i, row in enumerate(PREF_ROWS):
        if i % 2:
            expected_c = len(row["chosen"]) / 10 + (1.0 if row["bucket_id"] == "zh|qa|wiki|short" else 0.0)
            expected_r = len(row["rejected"]) / 10 + (1.0 if row["bucket_id"] == "zh|qa|wiki|short" else 0.0)
        else:
            expected_c, expected_r = row["chosen_score"], row["rejected_score"]
        assert data["pa_score_chosen"][i] == pytest.approx(expected_c)
        assert data["pa_score_rejected"][i] == pytest.approx(expected_r)
    LengthCritic.calls.clear()
    again = _train(load_dataset_in_process(dict(args)))  # loaded from tokenized_path: no re-scoring
    assert LengthCritic.calls == []
    assert again["pa_score_chosen"] == data["pa_score_chosen"]


DATA_REFUSALS = [
    (dict(bucket_weighting=True, dataset="sft_plain"), "ConfigError", "no dataset (sft4.json) maps a `bucket_id`"),
    # two entries on one file, one mapping bucket_id: the unmapped one is named, whichever comes first
    (dict(bucket_weighting=True, dataset="sft4,sft_plain"), "ConfigError", "entry for sft4.json maps neither"),
    (dict(bucket_weighting=True, dataset="sft_plain,sft4"), "ConfigError", "entry for sft4.json maps neither"),
    (dict(stage="hdpo", dataset="pref_plain"), "ConfigError", "needs critic scores"),
    (dict(stage="hdpo", dataset="pref_plain", hdpo_lambda=0.0), "ConfigError", "is plain DPO"),
    (dict(stage="hdpo", dataset="pref_unscored"), "InputError", "2 training preference pair(s) have no chosen_score"),
    (dict(bucket_weighting=True, dataset="sft_neg"), "InputError", "is negative"),
    (dict(bucket_weighting=True, dataset="sft_null_weight"), "InputError", "weight is missing (null or empty)"),
    (dict(bucket_weighting=True, dataset="sft_nan_weight"), "InputError", "weight is missing (null or empty)"),
    (dict(stage="hdpo", dataset="pref_nan_weight"), "InputError", "weight nan is not finite"),
    (dict(stage="hdpo", dataset="pref_string_weight"), "InputError", "weight '1.0' is not a number"),
    (dict(stage="hdpo", dataset="pref_huge_weight"), "InputError", "weight 1e+300 is beyond the plausible range"),
    (dict(stage="hdpo", dataset="pref_huge_score"), "InputError", "rejected_score -1e+300 is beyond the plausible"),
    (
        dict(stage="hdpo", dataset="pref_mixed_weight"),
        "ConfigError",
        "dataset 'pref_mixed_weight.jsonl' cannot be read by `datasets`: JSON parse error: Column(/weight) changed",
    ),
    (dict(bucket_weighting=True, dataset="sft_typo"), "InputError", "column 'bucket' (mapped as 'bucket_id'"),
    (dict(bucket_weighting=True, dataset="sft_bad_bucket"), "InputError", "bucket_id 'hello world' has 1 part(s)"),
    (dict(bucket_weighting=True, dataset="sft_int_bucket"), "InputError", "bucket_id 7 is a int, not a string"),
    (
        dict(
            bucket_weighting=True, eval_dataset="sft_eval_unknown", do_eval=True, eval_strategy="steps", eval_steps=1
        ),
        "InputError",
        "unknown bucket id 'fr|qa|wiki|short' in the evaluation data",
    ),
]


@pytest.mark.parametrize("overrides,kind,message", DATA_REFUSALS, ids=[m[:30] for _, _, m in DATA_REFUSALS])
def test_data_refusals(tiny_model, pa_data, tmp_path, overrides, kind, message):
    from polyalign_lf import errors

    with pytest.raises(getattr(errors, kind)) as exc:
        load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path, **overrides))
    assert message in str(exc.value)


@pytest.mark.parametrize("stage, dataset", [("sft", "sft4"), ("hdpo", "pref4")])
def test_parallel_preprocessing_keeps_the_columns(tiny_model, pa_data, tmp_path, stage, dataset):
    """`preprocessing_num_workers > 1` (every grid recipe uses 16) pickles the processor into worker processes:
    the rows and PolyAlign columns must come out exactly as with one worker."""
    results = []
    for workers in (1, 2):
        args = base_args(
            tiny_model,
            pa_data,
            tmp_path / f"w{workers}",
            stage=stage,
            dataset=dataset,
            bucket_weighting=True,
            preprocessing_num_workers=workers,
        )
        data = _train(load_dataset_in_process(args))
        results.append({name: data[name] for name in data.column_names})
    assert results[0] == results[1]
    assert any(name.startswith("pa_") for name in results[1])


def test_hdpo_drops_pairs_whose_chosen_equals_rejected(tiny_model, pa_data, tmp_path, capsys):
    """Pair 2 of 4 rejects its own chosen answer (upper-cased, a space and a zero-width space added): dropped and
    counted before tokenization, never trained on."""
    data = load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path, stage="hdpo", dataset="pref_identical"))
    train = data["train_dataset"]
    assert len(train) == 3
    assert sorted(train["pa_weight"]) == sorted(r["weight"] for i, r in enumerate(PREF_ROWS) if i != 1)
    assert "dropped 1 of 4 training preference pair(s) whose chosen and rejected answers are the same" in (
        capsys.readouterr().err
    )
