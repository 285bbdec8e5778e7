"""PolyAlign in LlamaBoard (``llamafactory-cli webui``): the HDPO stage and the PolyAlign keys in the train tab.

``register(interface)`` is the ``llamafactory.webui_plugins`` entry point, called by
:mod:`polyalign_lf._bootstrap` right after ``llamafactory.webui.interface`` is imported (before ``create_ui``
builds the page). It changes nothing of LLaMA-Factory's files; in that process it

* adds ``HDPO`` to the stage menu (``TRAINING_STAGES``) and to the stages that list preference datasets;
* wraps ``create_train_tab`` so the train tab gets a "PolyAlign" accordion (``bucket_weighting``,
  ``hdpo_lambda``, ``hdpo_critic``, ``weight_normalization``, ``bucket_sampling``), shown for the stages it
  applies to and wired into the same inputs as LLaMA-Factory's own fields (so "Preview command", "Start",
  "Save arguments" and "Load arguments" all see them);
* wraps the runner's ``_initialize`` (refusals shown as LlamaBoard warnings) and ``_parse_train_args`` (the
  recipe keys, exactly those the YAML recipes of ``polyalign recipes export`` use).

The recipe keys themselves are built by :func:`polyalign_recipe_keys`, a plain function tested without gradio.
When a LlamaBoard version lacks one of the hook points, nothing is changed and :data:`STATUS` says why
(``polyalign doctor`` reports it).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, fields
from typing import Any

from polyalign_lf.integration.args import MAX_HDPO_LAMBDA, PolyAlignArguments

HDPO_LABEL = "HDPO"
SFT_STAGE, HDPO_STAGE = "sft", "hdpo"
# The train-tab fields, in display order; names are the recipe keys (and the LlamaBoard element ids
# ``train.<key>``, so saved LlamaBoard configs round-trip).
FIELDS = ("bucket_weighting", "hdpo_lambda", "hdpo_critic", "weight_normalization", "bucket_sampling")
_STAGES_OF = {
    "bucket_weighting": (SFT_STAGE, HDPO_STAGE),
    "hdpo_lambda": (HDPO_STAGE,),
    "hdpo_critic": (HDPO_STAGE,),
    "weight_normalization": (SFT_STAGE, HDPO_STAGE),
    "bucket_sampling": (SFT_STAGE, HDPO_STAGE),
}
_LABELS = {
    "polyalign_tab": ("PolyAlign (Bucket-SFT / HDPO)", "PolyAlign（Bucket-SFT / HDPO）"),
    "bucket_weighting": ("Bucket weighting", "分桶加权"),
    "hdpo_lambda": ("HDPO λ", "HDPO λ"),
    "hdpo_critic": ("Critic bundle", "评判器目录"),
    "weight_normalization": ("Weight normalization", "权重归一化"),
    "bucket_sampling": ("Bucket-balanced sampling", "分桶均衡采样"),
}
_ZH_INFO = {
    "bucket_weighting": "true：每个桶的样本权重为 N/(|B|·n_b)（Bucket-SFT）；uniform：权重全为 1；false：关闭。",
    "hdpo_lambda": "评判器正则项 R 的权重 λ_hd（仅 HDPO）。",
    "hdpo_critic": "polyalign critic train 生成的目录；未打分的偏好数据在加载时打分（仅 HDPO）。",
    "weight_normalization": "dataset（默认，无偏）/ step / micro_batch。",
    "bucket_sampling": "按权重抽样训练样本，损失不加权平均。",
}

STATUS: dict[str, Any] = {"registered": False, "reason": None}


def _defaults() -> dict[str, Any]:
    return {f.name: f.default for f in fields(PolyAlignArguments) if f.default is not MISSING}


def _help(name: str) -> str:
    return next(f.metadata.get("help", "") for f in fields(PolyAlignArguments) if f.name == name)


def fields_for_stage(stage: str) -> tuple[str, ...]:
    """The PolyAlign fields that apply to a LLaMA-Factory/PolyAlign stage (none for rm, ppo, kto, pt, dpo)."""
    return tuple(name for name in FIELDS if stage in _STAGES_OF[name])


def check_values(stage: str, values: dict[str, Any]) -> str | None:
    """A LlamaBoard-style message for values the recipe parser would refuse, or None when they are fine."""
    if stage not in (SFT_STAGE, HDPO_STAGE):
        return None
    defaults = _defaults()
    if stage == HDPO_STAGE:
        lam = values.get("hdpo_lambda")
        try:
            lam = float(lam)
        except (TypeError, ValueError):
            return f"HDPO λ must be a number >= 0, got {values.get('hdpo_lambda')!r}"
        if not math.isfinite(lam) or not 0 <= lam <= MAX_HDPO_LAMBDA:
            return f"HDPO λ must be a finite number >= 0 and <= {MAX_HDPO_LAMBDA:g}, got {lam!r}"
    bucket_weighting = str(values.get("bucket_weighting", "false"))
    if bucket_weighting not in ("false", "true", "uniform"):
        return f"Bucket weighting must be false, true or uniform, got {bucket_weighting!r}"
    if stage == SFT_STAGE and bucket_weighting == "false":
        changed = [
            name
            for name in ("weight_normalization", "bucket_sampling")
            if values.get(name, defaults[name]) != defaults[name]
        ]
        if changed:
            return f"{', '.join(changed)} only apply to Bucket-SFT: set Bucket weighting to true (or uniform)"
    if bucket_weighting == "uniform" and values.get("bucket_sampling"):
        return "Bucket-balanced sampling draws by weight, and uniform sets every weight to 1: choose one"
    return None


def polyalign_recipe_keys(stage: str, values: dict[str, Any]) -> dict[str, Any]:
    """The recipe keys LlamaBoard adds for ``stage`` from the train tab's PolyAlign ``values``.

    The same keys, spelled the same way, as the YAML recipes: ``bucket_weighting: true`` for Bucket-SFT,
    ``hdpo_lambda`` (always) and ``hdpo_critic`` (when set) for HDPO; ``weight_normalization`` and
    ``bucket_sampling`` only when they differ from their defaults. Nothing for other stages, and nothing for
    SFT without bucket weighting (plain LLaMA-Factory SFT).
    """
    if stage not in (SFT_STAGE, HDPO_STAGE):
        return {}
    defaults = _defaults()
    bucket_weighting = str(values.get("bucket_weighting", "false"))
    if stage == SFT_STAGE and bucket_weighting == "false":
        return {}
    keys: dict[str, Any] = {}
    if bucket_weighting != "false":
        keys["bucket_weighting"] = True if bucket_weighting == "true" else bucket_weighting
    if stage == HDPO_STAGE:
        keys["hdpo_lambda"] = float(values.get("hdpo_lambda", defaults["hdpo_lambda"]))
        critic = str(values.get("hdpo_critic") or "").strip()
        if critic:
            keys["hdpo_critic"] = critic
    normalization = values.get("weight_normalization") or defaults["weight_normalization"]
    if normalization != defaults["weight_normalization"]:
        keys["weight_normalization"] = normalization
    if values.get("bucket_sampling"):
        keys["bucket_sampling"] = True
    return keys


# ---------------------------------------------------------------------------------------------- LlamaBoard


def _locales() -> dict[str, dict[str, dict[str, str]]]:
    """LLaMA-Factory's locale entries for our elements (its languages; English where we have no text)."""
    out = {}
    for name, (en, zh) in _LABELS.items():
        en_entry = {"label": en} if name == "polyalign_tab" else {"label": en, "info": _help(name)}
        zh_entry = {"label": zh} if name == "polyalign_tab" else {"label": zh, "info": _ZH_INFO[name]}
        out[name] = {"en": en_entry, "zh": zh_entry, "ru": en_entry, "ko": en_entry, "ja": en_entry}
    return out


def _build_components(gr) -> dict[str, Any]:
    """The PolyAlign fields, created unrendered so they can join the train tab's inputs before it binds them."""
    defaults = _defaults()
    return {
        "bucket_weighting": gr.Dropdown(
            choices=["false", "true", "uniform"], value="false", render=False, elem_id="polyalign-bucket-weighting"
        ),
        # no `minimum`: gradio's own range message names no field; check_values says "HDPO λ must be …"
        "hdpo_lambda": gr.Number(value=defaults["hdpo_lambda"], render=False, elem_id="polyalign-hdpo-lambda"),
        "hdpo_critic": gr.Textbox(value="", render=False, elem_id="polyalign-hdpo-critic"),
        "weight_normalization": gr.Dropdown(
            choices=["dataset", "step", "micro_batch"],
            value=defaults["weight_normalization"],
            render=False,
            elem_id="polyalign-weight-normalization",
        ),
        "bucket_sampling": gr.Checkbox(value=False, render=False, elem_id="polyalign-bucket-sampling"),
    }


def _stage_of(label: str) -> str | None:
    from llamafactory.extras.constants import TRAINING_STAGES

    return TRAINING_STAGES.get(label)


def _place_after(block, anchor) -> None:
    """Move ``block`` right after ``anchor`` among their parent's children (before the page is rendered): the
    PolyAlign panel sits with the configuration panels, after RLHF, above Start. Left where it is (the end of
    the tab) if the layout is not the one expected."""
    parent = getattr(block, "parent", None)
    children = getattr(parent, "children", None)
    if anchor is None or not isinstance(children, list) or getattr(anchor, "parent", None) is not parent:
        return
    children.remove(block)
    children.insert(children.index(anchor) + 1, block)


def wrap_create_train_tab(original):
    import gradio as gr

    def create_train_tab(engine):
        manager = engine.manager
        components = _build_components(gr)
        base_elems = manager.get_base_elems
        # LLaMA-Factory's train tab binds its buttons to ``get_base_elems() | its own fields``: our fields
        # join that set for the duration of the call, so every button sees them.
        manager.get_base_elems = lambda: base_elems() | set(components.values())
        try:
            elem_dict = original(engine)
        finally:
            del manager.get_base_elems  # back to the class's method
        with gr.Accordion(open=True, visible=False, elem_id="polyalign-tab") as polyalign_tab:
            with gr.Row():
                for component in components.values():
                    component.render()
        _place_after(polyalign_tab, elem_dict.get("rlhf_tab"))

        def show_for_stage(label):
            stage = _stage_of(label)
            shown = fields_for_stage(stage) if stage else ()
            return [gr.Accordion(visible=bool(shown))] + [gr.update(visible=name in shown) for name in components]

        elem_dict["training_stage"].change(
            show_for_stage, [elem_dict["training_stage"]], [polyalign_tab, *components.values()], queue=False
        )
        elem_dict.update(polyalign_tab=polyalign_tab, **components)
        return elem_dict

    create_train_tab.__wrapped__ = original
    create_train_tab._polyalign = True
    return create_train_tab


def _values(runner, data) -> tuple[str | None, dict[str, Any]]:
    get = lambda elem_id: data[runner.manager.get_elem_by_id(elem_id)]  # noqa: E731 (LlamaBoard's idiom)
    return _stage_of(get("train.training_stage")), {name: get(f"train.{name}") for name in FIELDS}


def wrap_initialize(original):
    def _initialize(self, data, do_train, from_preview):
        error = original(self, data, do_train, from_preview)
        if error or not do_train:
            return error
        stage, values = _values(self, data)
        message = check_values(stage, values)
        return f"PolyAlign: {message}" if message else ""

    _initialize.__wrapped__ = original
    return _initialize


def wrap_parse_train_args(original):
    def _parse_train_args(self, data):
        args = original(self, data)
        stage, values = _values(self, data)
        if stage == HDPO_STAGE:
            # HDPO is DPO with a regularizer: the same preference keys LlamaBoard writes for DPO.
            get = lambda elem_id: data[self.manager.get_elem_by_id(elem_id)]  # noqa: E731
            args["pref_beta"] = get("train.pref_beta")
            args["pref_ftx"] = get("train.pref_ftx")
            args["pref_loss"] = get("train.pref_loss")
        args.update(polyalign_recipe_keys(stage, values))
        return args

    _parse_train_args.__wrapped__ = original
    return _parse_train_args


def _hook_points(interface) -> tuple[Any, ...]:
    """Everything the LlamaBoard hooks need; raises AttributeError/ImportError naming what a version lacks."""
    from llamafactory.extras import constants
    from llamafactory.webui import locales, runner

    needed = [
        (interface, "create_train_tab"),
        (constants, "TRAINING_STAGES"),
        (constants, "STAGES_USE_PAIR_DATA"),
        (locales, "LOCALES"),
        (runner.Runner, "_parse_train_args"),
        (runner.Runner, "_initialize"),
    ]
    missing = [f"{getattr(owner, '__name__', owner)}.{name}" for owner, name in needed if not hasattr(owner, name)]
    if missing:
        raise AttributeError(f"this LlamaBoard has no {', '.join(missing)}")
    return constants, locales, runner.Runner


def register(interface: Any) -> None:
    """Entry point (group ``llamafactory.webui_plugins``): add HDPO and the PolyAlign keys to LlamaBoard."""
    if getattr(getattr(interface, "create_train_tab", None), "_polyalign", False):
        return
    try:
        constants, locales, runner_cls = _hook_points(interface)
    except (AttributeError, ImportError) as exc:
        STATUS.update(registered=False, reason=str(exc))
        raise
    constants.TRAINING_STAGES[HDPO_LABEL] = HDPO_STAGE
    constants.STAGES_USE_PAIR_DATA.add(HDPO_STAGE)
    for name, entry in _locales().items():
        locales.LOCALES.setdefault(name, entry)
    runner_cls._initialize = wrap_initialize(runner_cls._initialize)
    runner_cls._parse_train_args = wrap_parse_train_args(runner_cls._parse_train_args)
    interface.create_train_tab = wrap_create_train_tab(interface.create_train_tab)
    STATUS.update(registered=True, reason=None)
