"""Tiny offline models for tests, the demo and CPU benchmarks (no Hugging Face Hub access).

``build_tiny_causal_lm(dir)`` writes a byte-level BPE tokenizer (any UTF-8 text, English and Chinese
alike, encodes without unknown tokens) with a Qwen-style chat template, and a randomly initialised
``Qwen2ForCausalLM`` of ~100k parameters. The directory loads with ``AutoTokenizer``/``AutoModelForCausalLM``
in transformers 4.x and 5.x and trains with LLaMA-Factory's ``template: qwen``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = [
    "The quick brown fox jumps over the lazy dog. What is the capital of France? Paris is the capital.",
    "Please answer the question briefly. I think it depends on the context, but usually yes.",
    "User: hello there! Assistant: Hi, how can I help you today? Thanks a lot, that was useful.",
    "Machine learning models learn patterns from data; evaluation measures how well they generalize.",
    "人工智能是计算机科学的一个分支。请简要回答这个问题。北京是中国的首都。",
    "你好！今天天气怎么样？我觉得还不错，谢谢你的帮助。这个问题的答案是：不一定。",
    "根据上下文，答案在第二段。我们需要更多的信息才能判断。",
    "1, 2, 3 ... numbers: 42, 2024, 3.14. Lists: - item one\n- item two\n1) first 2) second",
]


def _train_tokenizer(vocab_size: int, corpus=None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(corpus) if corpus is not None else _CORPUS * 4, trainer=trainer)
    return tokenizer


def build_tiny_causal_lm(
    out_dir: str | os.PathLike,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    intermediate_size: int = 128,
    vocab_size: int = 600,
    max_position_embeddings: int = 2048,
    seed: int = 0,
    corpus=None,
) -> Path:
    """Write a tiny random Qwen2 causal LM + tokenizer to ``out_dir`` (idempotent) and return the path.

    The tokenizer is trained on ``corpus`` (an iterable of texts) when given, else on a small built-in
    bilingual sample."""
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    if (out / "config.json").is_file() and (out / "tokenizer.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    raw = _train_tokenizer(vocab_size, corpus)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    # transformers 5 writes a tokenizer class name transformers 4 does not know; the generic fast class
    # loads in both.
    cfg_path = out / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    extra = cfg.pop("extra_special_tokens", None)
    if isinstance(extra, list):
        cfg["additional_special_tokens"] = extra
    cfg.setdefault("chat_template", QWEN_CHAT_TEMPLATE)
    cfg_path.write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    return out


def perturb_weights(
    model_dir: str | os.PathLike, out_dir: str | os.PathLike, scale: float = 0.02, seed: int = 1
) -> Path:
    """Copy a model with its weights slightly perturbed (e.g. a reference model that differs from the policy)."""

    import torch
    from transformers import AutoModelForCausalLM

    out = Path(out_dir)
    if (out / "config.json").is_file():
        return out
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=generator) * scale)
    model.save_pretrained(out, safe_serialization=True)
    for name in os.listdir(model_dir):
        if name.startswith("tokenizer") or name in (
            "special_tokens_map.json",
            "vocab.json",
            "merges.txt",
            "chat_template.jinja",
        ):
            shutil.copy(Path(model_dir) / name, out / name)
    return out


if __name__ == "__main__":
    print(build_tiny_causal_lm(sys.argv[1] if len(sys.argv) > 1 else "tiny_model"))
