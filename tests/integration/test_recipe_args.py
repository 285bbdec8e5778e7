"""Recipe keys: YAML and command-line forms, typed defaults, unknown keys, help, and the argument-level
refusals — through LLaMA-Factory's own (patched) get_train_args, in process (fast)."""

from __future__ import annotations

import pytest
from pa_integration_helpers import base_args, parse_in_process


def test_hook_is_active_in_this_interpreter():
    from llamafactory.train import tuner

    from polyalign_lf import _bootstrap

    assert _bootstrap.is_active()
    assert "polyalign" in _bootstrap.STATE["loaded"]
    assert getattr(tuner.get_train_args, "_polyalign", False)
    assert getattr(tuner.run_sft, "_polyalign", False) and getattr(tuner.run_dpo, "_polyalign", False)


def test_yaml_stage_hdpo_is_dpo_with_reference_model(tiny_model, pa_data, tmp_path):
    _, _, _, finetuning_args, _ = parse_in_process(
        base_args(tiny_model, pa_data, tmp_path, stage="hdpo", dataset="pref4")
    )
    assert finetuning_args.stage == "dpo" and finetuning_args.use_ref_model
    assert finetuning_args.polyalign_stage == "hdpo"
    assert finetuning_args.polyalign_args.hdpo_lambda == 0.1  # the documented default
    assert finetuning_args.polyalign_args.bucket_weighting == "false"
    assert not finetuning_args.polyalign_args.weights_from_buckets
    assert finetuning_args.polyalign_args.weight_normalization == "dataset"  # the unbiased default


def test_cli_form(tiny_model, pa_data, tmp_path):
    argv = [
        "--stage",
        "hdpo",
        "--hdpo_lambda",
        "0.25",
        "--model_name_or_path",
        str(tiny_model),
        "--dataset",
        "pref4",
        "--dataset_dir",
        str(pa_data),
        "--template",
        "qwen",
        "--output_dir",
        str(tmp_path),
        "--do_train",
        "true",
        "--finetuning_type",
        "full",
        "--use_cpu",
        "true",
        "--report_to",
        "none",
        "--weight_normalization=micro_batch",
    ]
    _, _, _, finetuning_args, _ = parse_in_process(argv)
    assert finetuning_args.stage == "dpo" and finetuning_args.polyalign_stage == "hdpo"
    assert finetuning_args.polyalign_args.hdpo_lambda == 0.25
    assert finetuning_args.polyalign_args.weight_normalization == "micro_batch"
    argv2 = [
        "--stage",
        "sft",
        "--bucket_weighting",
        "--model_name_or_path",
        str(tiny_model),
        "--dataset",
        "sft4",
        "--dataset_dir",
        str(pa_data),
        "--template",
        "qwen",
        "--output_dir",
        str(tmp_path),
        "--do_train",
        "true",
        "--use_cpu",
        "true",
        "--report_to",
        "none",
    ]
    _, _, _, finetuning_args, _ = parse_in_process(argv2)
    assert finetuning_args.polyalign_args.bucket_weighting == "true" and finetuning_args.stage == "sft"


def test_typed_values_from_yaml(tiny_model, pa_data, tmp_path):
    args = base_args(tiny_model, pa_data, tmp_path, bucket_weighting="true", weight_clip_max="5")
    _, _, _, finetuning_args, _ = parse_in_process(args)
    assert finetuning_args.polyalign_args.bucket_weighting == "true"
    assert finetuning_args.polyalign_args.weight_clip_max == 5.0


def test_unknown_keys_still_rejected(tiny_model, pa_data, tmp_path, capsys):
    with pytest.raises(ValueError, match="no_such_key"):
        parse_in_process(base_args(tiny_model, pa_data, tmp_path, stage="hdpo", dataset="pref4", no_such_key=0.1))
    # a misspelt PolyAlign key is named with its correction before LLaMA-Factory's parser sees it
    with pytest.raises(SystemExit):
        parse_in_process(base_args(tiny_model, pa_data, tmp_path, stage="hdpo", dataset="pref4", hdpo_lamda=0.1))
    assert "`hdpo_lamda` (did you mean `hdpo_lambda`?)" in capsys.readouterr().err


def test_plain_recipe_untouched(tiny_model, pa_data, tmp_path):
    from llamafactory.train import tuner

    args = base_args(tiny_model, pa_data, tmp_path, dataset="sft_plain")
    patched = parse_in_process(dict(args))
    original = tuner.get_train_args.__wrapped__(dict(args))
    assert not hasattr(patched[3], "polyalign_args")
    assert patched[3].to_dict() == original[3].to_dict()
    assert patched[1].to_dict() == original[1].to_dict()


def test_help_lists_polyalign_keys(capsys):
    with pytest.raises(SystemExit) as exc:
        parse_in_process(["-h"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for key in ("--hdpo_lambda", "--bucket_weighting", "--hdpo_critic", "--weight_normalization"):
        assert key in out


REFUSALS = [
    (dict(stage="hdpo", dataset="pref4", pref_loss="hinge"), "pref_loss"),
    (dict(stage="hdpo", dataset="pref4", pref_bco_weight=0.5), "pref_bco_weight"),
    (dict(bucket_weighting=True, packing=True), "packing"),
    (dict(bucket_weighting=True, neat_packing=True, packing=True), "packing"),
    (dict(bucket_weighting=True, use_dft_loss=True), "use_dft_loss"),
    (dict(bucket_weighting=True, use_eaft_loss=True), "use_eaft_loss"),
    (dict(stage="dpo", dataset="pref4", bucket_weighting=True), "stage 'dpo'"),
    (dict(hdpo_lambda=0.2), "only apply to `stage: hdpo`"),
    (dict(weight_normalization="micro_batch"), "bucket_weighting"),
    (dict(stage="hdpo", dataset="pref4", hdpo_lambda=-1.0), "hdpo_lambda must be"),
    (dict(stage="hdpo", dataset="pref4", hdpo_lambda=float("nan")), "hdpo_lambda must be"),
    (dict(stage="hdpo", dataset="pref4", hdpo_lambda=1e308), "in [0, 1000]"),
    (dict(bucket_weighting=True, weight_clip_max=1e300), "weight_clip_max must be a finite number in [0, 1e+06]"),
    (dict(bucket_weighting=True, weight_clip_min=3.0, weight_clip_max=1.0), "weight_clip_min"),
    (dict(stage="hdpo", dataset="pref4", hdpo_critic="/nonexistent/critic"), "not a critic bundle"),
    (dict(bucket_weighting=True, streaming=True, max_steps=1), "streaming"),
    (dict(bucket_weighting=True, bucket_table="/nonexistent/table.json"), "bucket_table"),
    (dict(bucket_weighting=True, weight_normalization="global"), "is not one of dataset, step, micro_batch"),
    (dict(bucket_weighting="maybe"), "is not one of false, true, uniform"),
    (dict(bucket_weighting=True, bucket_sampling=True, disable_shuffling=True), "disable_shuffling"),
    (
        dict(bucket_weighting=True, bucket_sampling=True, train_sampling_strategy="group_by_length"),
        "train_sampling_strategy: group_by_length",
    ),
    (
        dict(bucket_weighting=True, bucket_sampling=True, train_sampling_strategy="sequential"),
        "the sampler would silently override it",
    ),
    (dict(bucket_weighting=True, bucket_sampling=True, streaming=True, max_steps=1), "bucket_sampling draws"),
    (dict(bucket_weighting="uniform", weight_clip_max=2.0), "bucket_weighting: uniform"),
    (dict(bucket_weighting=True, bucket_sampling="often"), "is not a valid bool"),
    # misspelt PolyAlign keys and stages: "did you mean", before LLaMA-Factory's parser sees them
    (dict(stage="hdpo", dataset="pref4", **{"hdpo-lambda": 0.2}), "`hdpo-lambda` (did you mean `hdpo_lambda`?)"),
    (dict(bucket_weightings=True), "`bucket_weightings` (did you mean `bucket_weighting`?)"),
    (dict(Bucket_Sampling=True, bucket_weighting=True), "did you mean `bucket_sampling`"),
    (dict(stage="HDPO", dataset="pref4"), "did you mean `stage: hdpo`"),
]


@pytest.mark.parametrize("overrides,message", REFUSALS, ids=[m for _, m in REFUSALS])
def test_refusals(tiny_model, pa_data, tmp_path, capsys, overrides, message):
    with pytest.raises(SystemExit) as exc:
        parse_in_process(base_args(tiny_model, pa_data, tmp_path, **overrides))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "polyalign-lf: error:" in err and message in err, err


@pytest.mark.parametrize("env", ["USE_MCA", "USE_MEGATRON_BRIDGE"])
def test_refuses_mca_megatron(tiny_model, pa_data, tmp_path, capsys, monkeypatch, env):
    monkeypatch.setenv(env, "1")
    with pytest.raises(SystemExit) as exc:
        parse_in_process(base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True))
    assert exc.value.code == 2 and env in capsys.readouterr().err


def test_version_guard(tiny_model, pa_data, tmp_path, capsys, monkeypatch):
    import llamafactory.extras.env as lf_env

    monkeypatch.setattr(lf_env, "VERSION", "0.9.7")
    with pytest.raises(SystemExit):
        parse_in_process(base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True))
    err = capsys.readouterr().err
    assert "supports llamafactory >=0.9.5,<0.9.7 but found 0.9.7" in err and "POLYALIGN_LF_DISABLE=1" in err
    # ...while a plain recipe on the same "unsupported" version parses as usual
    parse_in_process(base_args(tiny_model, pa_data, tmp_path, dataset="sft_plain"))
    monkeypatch.setenv("POLYALIGN_LF_SKIP_VERSION_CHECK", "1")
    parse_in_process(base_args(tiny_model, pa_data, tmp_path, bucket_weighting=True))


def test_bucket_weighting_values(tiny_model, pa_data, tmp_path):
    for value, expected in ((True, "true"), ("yes", "true"), ("uniform", "uniform"), ("Uniform", "uniform")):
        _, _, _, finetuning_args, _ = parse_in_process(
            base_args(tiny_model, pa_data, tmp_path, bucket_weighting=value)
        )
        pa = finetuning_args.polyalign_args
        assert pa.bucket_weighting == expected and pa.bucket_sft
        assert pa.weights_from_buckets is (expected == "true")
    argv = [
        "--stage",
        "sft",
        "--bucket_weighting",
        "uniform",
        "--bucket_sampling",
        "--model_name_or_path",
        str(tiny_model),
        "--dataset",
        "sft4",
        "--dataset_dir",
        str(pa_data),
        "--template",
        "qwen",
        "--output_dir",
        str(tmp_path),
        "--do_train",
        "true",
        "--use_cpu",
        "true",
        "--report_to",
        "none",
    ]
    with pytest.raises(SystemExit):  # uniform weights leave nothing for the sampler to balance
        parse_in_process(argv)
    argv[3] = "true"
    _, _, _, finetuning_args, _ = parse_in_process(argv)
    assert finetuning_args.polyalign_args.bucket_sampling is True


def test_explicit_bucket_weighting_false_is_plain_llamafactory(tiny_model, pa_data, tmp_path):
    """`bucket_weighting: false` (the unweighted baseline on the same bucketed dataset) is LLaMA-Factory's own SFT."""
    from llamafactory.train import tuner

    args = base_args(tiny_model, pa_data, tmp_path, dataset="sft4", bucket_weighting=False)
    patched = parse_in_process(dict(args))
    assert not hasattr(patched[3], "polyalign_args")
    plain = dict(args)
    plain.pop("bucket_weighting")
    assert patched[3].to_dict() == tuner.get_train_args.__wrapped__(plain)[3].to_dict()
    cli = [
        "--stage",
        "sft",
        "--bucket_weighting",
        "false",
        "--model_name_or_path",
        str(tiny_model),
        "--dataset",
        "sft4",
        "--dataset_dir",
        str(pa_data),
        "--template",
        "qwen",
        "--output_dir",
        str(tmp_path),
        "--do_train",
        "true",
        "--use_cpu",
        "true",
        "--report_to",
        "none",
    ]
    assert not hasattr(parse_in_process(cli)[3], "polyalign_args")


def test_duplicate_recipe_key_is_refused(tiny_model, pa_data, tmp_path, capsys, monkeypatch):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("stage: hdpo\nhdpo_lambda: 0.1\ndataset: pref4\nhdpo_lambda: 5.0\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["llamafactory-cli", str(recipe)])
    with pytest.raises(SystemExit) as exc:
        parse_in_process(None)
    assert exc.value.code == 2
    assert "gives `hdpo_lambda` twice (lines 2 and 4)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "stage,dataset,message",
    [("hdpo", "sft4", "is not a preference dataset"), ("sft", "pref4", "is a preference dataset")],
)
def test_stage_and_dataset_kind_must_agree(tiny_model, pa_data, tmp_path, capsys, stage, dataset, message):
    from pa_integration_helpers import load_dataset_in_process

    from polyalign_lf.errors import ConfigError

    keys = {"stage": "hdpo"} if stage == "hdpo" else {"bucket_weighting": True}
    with pytest.raises(ConfigError, match=message):  # `llamafactory-cli train` prints it as a polyalign-lf error
        load_dataset_in_process(base_args(tiny_model, pa_data, tmp_path, dataset=dataset, **keys))
