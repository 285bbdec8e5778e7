"""The LLaMA-Factory entry points of polyalign-lf (groups ``llamafactory.plugins`` and
``llamafactory.webui_plugins``, also called by :mod:`polyalign_lf._bootstrap`).

They are version-agnostic: each hands over to the patches written for the installed LLaMA-Factory's generation.
Today that is :mod:`polyalign_lf.integration.lf_v0` (LLaMA-Factory 0.9.x and main's v0 trainers: ``run_sft`` /
``run_dpo`` in ``llamafactory.train.tuner``, the v0 data pipeline and LlamaBoard). LLaMA-Factory main's v1 trainer
is a different API (docs/integration.md says what a port must respect); a ``lf_v1`` package would sit beside
``lf_v0`` and be chosen here.
"""

from __future__ import annotations

from typing import Any


def register(tuner: Any) -> None:
    """``llamafactory.plugins`` entry point: patch ``llamafactory.train.tuner`` (Bucket-SFT, ``stage: hdpo``)."""
    from polyalign_lf.integration.lf_v0.plugin import register as register_v0

    register_v0(tuner)


def register_webui(interface: Any) -> None:
    """``llamafactory.webui_plugins`` entry point: HDPO and the PolyAlign keys in LlamaBoard's train tab."""
    from polyalign_lf.integration.lf_v0.webui import register as register_v0

    register_v0(interface)
