"""A synthetic bilingual corpus whose human support is known by construction (tests and benchmarks).

Human answers of every bucket come from one generator (a few plain sentences of moderate length).
Each prompt also gets model outputs: *in-support* ones drawn from the same generator, and *off-support*
ones from a different regime (far too long, a bullet list, shouting, or degenerate repetition). A good
critic must score in-support outputs below off-support outputs of the same prompt.
"""

from __future__ import annotations

import random

from polyalign_lf.data.schema import make_bucket_id

EN_WORDS = (
    "the answer depends on several factors such as time cost quality and the context in which a person "
    "makes decisions about health travel money work family food weather history science music language"
).split()
ZH_WORDS = (
    "答案 取决于 很多 因素 比如 时间 成本 质量 以及 具体 情况 人们 在 生活 中 做出 决定 健康 旅行 金钱 工作 "
    "家庭 食物 天气 历史 科学 音乐 语言 重要 问题"
).split()
OFF_SUPPORT_MODES = ("long", "list", "shout", "repeat")
FAMILIES = (("single", "qa"), ("single", "assistant"), ("multi", "dialogue"))


def _sentence(rng: random.Random, lang: str, n_words: int) -> str:
    if lang == "zh":
        return "".join(rng.choice(ZH_WORDS) for _ in range(n_words)) + rng.choice("。。。，")[:1].replace("，", "。")
    words = [rng.choice(EN_WORDS) for _ in range(n_words)]
    return " ".join(words).capitalize() + "."


def human_like(rng: random.Random, lang: str) -> str:
    """A response from the human regime: 1–3 plain sentences of 6–12 words."""
    joiner = "" if lang == "zh" else " "
    return joiner.join(_sentence(rng, lang, rng.randint(6, 12)) for _ in range(rng.randint(1, 3)))


def off_support(rng: random.Random, lang: str, mode: str) -> str:
    """A response from one of the non-human regimes (``OFF_SUPPORT_MODES``)."""
    joiner = "" if lang == "zh" else " "
    words = ZH_WORDS if lang == "zh" else EN_WORDS
    if mode == "long":
        return joiner.join(_sentence(rng, lang, rng.randint(18, 30)) for _ in range(rng.randint(9, 14)))
    if mode == "list":
        return "\n".join(
            f"- {joiner.join(rng.choice(words) for _ in range(rng.randint(2, 4)))}" for _ in range(rng.randint(5, 8))
        )
    if mode == "shout":
        bang = "！！！" if lang == "zh" else "!!!"
        return joiner.join(
            (joiner.join(rng.choice(words) for _ in range(rng.randint(3, 6)))).upper() + bang
            for _ in range(rng.randint(3, 5))
        )
    if mode == "repeat":
        w = rng.choice(words)
        return joiner.join([w] * rng.randint(15, 30))
    raise ValueError(f"unknown mode {mode!r}")


def synthetic_corpus(
    n_records: int = 400,
    *,
    seed: int = 0,
    languages: tuple[str, ...] = ("en", "zh"),
    outputs_per_record: int = 2,
    split_fractions=(0.8, 0.1, 0.1),
):
    """Records (valid schema) plus ``{record id: [(text, in_support), ...]}`` model outputs."""
    rng = random.Random(seed)
    records, outputs = [], {}
    for k in range(n_records):
        lang = languages[k % len(languages)]
        track, family = FAMILIES[(k // len(languages)) % len(FAMILIES)]
        length_bin = "short" if k % 5 else "medium"
        u = rng.random()
        split = (
            "train" if u < split_fractions[0] else ("val" if u < split_fractions[0] + split_fractions[1] else "test")
        )
        rid = f"syn-{k:06d}"
        answer = human_like(rng, lang)
        records.append(
            {
                "id": rid,
                "dataset": "synthetic",
                "split": split,
                "language": lang,
                "track": track,
                "family": family,
                "style_bucket": "plain",
                "length_bin": length_bin,
                "question": f"question {k}" if lang == "en" else f"问题 {k}",
                "context": "",
                "dialogue_history": [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "hello"}]
                if track == "multi"
                else [],
                "human_answer": answer,
                "bucket_id": make_bucket_id(lang, track, family, length_bin),
                "meta": {
                    "source_dataset": "synthetic",
                    "source_split": split,
                    "source_id": str(k),
                    "length_tokens": len(answer.split()),
                },
            }
        )
        outs = []
        for j in range(outputs_per_record):
            if j % 2 == 0:
                outs.append((off_support(rng, lang, rng.choice(OFF_SUPPORT_MODES)), False))
            else:
                outs.append((human_like(rng, lang), True))
        outputs[rid] = outs
    return records, outputs
