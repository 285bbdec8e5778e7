"""The critic bundle interface (a contract between the critic, the HDPO scoring preprocessor and metrics).

A *critic bundle* is a directory with ``critic_config.json`` whose ``"type"`` names a critic class.
``load_critic(dir)`` returns an object with ``score(texts, bucket_ids) -> list[float]`` where **lower
means closer to the bucket's human support** (0 = inside it). Bucket ids are the records' string ids
(``language|track|family|length_bin``).

Critic types register themselves here by dotted path, so loading one never imports the others.
"""

from __future__ import annotations

import importlib
import os
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from polyalign_lf.core.registry import Registry
from polyalign_lf.errors import InputError
from polyalign_lf.io import read_json

CONFIG_NAME = "critic_config.json"


@runtime_checkable
class Critic(Protocol):
    def score(self, texts: Sequence[str], bucket_ids: Sequence[str]) -> list[float]:
        """Distance of each text to its bucket's human support; lower is closer."""


# type name -> "module:Class"; the class provides ``load(bundle_dir: Path, config: dict, device: str | None)``.
# Other packages add types with register_critic_type or the entry-point group ``polyalign_lf.critics``.
CRITIC_TYPES: Registry[str] = Registry("critic type", entry_point_group="polyalign_lf.critics")
for _name, _target in (
    ("support_distance", "polyalign_lf.critic.support_distance:SupportDistanceCritic"),
    ("mlp", "polyalign_lf.critic.mlp:MLPCritic"),
    ("encoder", "polyalign_lf.critic.encoder:EncoderCritic"),
):
    CRITIC_TYPES.register(_name, _target)


def register_critic_type(name: str, target: str) -> None:
    """Register another critic type (``"package.module:Class"``) so bundles of that type load."""
    CRITIC_TYPES.register(name, target, replace=True)


def read_critic_config(bundle_dir: str | os.PathLike) -> dict[str, Any]:
    bundle = Path(bundle_dir)
    config_path = bundle / CONFIG_NAME
    if not config_path.is_file():
        raise InputError(
            f"not a critic bundle (no {CONFIG_NAME})",
            where=str(bundle),
            hint="build one with `polyalign critic train` (or point hdpo_critic at its output directory)",
        )
    config = read_json(config_path)
    if not isinstance(config, dict) or "type" not in config:
        raise InputError('critic_config.json must be an object with a "type" field', where=str(config_path))
    return config


def load_torch_file(path: Path, device: Any) -> Any:
    """``torch.load`` of a bundle's weights (tensors only), a missing, truncated or corrupt file being an
    :class:`InputError` naming it."""

    import torch

    if not path.is_file():
        raise InputError(
            "the critic bundle has no weights file", where=str(path), hint="retrain it with `polyalign critic train`"
        )
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"cannot read the critic weights: the file is truncated or corrupt ({reason})",
            where=str(path),
            hint="retrain the critic with `polyalign critic train` (or copy the bundle again)",
        ) from None


def load_critic(bundle_dir: str | os.PathLike, device: str | None = None) -> Critic:
    """Load the critic bundle at ``bundle_dir`` (see module docstring)."""
    config = read_critic_config(bundle_dir)
    kind = config["type"]
    if kind not in CRITIC_TYPES:
        raise InputError(
            f"unknown critic type {kind!r}; known: {', '.join(sorted(CRITIC_TYPES))}",
            where=str(Path(bundle_dir) / CONFIG_NAME),
        )
    module_name, _, class_name = CRITIC_TYPES.get(kind).partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    critic = cls.load(Path(bundle_dir), config, device)
    _check_finite_weights(critic, bundle_dir)
    return critic


def _check_finite_weights(critic: Critic, bundle_dir: str | os.PathLike) -> None:
    """A critic whose weights hold NaN or inf would score every text NaN (and the scores would train HDPO)."""
    net = getattr(critic, "net", None)
    if net is None or not hasattr(net, "named_parameters"):
        return
    import torch

    for name, tensor in net.state_dict().items():
        if torch.is_floating_point(tensor) and not torch.isfinite(tensor).all():
            raise InputError(
                f"the critic's weights hold NaN or infinite values ({name})",
                where=str(bundle_dir),
                hint="the bundle is corrupted or its training diverged: retrain it with `polyalign critic train`",
            )
