"""A model's tokenizer, built from the GGUF file's own vocabulary, and the check that a folder reproduces it.

transformers can load a GGUF tokenizer, but what it writes with ``save_pretrained`` does not survive a reload
(transformers 5.5.4, SmolLM2): the folder names ``CodeLlamaTokenizer``, the reloaded tokenizer turns every
space into ``<|endoftext|>``, Chinese into one unknown token, and takes ``<|im_start|>`` as eos; even in
memory it prepends a bos the GGUF says not to add. Training on it raises no error (a step-1 loss of 9.7
nats/token instead of ~2). So the tokenizer written here is built directly from the GGUF metadata — its
token list, merges, special tokens, pre-tokenizer and bos/eos/pad ids — with the ``tokenizers`` library,
and :func:`check_tokenizer` compares what ``AutoTokenizer`` reloads from the written folder with it on a
fixed set of strings before the folder is kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError

# Pre-tokenizer splits by the GGUF's `tokenizer.ggml.pre` (the same expressions llama.cpp and the models'
# own tokenizer.json files use). Unlisted ones are refused rather than guessed.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SUPPORTED_PRE = ("smollm", "qwen2")
CONTROL_TOKEN = 3  # GGUF token type of special (control) tokens

# The fixed strings every installed tokenizer must encode exactly as the GGUF vocabulary does.
CHECK_STRINGS: tuple[str, ...] = (
    "The capital of France is Paris.",
    "Hello world!  Two spaces, a\ttab and\nnew lines\n\n",
    "中国的首都是北京。你好，世界！",
    "def f(x):\n    return x ** 2  # squared\n",
    "Prices rose 12.5% in 2023 (from 1,024 to 1,152).",
    "emoji 🙂👍🏽 and accents: café naïve Ærø",
    "   leading and trailing spaces   ",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
)


@dataclass
class GGUFTokenizerInfo:
    """What a GGUF file says about its tokenizer."""

    tokens: list[str]
    merges: list[str]
    token_types: list[int]
    model: str
    pre: str
    bos_id: int | None
    eos_id: int | None
    pad_id: int | None
    unk_id: int | None
    add_bos: bool
    chat_template: str | None
    architecture: str
    context_length: int | None

    def token(self, index: int | None) -> str | None:
        return self.tokens[index] if index is not None and 0 <= index < len(self.tokens) else None


def _field(reader, key: str, default: Any = None) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return default
    value = field.contents()
    return value


def read_gguf_tokenizer(path: str | Path) -> GGUFTokenizerInfo:
    """The tokenizer metadata of a GGUF file (``gguf`` package)."""
    try:
        from gguf import GGUFReader
    except ImportError as exc:
        raise ConfigError(
            "reading a GGUF file needs the `gguf` package; install the models extra: pip install 'polyalign-lf[models]'"
        ) from exc
    try:
        reader = GGUFReader(str(path))
    except Exception as exc:  # a truncated or foreign file: gguf raises ValueError/struct errors
        raise ConfigError(f"{path} is not a readable GGUF file ({type(exc).__name__}: {exc})") from None
    architecture = str(_field(reader, "general.architecture", ""))
    return GGUFTokenizerInfo(
        tokens=list(_field(reader, "tokenizer.ggml.tokens", [])),
        merges=list(_field(reader, "tokenizer.ggml.merges", [])),
        token_types=[int(t) for t in _field(reader, "tokenizer.ggml.token_type", [])],
        model=str(_field(reader, "tokenizer.ggml.model", "")),
        pre=str(_field(reader, "tokenizer.ggml.pre", "")),
        bos_id=_field(reader, "tokenizer.ggml.bos_token_id"),
        eos_id=_field(reader, "tokenizer.ggml.eos_token_id"),
        pad_id=_field(reader, "tokenizer.ggml.padding_token_id"),
        unk_id=_field(reader, "tokenizer.ggml.unknown_token_id"),
        add_bos=bool(_field(reader, "tokenizer.ggml.add_bos_token", False)),
        chat_template=_field(reader, "tokenizer.chat_template"),
        architecture=architecture,
        context_length=_field(reader, f"{architecture}.context_length"),
    )


def build_tokenizer(info: GGUFTokenizerInfo):
    """A ``tokenizers.Tokenizer`` with the GGUF's byte-level BPE vocabulary, merges, pre-tokenizer and specials."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    if info.model != "gpt2":
        raise ConfigError(f"GGUF tokenizer model {info.model!r} is not supported (only byte-level BPE, 'gpt2')")
    if info.pre not in SUPPORTED_PRE:
        raise ConfigError(
            f"GGUF pre-tokenizer {info.pre!r} is not supported (supported: {', '.join(SUPPORTED_PRE)}); its "
            "splitting rules would have to be added to polyalign_lf/models/tokenizer.py"
        )
    vocab = {token: index for index, token in enumerate(info.tokens)}
    merges = [tuple(merge.split(" ", 1)) for merge in info.merges]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    if info.pre == "smollm":  # digits one by one, then GPT-2's split
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        )
    else:  # qwen2
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    tokenizer.decoder = decoders.ByteLevel()
    specials = [
        AddedToken(token, special=True, normalized=False)
        for token, kind in zip(info.tokens, info.token_types)
        if kind == CONTROL_TOKEN
    ]
    tokenizer.add_special_tokens(specials)
    if info.add_bos and info.token(info.bos_id):
        bos = info.token(info.bos_id)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, info.bos_id)]
        )
    return tokenizer


def expected_ids(info: GGUFTokenizerInfo, tokenizer=None) -> dict[str, list[int]]:
    """Token ids of :data:`CHECK_STRINGS` under the GGUF vocabulary (no special tokens added)."""
    tokenizer = tokenizer or build_tokenizer(info)
    return {text: tokenizer.encode(text, add_special_tokens=False).ids for text in CHECK_STRINGS}


def write_tokenizer(info: GGUFTokenizerInfo, folder: Path) -> None:
    """Save the GGUF's tokenizer as a ``PreTrainedTokenizerFast`` folder (tokenizer.json + config)."""
    from transformers import PreTrainedTokenizerFast

    specials = {
        name: info.token(index)
        for name, index in (
            ("bos_token", info.bos_id),
            ("eos_token", info.eos_id),
            ("pad_token", info.pad_id),
            ("unk_token", info.unk_id),
        )
        if info.token(index) is not None
    }
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(info),
        chat_template=info.chat_template,
        model_max_length=int(info.context_length or 2048),
        clean_up_tokenization_spaces=False,
        **specials,
    )
    fast.save_pretrained(str(folder))


def template_sha256(chat_template: str | None) -> str:
    """The fingerprint under which a model card records its chat template."""
    return hashlib.sha256((chat_template or "").encode("utf-8")).hexdigest()


def check_tokenizer(
    folder: str | Path, expected: dict[str, list[int]], specials: dict[str, int | None], chat_template_sha256: str
):
    """Reload ``folder`` with ``AutoTokenizer`` and list every way it differs from the GGUF's tokenizer (empty:
    it is the same). ``specials``: expected ``bos_token_id`` / ``eos_token_id`` / ``pad_token_id``;
    ``chat_template_sha256``: :func:`template_sha256` of the expected chat template."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:  # transformers raises many types for a broken folder
        return [f"AutoTokenizer cannot load it ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"]
    problems = []
    for text, ids in expected.items():
        got = tokenizer(text, add_special_tokens=False)["input_ids"]
        if list(got) != list(ids):
            problems.append(
                f"{text[:40]!r} encodes to {list(got)[:12]}{' …' if len(got) > 12 else ''} but the GGUF vocabulary "
                f"gives {list(ids)[:12]}{' …' if len(ids) > 12 else ''} ({type(tokenizer).__name__})"
            )
        elif tokenizer.decode(got) != text:
            problems.append(f"{text[:40]!r} does not decode back to itself: {tokenizer.decode(got)[:40]!r}")
    for name, value in specials.items():
        if value is not None and getattr(tokenizer, name, None) != value:
            problems.append(f"{name} is {getattr(tokenizer, name, None)} but the GGUF says {value}")
    if template_sha256(getattr(tokenizer, "chat_template", None)) != chat_template_sha256:
        problems.append("the chat template differs from the GGUF's")
    return problems
