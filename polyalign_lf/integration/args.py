"""Typed PolyAlign recipe keys, how they are split from LLaMA-Factory's own, and every refusal.

A recipe is a *PolyAlign recipe* when it says ``stage: hdpo`` or sets any key of
:class:`PolyAlignArguments`. Only then does anything here act: the keys are popped, ``stage: hdpo`` is
parsed by LLaMA-Factory as ``dpo`` (so the reference model, β and DPO's checks apply unchanged), and the
parsed result is validated and attached as ``finetuning_args.polyalign_args`` (the pattern LLaMA-Factory
itself uses for ``megatron_bridge_args``). Unknown keys are still rejected by LLaMA-Factory's parser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from polyalign_lf.errors import ConfigError

POLYALIGN_STAGES = {"hdpo": "dpo"}
MAX_HDPO_LAMBDA = 1e3  # our stage → the LLaMA-Factory stage it is parsed and dispatched as


@dataclass
class PolyAlignArguments:
    """PolyAlign recipe keys (added to ``llamafactory-cli train`` by polyalign-lf)."""

    hdpo_lambda: float = field(
        default=0.1,
        metadata={
            "help": "λ_hd of PolyAlign Eq. 10: weight of the HDPO critic regularizer R = p s(y+) + (1-p) s(y-) "
            "(stage: hdpo only)."
        },
    )
    bucket_weighting: Literal["false", "true", "uniform"] = field(
        default="false",
        metadata={
            "help": "Bucket-SFT (Eq. 1): `true` weights every example of bucket b by N/(|B| n_b), counted over "
            "the training set as LLaMA-Factory keeps it (an explicit `weight` column overrides; needs the "
            "`bucket_id` column). `uniform`: the same per-example token-mean loss with every weight 1 "
            "(the like-for-like baseline that isolates the weights). `false`: off."
        },
    )
    hdpo_critic: str | None = field(
        default=None,
        metadata={
            "help": "Critic bundle directory: preference rows without chosen_score/rejected_score are scored "
            "once at dataset-load time (stage: hdpo only)."
        },
    )
    hdpo_critic_batch_size: int = field(
        default=64, metadata={"help": "Batch size of the critic-scoring preprocessor."}
    )
    hdpo_probability_margin: Literal["policy", "reference_adjusted", "length_normalized"] = field(
        default="policy",
        metadata={
            "help": "Margin inside p = σ(β·margin) of the HDPO regularizer: `policy` = Δπ (paper default), "
            "`reference_adjusted` = Δπ − Δref, `length_normalized` = Δπ of per-token mean log-probs."
        },
    )
    weight_normalization: Literal["dataset", "step", "micro_batch"] = field(
        default="dataset",
        metadata={
            "help": "How an optimizer step estimates the weighted objective Σw·x/Σw of the whole training set. "
            "`dataset` (default, unbiased): Σ_step w·x / (m_step · w̄), m_step = examples in the step (all "
            "micro-batches and ranks), w̄ = mean weight of the training set. `step`: Σ_step w·x / Σ_step w "
            "(self-normalized: biased toward frequent buckets when weights are large). `micro_batch`: "
            "the same per micro-batch (weights cancel at batch size 1)."
        },
    )
    bucket_sampling: bool = field(
        default=False,
        metadata={
            "help": "Draw training examples with probability ∝ weight (every bucket equally likely under "
            "Bucket-SFT weights, uniform inside a bucket), N draws per epoch, and average the loss "
            "unweighted: every bucket gets N/|B| in expectation, and gradient clipping scales every bucket "
            "alike (it removes most of a rare bucket's mass under weighting). The grid's Bucket-SFT and HDPO "
            "use it. Deterministic under `seed`, sharded across ranks, resumable (also mid-epoch on 2+ ranks)."
        },
    )
    weight_clip_min: float | None = field(default=None, metadata={"help": "Clip example weights from below."})
    weight_clip_max: float | None = field(default=None, metadata={"help": "Clip example weights from above."})
    bucket_table: str | None = field(
        default=None,
        metadata={
            "help": "JSON file {bucket_id: weight} to use instead of counting buckets; a bucket id missing "
            "from it is an error."
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.bucket_weighting, bool):  # Python callers may pass a bool
            self.bucket_weighting = "true" if self.bucket_weighting else "false"
        if not math.isfinite(self.hdpo_lambda) or not 0 <= self.hdpo_lambda <= MAX_HDPO_LAMBDA:
            raise ConfigError(
                f"hdpo_lambda must be a finite number in [0, {MAX_HDPO_LAMBDA:g}], got {self.hdpo_lambda!r} "
                "(the paper's λ_hd is 0.1; a regularizer 1,000 times the DPO loss is a mistake)"
            )
        if self.hdpo_critic_batch_size < 1:
            raise ConfigError(f"hdpo_critic_batch_size must be >= 1, got {self.hdpo_critic_batch_size}")
        from polyalign_lf.objectives.weighting import MAX_WEIGHT

        for name in ("weight_clip_min", "weight_clip_max"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or not 0 <= value <= MAX_WEIGHT):
                raise ConfigError(f"{name} must be a finite number in [0, {MAX_WEIGHT:g}], got {value!r}")
        if (
            self.weight_clip_min is not None
            and self.weight_clip_max is not None
            and self.weight_clip_min > self.weight_clip_max
        ):
            raise ConfigError(f"weight_clip_min ({self.weight_clip_min}) > weight_clip_max ({self.weight_clip_max})")

    @property
    def weights_from_buckets(self) -> bool:
        """Bucket-SFT weights N/(|B| n_b) fill every example without an explicit weight."""
        return self.bucket_weighting == "true"

    @property
    def bucket_sft(self) -> bool:
        """The per-example token-mean loss of Eq. 1 (weighted, or `uniform`)."""
        return self.bucket_weighting in ("true", "uniform")


POLYALIGN_KEYS = frozenset(f.name for f in fields(PolyAlignArguments))
# Keys that may stand alone on the command line (`--bucket_weighting` means true).
_SWITCH_KEYS = frozenset(
    {f.name for f in fields(PolyAlignArguments) if f.type in (bool, "bool")} | {"bucket_weighting"}
)


@dataclass
class PolyAlignRecipe:
    """What the tuner patch needs: the parsed keys, the real stage and the LF-facing arguments."""

    args: PolyAlignArguments
    stage: str  # "hdpo" or "sft"
    lf_args: dict[str, Any] | list[str]
    explicit: set[str]
    plain: bool = False  # only `bucket_weighting: false` was given: run ``lf_args`` as plain LLaMA-Factory


def is_polyalign_dict(args: dict[str, Any]) -> bool:
    return str(args.get("stage", "")) in POLYALIGN_STAGES or any(key in args for key in POLYALIGN_KEYS)


def split_dict_args(args: dict[str, Any]) -> PolyAlignRecipe | None:
    """Pop PolyAlign keys from a YAML/JSON recipe dict; None when it is a plain LLaMA-Factory recipe."""
    if not is_polyalign_dict(args):
        return None
    lf_args = dict(args)
    ours = {key: lf_args.pop(key) for key in list(lf_args) if key in POLYALIGN_KEYS}
    stage = str(lf_args.get("stage", "sft"))
    if stage in POLYALIGN_STAGES:
        lf_args["stage"] = POLYALIGN_STAGES[stage]
    return _recipe(ours, stage, lf_args)


def _recipe(ours: dict[str, Any], stage: str, lf_args: dict[str, Any] | list[str]) -> PolyAlignRecipe:
    """Type the PolyAlign keys (one path for YAML and command line)."""
    from transformers import HfArgumentParser

    typed = {key: _coerce(key, value) for key, value in ours.items()}
    (parsed,) = HfArgumentParser(PolyAlignArguments).parse_dict(typed)
    # An explicit `bucket_weighting: false` (the unweighted baseline on the same bucketed data) is plain
    # LLaMA-Factory training, not a refusal.
    plain = stage not in POLYALIGN_STAGES and typed == {"bucket_weighting": "false"}
    return PolyAlignRecipe(parsed, stage, lf_args, set(ours), plain=plain)


_FIELD_KINDS = {f.name: str(f.type) for f in fields(PolyAlignArguments)}
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _coerce(key: str, value: Any) -> Any:
    """YAML values as the field's type (``"true"``/``"5"`` from string sources too), with a clear error."""
    kind = _FIELD_KINDS[key]
    if value is None and kind.startswith("Optional"):
        return None
    try:
        if kind == "bool":
            text = str(value).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError
        if "float" in kind:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "int":
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        if "Literal" in kind:
            allowed = [a.strip(" '\"") for a in kind[kind.index("[") + 1 : kind.rindex("]")].split(",")]
            text = str(value).strip().lower() if isinstance(value, (bool, str)) else str(value)
            if key == "bucket_weighting":  # a boolean switch that also takes `uniform`
                text = "true" if text in _TRUE else "false" if text in _FALSE else text
            if text not in allowed:
                raise ConfigError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
            return text
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: {value!r} is not a valid {kind.replace('typing.', '')}") from None


def _lf_keys() -> frozenset[str]:
    """Every key LLaMA-Factory's training parser knows (empty when its layout is not the expected one)."""
    try:
        from llamafactory.hparams.parser import _TRAIN_ARGS
    except ImportError:
        return frozenset()
    return frozenset(f.name for cls in _TRAIN_ARGS for f in fields(cls))


def _near_polyalign_key(key: str) -> str | None:
    """The PolyAlign key ``key`` was probably meant to be (hyphens, case, a letter or two off), or None."""
    import difflib

    if key in POLYALIGN_KEYS:
        return None
    normalized = key.strip().lower().replace("-", "_")
    if normalized in POLYALIGN_KEYS:
        return normalized
    close = difflib.get_close_matches(normalized, sorted(POLYALIGN_KEYS), n=1, cutoff=0.85)
    return close[0] if close else None


def check_key_spelling(keys: list[str], stage: Any) -> None:
    """Refuse a recipe key or stage that is a misspelt PolyAlign one ("did you mean"), before LLaMA-Factory's
    parser turns it into a traceback — or, worse, the recipe silently stops being a PolyAlign recipe."""
    known = _lf_keys()
    wrong = [(key, _near_polyalign_key(key)) for key in keys if key not in known]
    wrong = [(key, meant) for key, meant in wrong if meant]
    if wrong:
        raise ConfigError(
            "unknown recipe key(s) "
            + ", ".join(f"`{key}` (did you mean `{meant}`?)" for key, meant in wrong)
            + "; PolyAlign's keys are spelled with underscores: "
            + ", ".join(sorted(POLYALIGN_KEYS))
        )
    text = str(stage or "").strip()
    if text and text not in POLYALIGN_STAGES and text.lower() in POLYALIGN_STAGES:
        raise ConfigError(
            f"stage: {text} is not a stage (did you mean `stage: {text.lower()}`? stages are lower case)"
        )


def _load_yaml_refusing_duplicates(text: str):
    """YAML safe-loading that refuses a key given twice in one mapping (YAML loaders keep the last one)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise ConfigError(
                        f"the recipe gives `{key}` twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}); "
                        "YAML would silently keep the last one: remove one of them"
                    )
                seen[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep=deep)

    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass


def check_recipe_file(path: str | Path) -> None:
    """Refuse a YAML recipe with a duplicated key (a clear message instead of a parser traceback or a silent
    last-one-wins)."""
    import yaml

    try:
        _load_yaml_refusing_duplicates(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None


def split_cli_args(argv: list[str]) -> PolyAlignRecipe | None:
    """The command-line form: ``llamafactory-cli train --stage hdpo --hdpo_lambda 0.2 ...``."""
    ours: dict[str, Any] = {}
    rest: list[str] = []
    stage = None
    i = 0
    while i < len(argv):
        token = argv[i]
        name, eq, value = token[2:].partition("=") if token.startswith("--") else ("", "", "")
        if name == "stage":
            stage_value = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
            stage = stage_value
            mapped = POLYALIGN_STAGES.get(stage_value, stage_value)
            rest.extend([f"--stage={mapped}"] if eq else ["--stage", mapped])
            i += 1 if eq else 2
            continue
        if name in POLYALIGN_KEYS:
            if eq:
                ours[name] = value
                i += 1
            elif name in _SWITCH_KEYS and (i + 1 >= len(argv) or argv[i + 1].startswith("--")):
                ours[name] = "true"  # a bare switch, as argparse's boolean flags
                i += 1
            elif i + 1 < len(argv):
                ours[name] = argv[i + 1]
                i += 2
            else:
                raise ConfigError(f"--{name} needs a value")
            continue
        rest.append(token)
        i += 1
    if stage not in POLYALIGN_STAGES and not ours:
        return None
    return _recipe(ours, stage or "sft", rest)


def help_text() -> str:
    from transformers import HfArgumentParser

    parser = HfArgumentParser(PolyAlignArguments)
    parser.prog = "llamafactory-cli train (polyalign-lf keys)"
    parser.description = (
        "PolyAlign keys added by polyalign-lf; also `--stage hdpo` (parsed as dpo, with the "
        "HDPO trainer). See docs/integration.md."
    )
    return parser.format_help()


def validate(recipe: PolyAlignRecipe, model_args, data_args, training_args, finetuning_args) -> list[str]:
    """Refuse combinations that would silently change the PolyAlign objective. Returns warnings."""
    pa = recipe.args
    warnings: list[str] = []
    stage = recipe.stage
    if stage not in ("sft", "hdpo"):
        raise ConfigError(
            f"PolyAlign keys ({', '.join(sorted(recipe.explicit))}) were given with stage {stage!r}; they work with "
            "`stage: sft` + `bucket_weighting: true` (Bucket-SFT) or `stage: hdpo`",
        )
    if stage == "sft":
        hdpo_only = sorted(k for k in recipe.explicit if k.startswith("hdpo_"))
        if hdpo_only:
            raise ConfigError(f"{', '.join(hdpo_only)} only apply to `stage: hdpo` (this recipe has stage: sft)")
        if not pa.bucket_sft:
            raise ConfigError(
                "PolyAlign weighting keys were given with stage: sft but `bucket_weighting` is not true; "
                "set `bucket_weighting: true` (weights come from buckets or the `weight` column)"
            )
    if pa.bucket_weighting == "uniform":
        ignored = sorted(
            k
            for k in ("bucket_table", "weight_clip_min", "weight_clip_max", "bucket_sampling")
            if k in recipe.explicit and getattr(pa, k) not in (None, False)
        )
        if ignored:
            raise ConfigError(
                f"bucket_weighting: uniform sets every example weight to 1, so {', '.join(ignored)} "
                "would have no effect; remove it, or use `bucket_weighting: true`"
            )
    if pa.bucket_sampling:
        if data_args.streaming:
            raise ConfigError(
                "bucket_sampling draws examples by index from the whole training set, which a streamed "
                "dataset does not have; set `streaming: false`"
            )
        if getattr(finetuning_args, "disable_shuffling", False):
            raise ConfigError(
                "bucket_sampling chooses the order of training examples and disable_shuffling asks for "
                "the dataset order; remove one of them"
            )
        strategy = str(getattr(training_args, "train_sampling_strategy", "random") or "random")
        if strategy != "random" or getattr(training_args, "group_by_length", False):
            chosen = "group_by_length: true" if strategy == "random" else f"train_sampling_strategy: {strategy}"
            raise ConfigError(
                f"bucket_sampling chooses which examples a step holds (drawn ∝ weight), and {chosen} asks for "
                "another order; the sampler would silently override it. Remove one of them"
            )
        if "weight_normalization" in recipe.explicit:
            warnings.append(
                "bucket_sampling averages the loss unweighted (the weights are applied by drawing), so "
                "weight_normalization has no effect on training"
            )
    max_grad_norm = float(getattr(training_args, "max_grad_norm", 0) or 0)
    if pa.weights_from_buckets and not pa.bucket_sampling and max_grad_norm > 0:
        warnings.append(
            f"bucket_weighting without bucket_sampling: gradient clipping (max_grad_norm {max_grad_norm:g}) scales "
            "a whole step down, so a step that holds one heavily weighted example of a rare bucket keeps only a "
            "fraction of that example's mass — rare buckets then receive far less than their equal share N/|B| "
            "(benchmarks/bench_bucket_mass.py: under 2% for Table 1's rarest buckets). Set `bucket_sampling: true` "
            "(the grid's default; immune to clipping), or `max_grad_norm: 0` to keep Eq. 1 literal. The run's "
            "`polyalign_mass.json` reports what clipping removed"
        )
    if stage == "hdpo":
        if finetuning_args.pref_loss != "sigmoid":
            raise ConfigError(
                f"stage: hdpo is defined on sigmoid DPO (Eq. 8) but pref_loss is "
                f"{finetuning_args.pref_loss!r}; remove pref_loss or set `pref_loss: sigmoid`"
            )
        if finetuning_args.pref_bco_weight > 1e-6:
            raise ConfigError("stage: hdpo does not combine with pref_bco_weight (BCO changes the loss); set it to 0")
        if not finetuning_args.use_ref_model:
            raise ConfigError("stage: hdpo needs a reference model (internal error: use_ref_model is False)")
    if getattr(finetuning_args, "use_mca", False) or getattr(finetuning_args, "use_megatron_bridge", False):
        raise ConfigError(
            "PolyAlign recipes do not run on the MCA/Megatron paths (USE_MCA / use_mca / "
            "use_megatron_bridge); use the default (PyTorch/DeepSpeed) trainer"
        )
    if getattr(finetuning_args, "use_hyper_parallel", False):
        raise ConfigError("PolyAlign recipes do not run with use_hyper_parallel; turn it off")
    if getattr(model_args, "use_kt", False):
        raise ConfigError("PolyAlign recipes do not run with KTransformers (use_kt); turn it off")
    for flag in ("use_dft_loss", "use_eaft_loss", "use_asft_loss"):
        if getattr(finetuning_args, flag, False):
            raise ConfigError(
                f"{flag} changes how the SFT loss is normalized and cannot be combined with PolyAlign "
                "example weights; remove it"
            )
    if data_args.packing or data_args.neat_packing:
        raise ConfigError(
            "packing/neat_packing merge examples into one sequence, so per-example weights are lost; "
            "set `packing: false` and `neat_packing: false` for PolyAlign recipes"
        )
    if data_args.streaming and (pa.weights_from_buckets or pa.hdpo_critic or pa.bucket_table):
        raise ConfigError("bucket weighting and critic scoring need the whole training set; set `streaming: false`")
    if pa.hdpo_critic:
        if not (Path(pa.hdpo_critic) / "critic_config.json").is_file():
            raise ConfigError(
                f"hdpo_critic: {pa.hdpo_critic} is not a critic bundle (no critic_config.json); "
                "build one with `polyalign critic train`"
            )
    if pa.bucket_table:
        if not Path(pa.bucket_table).is_file():
            raise ConfigError(f"bucket_table: {pa.bucket_table} does not exist")
    if getattr(model_args, "enable_liger_kernel", False) and stage == "sft":
        warnings.append(
            "enable_liger_kernel: Bucket-SFT computes per-example losses from full logits, so Liger's "
            "fused cross-entropy memory saving does not apply"
        )
    return warnings
