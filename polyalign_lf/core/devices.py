"""The one device and dtype rule of every command and library function.

``--device`` unset (or ``auto``) means CUDA when this PyTorch sees a GPU, else the CPU; ``--dtype auto`` means
bfloat16 on a GPU that supports it, else float32 (float16 only when asked for: its range overflows in training
and long generations).
"""

from __future__ import annotations

from typing import Any

DTYPES = ("auto", "float32", "bfloat16", "float16")


def resolve_device(device: str | None) -> str:
    """``device`` itself, or for None/``auto`` ``cuda`` when a GPU is visible, else ``cpu``."""
    if device and device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str, device: str) -> Any:
    """The torch dtype of ``dtype`` (one of :data:`DTYPES`) for a model on ``device``."""
    import torch

    if dtype != "auto":
        return getattr(torch, dtype)
    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
