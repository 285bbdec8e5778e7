"""A deterministic corpus of realistic answers for the feature and evaluation benchmarks.

The answers of the 14 sources range from extractive QA spans ("in 1887") to ELI5/OASST-style multi-paragraph
answers with headings, bullet and numbered lists, bold text and inline code; Chinese answers use full-width
punctuation, enumerations such as 一、 and （1）, and Latin terms and numbers inside the text. The mix below
gives, per language, a median answer near the QA end and a mean pulled up by a long tail, as in the real data
(English: median ≈ 140 characters, mean ≈ 600; Chinese: mean ≈ 140). ``corpus_stats`` prints what a run used.

Nothing here is sampled from a real dataset: the words come from small fixed lists, so the corpus can ship
with the repository and every run sees the same texts.
"""

from __future__ import annotations

import random
import statistics

_EN_WORDS = (
    "the of and to in is was for that on as with by it from at are this be or an which not have has were "
    "their they but also its first one two three new more other after used such can only most may these would "
    "time year years people world city state part between during because however although therefore while "
    "water energy light system process cells body blood heart brain food plants animals river mountain "
    "country government law court war history century king church school university students research "
    "study data model method results number value price market company money bank tax job work house family "
    "children parents friend problem question answer reason example case point idea way change growth "
    "temperature pressure speed distance weight power engine computer software program language code "
    "network internet phone music film book story author song game team player season league match "
    "doctor patient disease treatment medicine vaccine virus bacteria protein gene oxygen carbon sugar "
    "usually often sometimes generally actually really probably simply quickly slowly easily directly "
    "important different large small long short high low early late good better best common possible "
    "make makes made take takes give gives find found know known think called called named built "
    "started became remained increased reduced allows helps means depends requires produces contains"
).split()
_EN_NAMES = "Paris London Einstein Newton Mozart Tokyo Amazon Nile Python Linux Europe Africa Lincoln Darwin".split()
_EN_OPENERS = (
    "Basically,",
    "In short,",
    "Think of it this way:",
    "Great question!",
    "It depends.",
    "Honestly,",
    "The short answer is that",
    "As far as I know,",
    "I'm not sure, but",
    "Yes,",
    "No,",
)
_ZH_WORDS = (
    "我们 你们 他们 这个 那个 因为 所以 但是 然后 如果 可以 需要 已经 没有 问题 方法 时间 地方 城市 国家 "
    "政府 学校 大学 学生 老师 研究 数据 模型 结果 系统 过程 细胞 身体 血液 心脏 大脑 食物 植物 动物 河流 "
    "山脉 历史 世纪 经济 市场 公司 价格 银行 工作 家庭 孩子 父母 朋友 例子 原因 变化 发展 温度 压力 速度 "
    "距离 重量 能量 电脑 软件 程序 语言 网络 手机 音乐 电影 故事 作者 比赛 球队 医生 病人 疾病 治疗 药物 "
    "疫苗 病毒 细菌 蛋白质 基因 氧气 一般 通常 其实 可能 比较 非常 主要 重要 不同 简单 容易 直接 "
    "北京 上海 台湾 香港 中国 长江 黄河 唐朝 宋朝 明朝 清朝 进行 使用 提供 包括 影响 增加 减少 产生 "
    "发现 认为 成为 属于 位于 建立 开始 结束 介绍 解释 说明 选择 比较 注意 建议 希望 当然 谢谢"
).split()
_ZH_LATIN = ("Python", "GPU", "AI", "iPhone", "NBA", "DNA", "COVID-19", "HTTP", "Excel", "Windows", "5G", "API")
_ZH_PUNCT_MID = ("，", "，", "，", "、", "；")
_ZH_PUNCT_END = ("。", "。", "。", "！", "？")
_ZH_PARTICLES = ("吧", "呢", "啊", "哦", "嘛")


def _en_sentence(rng: random.Random, lo: int = 8, hi: int = 24) -> str:
    words = [rng.choice(_EN_WORDS) for _ in range(rng.randint(lo, hi))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] = rng.choice(_EN_NAMES)
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), str(rng.choice([1887, 42, 3.5, 2019, 100, 7])))
    if rng.random() < 0.25:
        k = rng.randrange(2, len(words))
        words[k - 1] += ","
    if rng.random() < 0.1:
        words[rng.randrange(len(words))] = rng.choice(["don't", "it's", "you're", "can't", "I've"])
    if rng.random() < 0.15:
        words.insert(0, rng.choice(_EN_OPENERS))
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".......?!")


def _en_paragraph(rng: random.Random, lo: int = 3, hi: int = 7) -> str:
    return " ".join(_en_sentence(rng) for _ in range(rng.randint(lo, hi)))


def _en_list(rng: random.Random) -> str:
    numbered = rng.random() < 0.4
    items = []
    for k in range(rng.randint(3, 7)):
        item = _en_sentence(rng, 4, 14)
        if rng.random() < 0.3:
            item = f"**{rng.choice(_EN_WORDS).capitalize()}**: {item}"
        if rng.random() < 0.15:
            item += f" Use `{rng.choice(_EN_WORDS)}()` for this."
        items.append(f"{k + 1}. {item}" if numbered else f"{rng.choice('-*')} {item}")
    return "\n".join(items)


def _en_answer(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.36:  # extractive QA span
        n = rng.randint(1, 5)
        words = [rng.choice(_EN_WORDS + _EN_NAMES) for _ in range(n)]
        if rng.random() < 0.3:
            words.append(str(rng.randint(1000, 2024)))
        return " ".join(words)
    if kind < 0.60:  # one or two sentences
        return " ".join(_en_sentence(rng) for _ in range(rng.randint(1, 2)))
    if kind < 0.77:  # a paragraph
        return _en_paragraph(rng)
    if kind < 0.90:  # a structured answer: heading, paragraphs, a list
        parts = []
        if rng.random() < 0.5:
            parts.append(f"## {_en_sentence(rng, 3, 6).rstrip('.?!')}")
        parts.append(_en_paragraph(rng, 2, 4))
        parts.append(_en_list(rng))
        if rng.random() < 0.6:
            parts.append(_en_paragraph(rng, 1, 3))
        if rng.random() < 0.2:
            parts.append(f"See https://en.wikipedia.org/wiki/{rng.choice(_EN_NAMES)} for more.")
        return "\n\n".join(parts)
    # a long explanation (ELI5 / OASST tail)
    parts = [_en_paragraph(rng, 4, 8) for _ in range(rng.randint(4, 8))]
    if rng.random() < 0.5:
        parts.insert(rng.randint(1, len(parts)), _en_list(rng))
    return "\n\n".join(parts)


def _zh_sentence(rng: random.Random, lo: int = 8, hi: int = 20) -> str:
    out = []
    n = rng.randint(lo, hi)
    for k in range(n):
        if rng.random() < 0.07:
            out.append(rng.choice(_ZH_LATIN))
        elif rng.random() < 0.05:
            out.append(f"{rng.randint(1, 2024)}年")
        else:
            out.append(rng.choice(_ZH_WORDS))
        if k < n - 1 and rng.random() < 0.12:
            out.append(rng.choice(_ZH_PUNCT_MID))
    if rng.random() < 0.1:
        out.append(rng.choice(_ZH_PARTICLES))
    if rng.random() < 0.08:
        out.insert(0, "“")
        out.append("”")
    return "".join(out) + rng.choice(_ZH_PUNCT_END)


def _zh_answer(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.16:  # a span
        return "".join(rng.choice(_ZH_WORDS) for _ in range(rng.randint(1, 4)))
    if kind < 0.50:  # one to three sentences
        return "".join(_zh_sentence(rng) for _ in range(rng.randint(1, 3)))
    if kind < 0.84:  # a paragraph or two
        paragraphs = ["".join(_zh_sentence(rng) for _ in range(rng.randint(3, 7))) for _ in range(rng.randint(1, 2))]
        return "\n\n".join(paragraphs)
    # an enumerated answer
    style = rng.choice(["一、", "（1）", "1. "])
    lines = [_zh_sentence(rng, 2, 6)]
    for k in range(rng.randint(2, 5)):
        mark = "一二三四五六"[k] + "、" if style == "一、" else (f"（{k + 1}）" if style == "（1）" else f"{k + 1}. ")
        lines.append(mark + _zh_sentence(rng, 3, 8))
    return "\n".join(lines)


def realistic_corpus(lang: str, n: int = 5000, seed: int = 0) -> list[str]:
    """``n`` answers in ``lang`` ("en" or "zh"), the same for the same arguments."""
    make = {"en": _en_answer, "zh": _zh_answer}[lang]
    rng = random.Random(f"{lang}:{seed}")
    return [make(rng) for _ in range(n)]


def synthetic_corpus(lang: str, n: int, seed: int = 0) -> list[str]:
    """The project's earlier benchmark texts: the critic's synthetic human-like answers (1-2 each) and every
    fourth an off-support long or list answer — shorter and more regular than :func:`realistic_corpus`."""
    from polyalign_testing.synthetic_corpus import human_like, off_support

    rng = random.Random(seed)
    texts = []
    for k in range(n):
        if k % 4 == 3:
            texts.append(off_support(rng, lang, rng.choice(["long", "list"])))
        else:
            texts.append(" ".join(human_like(rng, lang) for _ in range(rng.randint(1, 2))))
    return texts


def corpus_stats(texts: list[str]) -> dict[str, float]:
    lengths = [len(t) for t in texts]
    return {"mean_chars": round(statistics.fmean(lengths), 1), "median_chars": float(statistics.median(lengths))}


if __name__ == "__main__":  # python -m polyalign_testing.realistic_corpus
    for language in ("en", "zh"):
        texts = realistic_corpus(language)
        print(language, corpus_stats(texts))
        print("  " + "\n  ".join(repr(t[:120]) for t in texts[:6]))
