"""The ``llamafactory.plugins`` entry point of polyalign-lf, the stage registry and the scoped swaps.

``register(tuner)`` is called by :mod:`polyalign_lf._bootstrap` right after ``llamafactory.train.tuner`` is
imported. It rebinds three names of that module (``get_train_args``, ``run_sft``, ``run_dpo``, all looked up
at call time by ``_training_function``, also in torchrun children and Ray workers). All three pass through
unchanged unless the recipe is a PolyAlign recipe; then:

1. ``get_train_args`` pops the PolyAlign keys, parses ``stage: hdpo`` as ``dpo`` (reference model, β, DPO's
   validation), runs the version guard and the refusals, and attaches ``finetuning_args.polyalign_args``;
2. ``run_sft`` / ``run_dpo`` run LLaMA-Factory's own workflow inside :func:`polyalign_run`, which swaps in
   our dataset attribute class, converter, processor and split wrappers, collator and trainer — and restores
   every one of them on exit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from polyalign_lf.errors import ConfigError, PolyalignError
from polyalign_lf.io import write_json


@dataclass(frozen=True)
class StageSpec:
    """A PolyAlign training mode: which LLaMA-Factory stage it runs as and which pieces it swaps."""

    name: str
    lf_stage: str
    collator: Callable[[], type]
    trainer: Callable[[], type]
    collator_target: tuple[str, str]
    trainer_target: tuple[str, str]


def _stage_registry() -> dict[str, StageSpec]:
    from polyalign_lf.integration.lf_v0 import collators, trainers

    return {
        "hdpo": StageSpec(
            "hdpo",
            "dpo",
            collators.pairwise_collator_class,
            trainers.hdpo_trainer_class,
            ("llamafactory.train.dpo.workflow", "PairwiseDataCollatorWithPadding"),
            ("llamafactory.train.dpo.trainer", "CustomDPOTrainer"),
        ),
        "sft": StageSpec(
            "sft",
            "sft",
            collators.sft_collator_class,
            trainers.bucket_sft_trainer_class,
            ("llamafactory.train.sft.workflow", "SFTDataCollatorWith4DAttentionMask"),
            ("llamafactory.train.sft.workflow", "CustomSeq2SeqTrainer"),
        ),
    }


def _fail(exc: PolyalignError) -> SystemExit:
    """Print a PolyAlign error as one clear message (no traceback) and exit with status 2."""
    sys.stderr.write(f"\npolyalign-lf: error: {exc}\n")
    sys.stderr.flush()
    return SystemExit(2)


def _env_enabled(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in ("1", "true", "yes", "on", "y")


def wrap_get_train_args(original):
    def get_train_args(args=None):
        from llamafactory.hparams import read_args

        from polyalign_lf.integration import args as pa_args_mod

        try:
            if args is None and len(sys.argv) > 1 and sys.argv[1].endswith((".yaml", ".yml")):
                pa_args_mod.check_recipe_file(sys.argv[1])
        except PolyalignError as exc:
            raise _fail(exc) from None
        raw = read_args(args)
        if isinstance(raw, list) and ("-h" in raw or "--help" in raw):
            print(pa_args_mod.help_text())
            return original(raw)
        try:
            if isinstance(raw, dict):
                pa_args_mod.check_key_spelling(list(raw), raw.get("stage"))
            else:
                flags = [t[2:].split("=", 1)[0] for t in raw if isinstance(t, str) and t.startswith("--")]
                stage = next((raw[i + 1] for i, t in enumerate(raw[:-1]) if t == "--stage"), None)
                pa_args_mod.check_key_spelling(flags, stage)
            recipe = (
                pa_args_mod.split_dict_args(raw) if isinstance(raw, dict) else pa_args_mod.split_cli_args(list(raw))
            )
        except PolyalignError as exc:
            raise _fail(exc) from None
        if recipe is None:  # a plain LLaMA-Factory recipe: untouched
            return original(raw)
        if recipe.plain:  # `bucket_weighting: false` alone: LLaMA-Factory's own training, key removed
            return original(recipe.lf_args)
        try:
            from polyalign_lf.integration.compat import check_supported

            check_supported()
            for env in ("USE_MCA", "USE_MEGATRON_BRIDGE"):
                if _env_enabled(env):
                    raise ConfigError(f"PolyAlign recipes do not run on the MCA/Megatron paths ({env}=1); unset it")
        except PolyalignError as exc:
            raise _fail(exc) from None
        model_args, data_args, training_args, finetuning_args, generating_args = original(recipe.lf_args)
        try:
            warnings = pa_args_mod.validate(recipe, model_args, data_args, training_args, finetuning_args)
            # LLaMA-Factory leaves packing None→(stage == "pt") in its parser; also refuse a data-side streaming.
            if data_args.streaming:
                raise ConfigError("PolyAlign recipes need a map-style dataset; set `streaming: false`")
        except PolyalignError as exc:
            raise _fail(exc) from None
        for warning in warnings:
            if training_args.should_log:
                sys.stderr.write(f"polyalign-lf: warning: {warning}\n")
        finetuning_args.polyalign_args = recipe.args
        finetuning_args.polyalign_stage = recipe.stage
        return model_args, data_args, training_args, finetuning_args, generating_args

    get_train_args.__wrapped__ = original
    get_train_args._polyalign = True
    return get_train_args


@contextmanager
def _swapped(targets: list[tuple[Any, str, Any]]):
    saved = [(module, name, getattr(module, name)) for module, name, _ in targets]
    try:
        for module, name, value in targets:
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)


@contextmanager
def polyalign_run(stage: str, model_args, data_args, training_args, finetuning_args):
    """Swap in PolyAlign's data hooks, collator and trainer for one LLaMA-Factory workflow call."""
    import importlib

    import llamafactory.data.converter as converter_mod
    import llamafactory.data.loader as loader_mod
    import llamafactory.data.parser as parser_mod

    from polyalign_lf.integration import model_card
    from polyalign_lf.integration.lf_v0 import columns, example_weights, splits, tokenized_cache

    spec = _stage_registry()[stage]
    collator_module = importlib.import_module(spec.collator_target[0])  # the stage's workflow module
    trainer_module = importlib.import_module(spec.trainer_target[0])
    # One context per run, handed to each wrapper: nothing of one run leaks into another.
    ctx = columns.RunContext(finetuning_args.polyalign_args, stage, data_args, training_args)
    finetuning_args.polyalign_context = ctx  # the trainer names buckets in its end-of-run report
    targets = [
        (parser_mod, "DatasetAttr", columns.dataset_attr_class(ctx)),
        (
            converter_mod,
            "get_dataset_converter",
            columns.wrap_get_dataset_converter(converter_mod.get_dataset_converter, ctx),
        ),
        (loader_mod, "_get_dataset_processor", columns.wrap_get_dataset_processor(loader_mod._get_dataset_processor)),
        (loader_mod, "split_dataset", splits.wrap_split_dataset(loader_mod.split_dataset, ctx)),
        (loader_mod, "_load_single_dataset", columns.wrap_load_single_dataset(loader_mod._load_single_dataset)),
        (
            loader_mod,
            "_get_preprocessed_dataset",
            example_weights.wrap_get_preprocessed_dataset(loader_mod._get_preprocessed_dataset, ctx),
        ),
        (
            loader_mod,
            "has_tokenized_data",
            tokenized_cache.wrap_has_tokenized_data(loader_mod.has_tokenized_data, ctx),
        ),
        (
            loader_mod,
            "get_dataset_module",
            tokenized_cache.wrap_get_dataset_module(loader_mod.get_dataset_module, ctx),
        ),
        (collator_module, spec.collator_target[1], spec.collator()),
        (
            collator_module,
            "create_modelcard_and_push",
            model_card.wrap_create_modelcard_and_push(collator_module.create_modelcard_and_push, stage),
        ),
        (trainer_module, spec.trainer_target[1], spec.trainer()),
    ]
    with _swapped(targets):
        yield ctx


def _recipe_types(args: dict) -> dict:
    """The arguments as a recipe writes them: ``bucket_weighting`` is a switch (true/false) that also takes
    ``uniform``, kept internally as a string."""
    weighting = args.get("bucket_weighting")
    if weighting in ("true", "false"):
        args = {**args, "bucket_weighting": weighting == "true"}
    return args


def _write_run_config(stage: str, training_args, finetuning_args) -> None:
    """LLaMA-Factory's own reports say ``stage: dpo``; record what really ran next to them."""

    from polyalign_lf import __version__
    from polyalign_lf.integration.compat import lf_version

    if not getattr(training_args, "should_save", False) or not training_args.output_dir:
        return
    os.makedirs(training_args.output_dir, exist_ok=True)
    write_json(
        os.path.join(training_args.output_dir, "polyalign_config.json"),
        {
            "stage": stage,
            "lf_stage": finetuning_args.stage,
            "polyalign_args": _recipe_types(asdict(finetuning_args.polyalign_args)),
            "pref_beta": finetuning_args.pref_beta,
            "polyalign_lf_version": __version__,
            "llamafactory_version": lf_version(),
        },
    )


def wrap_runner(original, expected_stage: str):
    def runner(model_args, data_args, training_args, finetuning_args, *rest, **kwargs):
        stage = getattr(finetuning_args, "polyalign_stage", None)
        if getattr(finetuning_args, "polyalign_args", None) is None or stage != expected_stage:
            return original(model_args, data_args, training_args, finetuning_args, *rest, **kwargs)
        try:
            _write_run_config(stage, training_args, finetuning_args)
            with polyalign_run(stage, model_args, data_args, training_args, finetuning_args):
                return original(model_args, data_args, training_args, finetuning_args, *rest, **kwargs)
        except PolyalignError as exc:
            raise _fail(exc) from None

    runner.__wrapped__ = original
    runner._polyalign = True
    return runner


def register(tuner: Any) -> None:
    """Entry point (group ``llamafactory.plugins``): patch ``llamafactory.train.tuner`` in place."""
    if getattr(tuner, "_polyalign_registered", False):
        return
    if getattr(tuner.get_train_args, "_polyalign", False):
        return
    tuner.get_train_args = wrap_get_train_args(tuner.get_train_args)
    tuner.run_sft = wrap_runner(tuner.run_sft, "sft")
    tuner.run_dpo = wrap_runner(tuner.run_dpo, "hdpo")
    tuner._polyalign_registered = True
