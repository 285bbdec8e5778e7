"""Which LLaMA-Factory versions polyalign-lf supports, and the hook points it needs.

The guard runs only when a PolyAlign recipe runs; plain LLaMA-Factory recipes never see it.
"""

from __future__ import annotations

import os

from polyalign_lf.errors import PolyalignError

SUPPORTED_LF = ">=0.9.5,<0.9.7"  # 0.9.6.dev0 (main) included

# (module, attribute) pairs the integration patches or subclasses.
HOOK_POINTS: tuple[tuple[str, str], ...] = (
    ("llamafactory.train.tuner", "get_train_args"),
    ("llamafactory.train.tuner", "run_sft"),
    ("llamafactory.train.tuner", "run_dpo"),
    ("llamafactory.data.parser", "DatasetAttr"),
    ("llamafactory.data.converter", "get_dataset_converter"),
    ("llamafactory.data.loader", "_get_dataset_processor"),
    ("llamafactory.data.loader", "split_dataset"),
    ("llamafactory.data.loader", "_load_single_dataset"),
    ("llamafactory.data.loader", "_get_preprocessed_dataset"),
    ("llamafactory.data.loader", "has_tokenized_data"),
    ("llamafactory.data.loader", "get_dataset_module"),
    ("llamafactory.train.dpo.workflow", "PairwiseDataCollatorWithPadding"),
    ("llamafactory.train.dpo.trainer", "CustomDPOTrainer"),
    ("llamafactory.train.sft.workflow", "SFTDataCollatorWith4DAttentionMask"),
    ("llamafactory.train.sft.workflow", "CustomSeq2SeqTrainer"),
)


class PolyalignCompatError(PolyalignError):
    """PolyAlign recipe on a LLaMA-Factory version or build the integration does not support."""


def lf_version() -> str | None:
    try:
        from llamafactory.extras.env import VERSION
    except Exception:
        return None
    return str(VERSION)


def version_supported(version: str | None) -> bool:
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    if version is None:
        return False
    try:
        return Version(version) in SpecifierSet(SUPPORTED_LF, prereleases=True)
    except InvalidVersion:
        return False


def missing_hook_points() -> list[str]:
    import importlib

    missing = []
    for module_name, attr in HOOK_POINTS:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # pragma: no cover - depends on the installation
            missing.append(f"{module_name} ({type(exc).__name__}: {exc})")
            continue
        if not hasattr(module, attr):
            missing.append(f"{module_name}.{attr}")
    return missing


def check_supported() -> None:
    """Raise :class:`PolyalignCompatError` with an actionable message if this LLaMA-Factory cannot run
    PolyAlign recipes."""
    version = lf_version()
    skip = os.environ.get("POLYALIGN_LF_SKIP_VERSION_CHECK", "0").strip().lower() in ("1", "true", "yes", "on")
    if not skip and not version_supported(version):
        raise PolyalignCompatError(
            f"polyalign-lf supports llamafactory {SUPPORTED_LF} but found {version or 'none'}. Install a supported "
            f"version (pip install 'llamafactory{SUPPORTED_LF}'), set POLYALIGN_LF_SKIP_VERSION_CHECK=1 to try "
            "anyway, or POLYALIGN_LF_DISABLE=1 to turn polyalign-lf off."
        )
    missing = missing_hook_points()
    if missing:
        raise PolyalignCompatError(
            f"this llamafactory ({version}) lacks hook points polyalign-lf needs: {', '.join(missing)}. Install "
            f"llamafactory{SUPPORTED_LF} or POLYALIGN_LF_DISABLE=1 to turn polyalign-lf off."
        )
