"""A bilingual interaction corpus with known ground truth, for the miniature PolyAlign study.

Twelve buckets (en, zh × context-grounded QA, assistant instructions, multi-turn chat × two length bins),
each with its own *human* answer style that the metrics can see:

* extractive QA (``single|qa|short``): a bare span of the context — no sentence, no final punctuation;
* explanatory QA (``single|qa|medium``): a two-sentence answer grounded in the context (因为…所以… in zh);
* quick advice (``single|assistant|medium``): discourse markers (Honestly / Then; 首先 / 其次 / 最后);
* step-by-step help (``single|assistant|long``): a numbered list with an opener and a closer;
* chat replies (``multi|dialogue|short``): a few casual words with ``!`` (zh: sentence-final 啊 / 吧 / 呢);
* chat stories (``multi|dialogue|medium``): one long, comma-spliced, chatty sentence with an interjection.

The prompt lets a model infer the bucket without naming it: a context passage for QA, "when / where"
versus "why" questions, a short versus a step-by-step request, a dialogue history for chat. The training
split is imbalanced like the paper's Table 1 (largest bucket 50× the smallest, two buckets under ten
rows); validation and test are balanced. Every row also has a *uniform assistant-style* answer — the same
boilerplate-wrapped, formal answer whatever the bucket — on which the study's base model is trained, so
BaseLM behaves like an instruction-tuned model that ignores context-specific human style.

Rows are written in the ``custom`` formatter's layout and enter the pipeline through
``polyalign prepare custom`` like user data. Length bins are the study's own (:data:`STUDY_LENGTH_BINS`,
words for English, characters for Chinese) so that every answer fits a tiny model's generation budget.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

# Upper bounds of short / medium / long per language (passed to `polyalign prepare --length-bins`).
STUDY_LENGTH_BINS = {"en": (10, 30, 60), "zh": (20, 60, 120)}


@dataclass(frozen=True)
class BucketSpec:
    language: str
    track: str
    family: str
    length_bin: str
    style: str  # style_bucket
    train: int  # training rows (the imbalance)

    @property
    def bucket_id(self) -> str:
        return f"{self.language}|{self.track}|{self.family}|{self.length_bin}"


BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec("en", "single", "qa", "short", "qa_search", 300),
    BucketSpec("zh", "single", "qa", "short", "qa_search", 160),
    BucketSpec("en", "multi", "dialogue", "short", "open_chat", 120),
    BucketSpec("en", "single", "assistant", "medium", "assistant_like", 80),
    BucketSpec("zh", "single", "assistant", "medium", "assistant_like", 60),
    BucketSpec("zh", "multi", "dialogue", "short", "open_chat", 60),
    BucketSpec("en", "single", "qa", "medium", "longform_qa", 36),
    BucketSpec("en", "single", "assistant", "long", "assistant_like", 24),
    BucketSpec("zh", "single", "qa", "medium", "longform_qa", 20),
    BucketSpec("zh", "single", "assistant", "long", "assistant_like", 14),
    BucketSpec("en", "multi", "dialogue", "medium", "open_chat", 7),
    BucketSpec("zh", "multi", "dialogue", "medium", "open_chat", 6),
)
VAL_PER_BUCKET = 4
TEST_PER_BUCKET = 20
SEED = 20261201

# --- the world the texts talk about ----------------------------------------------------------------

_EN_SYLLABLES = [
    "mar",
    "ston",
    "vel",
    "brin",
    "ka",
    "lin",
    "dor",
    "wick",
    "sel",
    "ham",
    "tor",
    "ley",
    "bro",
    "quin",
    "ash",
    "fen",
    "gale",
    "mor",
    "ril",
    "sut",
]
_ZH_NAME_CHARS = list("青云明湖松石金川长安白鹭清风远山春晓月光江南") + list("桥塔馆园寺楼台阁")
_KINDS = [
    ("bridge", "桥"),
    ("museum", "博物馆"),
    ("lighthouse", "灯塔"),
    ("garden", "花园"),
    ("library", "图书馆"),
    ("market", "市场"),
    ("tower", "塔楼"),
    ("theatre", "剧院"),
]
_CITIES = [
    ("Lyon", "里昂"),
    ("Porto", "波尔图"),
    ("Kyoto", "京都"),
    ("Quebec", "魁北克"),
    ("Bergen", "卑尔根"),
    ("Sevilla", "塞维利亚"),
    ("Tartu", "塔尔图"),
    ("Hobart", "霍巴特"),
    ("Cusco", "库斯科"),
    ("Ghent", "根特"),
]
_FEATURES = [
    ("its glass roof", "玻璃屋顶"),
    ("a tall clock", "高大的钟楼"),
    ("painted tiles", "彩绘瓷砖"),
    ("an old stone gate", "古老的石门"),
    ("a quiet reading room", "安静的阅览室"),
    ("a rose garden", "玫瑰园"),
    ("a copper dome", "铜制圆顶"),
    ("night lanterns", "夜晚的灯笼"),
]
_REASONS = [
    ("the view over the river is wide and calm", "那里可以看到宽阔平静的河景"),
    ("it hosts a small music festival every summer", "每年夏天都有小型音乐节"),
    ("the old town around it is easy to walk", "周围的老城区很适合散步"),
    ("local families have met there for generations", "当地人几代都在那里聚会"),
    ("it survived a great flood almost untouched", "它在一场大洪水中几乎完好无损"),
    ("the morning light there is famous with painters", "那里的晨光深受画家喜爱"),
]
_ACTIVITIES = [
    (
        "keeping a small balcony garden",
        "照顾阳台上的小花园",
        [
            "Water the pots early in the morning.",
            "Pick plants that like your light.",
            "Feed the soil once a month.",
            "Cut dead leaves every week.",
        ],
        ["早上给花盆浇水", "选择适合光照的植物", "每个月施一次肥", "每周剪掉枯叶"],
    ),
    (
        "cooking rice on the stove",
        "在炉子上煮米饭",
        [
            "Rinse the rice until the water runs clear.",
            "Use a little more water than rice.",
            "Keep the lid on while it simmers.",
            "Let it rest for ten minutes.",
        ],
        ["把米洗到水变清", "水要比米稍多一点", "小火煮的时候盖好锅盖", "关火后焖十分钟"],
    ),
    (
        "learning a few words of a new language",
        "学几句新的外语",
        [
            "Learn ten useful words a day.",
            "Say them out loud while you walk.",
            "Write each word in a short sentence.",
            "Review them again before bed.",
        ],
        ["每天学十个常用词", "走路时大声说出来", "用每个词造一个短句", "睡前再复习一遍"],
    ),
    (
        "running your first five kilometres",
        "第一次跑五公里",
        [
            "Start with slow runs of twenty minutes.",
            "Walk for a minute whenever you need to.",
            "Add a little distance each week.",
            "Rest well the day before.",
        ],
        ["先慢跑二十分钟", "累了就走一分钟", "每周增加一点距离", "前一天好好休息"],
    ),
    (
        "packing a light travel bag",
        "收拾一个轻便的旅行包",
        [
            "Lay out everything you want to take.",
            "Remove half of the clothes.",
            "Roll shirts instead of folding them.",
            "Keep papers in one small pocket.",
        ],
        ["先把想带的东西都摆出来", "衣服拿掉一半", "衬衫卷起来而不是叠起来", "证件放在一个小口袋里"],
    ),
    (
        "reading more books in a busy year",
        "在忙碌的一年里多读书",
        [
            "Carry a small book everywhere.",
            "Read ten pages before sleep.",
            "Stop books you do not enjoy.",
            "Keep a short list of what you finish.",
        ],
        ["随身带一本小书", "睡前读十页", "不喜欢的书就放下", "记下读完的书"],
    ),
]
_PLANS = [
    ("grab lunch", "吃午饭"),
    ("see a film", "看电影"),
    ("go for a walk", "散步"),
    ("play tennis", "打网球"),
    ("visit the market", "逛市场"),
    ("study together", "一起复习"),
]
_TIMES = ["noon", "five", "six thirty", "eight", "ten"]
_DAYS = [("Saturday", "周六"), ("Sunday", "周日"), ("Friday", "周五")]


def _entity(k: int, rng: random.Random) -> dict:
    """The k-th place of the world: a made-up name, its kind, city, year, feature and reason."""
    kind_en, kind_zh = _KINDS[k % len(_KINDS)]
    city_en, city_zh = _CITIES[(k // len(_KINDS)) % len(_CITIES)]
    name = (_EN_SYLLABLES[k % 20] + _EN_SYLLABLES[(k * 7 + 3) % 20]).capitalize()
    zh_name = _ZH_NAME_CHARS[k % 24] + _ZH_NAME_CHARS[(k * 5 + 2) % 24]
    feature_en, feature_zh = _FEATURES[(k * 3) % len(_FEATURES)]
    reason_en, reason_zh = _REASONS[(k * 5) % len(_REASONS)]
    return {
        "name": f"{name} {kind_en.capitalize()}",
        "zh_name": f"{zh_name}{kind_zh}",
        "kind": kind_en,
        "kind_zh": kind_zh,
        "city": city_en,
        "city_zh": city_zh,
        "year": 1700 + (k * 37) % 300,
        "feature": feature_en,
        "feature_zh": feature_zh,
        "reason": reason_en,
        "reason_zh": reason_zh,
    }


def _context_en(e: dict) -> str:
    return (
        f"The {e['name']} is a {e['kind']} in {e['city']}. It was built in {e['year']}. It is known for "
        f"{e['feature']}, and people visit it because {e['reason']}."
    )


def _context_zh(e: dict) -> str:
    return f"{e['zh_name']}是位于{e['city_zh']}的一座{e['kind_zh']}。它建于{e['year']}年，以{e['feature_zh']}闻名。人们喜欢去那里，因为{e['reason_zh']}。"


# --- one generator per bucket: (question, context, history, human answer, uniform answer) ------------


def _uniform_en(core: str) -> str:
    return f"Sure! Here is a helpful answer to your question. {core} I hope this helps, and please let me know if you have any other questions."


def _uniform_zh(core: str) -> str:
    return f"好的！下面是对你问题的详细回答。{core}希望这对你有帮助，如果还有其他问题，请随时告诉我。"


def _en_qa_short(k, rng):
    e = _entity(k, rng)
    kind = k % 3
    if kind == 0:
        q, span = f"When was the {e['name']} built?", f"in {e['year']}"
    elif kind == 1:
        q, span = f"Where is the {e['name']}?", f"in {e['city']}"
    else:
        q, span = f"What is the {e['name']} known for?", e["feature"]
    return q, _context_en(e), [], span, _uniform_en(f"The answer is {span}.")


def _en_qa_medium(k, rng):
    e = _entity(k, rng)
    q = [f"Why do people visit the {e['name']}?", f"Explain why the {e['name']} is popular."][k % 2]
    answer = f"Mostly because {e['reason']}. It is also known for {e['feature']}, which visitors enjoy."
    return q, _context_en(e), [], answer, _uniform_en(f"People visit it because {e['reason']}.")


def _en_assistant_medium(k, rng):
    activity, _, tips, _ = _ACTIVITIES[k % len(_ACTIVITIES)]
    a, b = rng.sample(range(4), 2)
    q = [f"Any quick advice for {activity}?", f"What is one good tip for {activity}?"][k % 2] + f" (question {k})"
    answer = f"Honestly, start small. {tips[a]} Then {tips[b][0].lower()}{tips[b][1:]}"
    return q, "", [], answer, _uniform_en(tips[a])


def _en_assistant_long(k, rng):
    activity, _, tips, _ = _ACTIVITIES[k % len(_ACTIVITIES)]
    order = rng.sample(range(4), 4)
    q = f"Can you walk me through {activity} step by step? (request {k})"
    steps = "\n".join(f"{n}. {tips[i]}" for n, i in enumerate(order, 1))
    answer = f"Here's how I would do it:\n{steps}\nThat's it, good luck!"
    return q, "", [], answer, _uniform_en(tips[order[0]])


def _en_dialogue_short(k, rng):
    plan, _ = _PLANS[k % len(_PLANS)]
    day, _ = _DAYS[k % len(_DAYS)]
    time = _TIMES[(k // 6) % len(_TIMES)]
    history = [
        {"role": "user", "text": f"Hey, are you free on {day}? ({k})"},
        {"role": "assistant", "text": "I think so, why?"},
    ]
    q = f"Want to {plan} at {time}?"
    answer = [f"Sure! See you at {time}!", "Sounds good, I'm in!", f"Yes! {time.capitalize()} works for me!"][k % 3]
    return q, "", history, answer, _uniform_en("That sounds like a nice plan.")


def _en_dialogue_medium(k, rng):
    city, _ = _CITIES[k % len(_CITIES)]
    plan, _ = _PLANS[(k + 2) % len(_PLANS)]
    history = [
        {"role": "user", "text": f"You're back! ({k})"},
        {"role": "assistant", "text": "Yes, I got home last night."},
    ]
    q = f"How was your trip to {city}? Tell me everything."
    answer = (
        f"Oh, it was great, we walked around {city} all day, the food was amazing, and honestly I'd go back "
        f"tomorrow just to {plan} again!"
    )
    return q, "", history, answer, _uniform_en(f"The trip to {city} was very nice.")


def _zh_qa_short(k, rng):
    e = _entity(k + 500, rng)
    kind = k % 3
    if kind == 0:
        q, span = f"{e['zh_name']}建于哪一年？", f"{e['year']}年"
    elif kind == 1:
        q, span = f"{e['zh_name']}位于哪里？", e["city_zh"]
    else:
        q, span = f"{e['zh_name']}以什么闻名？", e["feature_zh"]
    return q, _context_zh(e), [], span, _uniform_zh(f"答案是{span}。")


def _zh_qa_medium(k, rng):
    e = _entity(k + 500, rng)
    q = [f"为什么人们喜欢去{e['zh_name']}？", f"请解释{e['zh_name']}为什么受欢迎。"][k % 2]
    answer = f"因为{e['reason_zh']}。此外，它以{e['feature_zh']}闻名，所以游客很多。"
    return q, _context_zh(e), [], answer, _uniform_zh(f"人们喜欢去那里，因为{e['reason_zh']}。")


def _zh_assistant_medium(k, rng):
    _, activity, _, tips = _ACTIVITIES[k % len(_ACTIVITIES)]
    a, b, c = rng.sample(range(4), 3)
    q = [f"关于{activity}，有什么简单的建议吗？", f"{activity}有什么好方法？"][k % 2] + f"（第{k}问）"
    answer = f"首先，{tips[a]}。其次，{tips[b]}。最后，{tips[c]}。"
    return q, "", [], answer, _uniform_zh(f"{tips[a]}。")


def _zh_assistant_long(k, rng):
    _, activity, _, tips = _ACTIVITIES[k % len(_ACTIVITIES)]
    order = rng.sample(range(4), 4)
    q = f"能一步一步地教我{activity}吗？（第{k}个请求）"
    steps = "\n".join(f"{n}. {tips[i]}；" for n, i in enumerate(order, 1))
    answer = f"好的，可以按照下面的几个步骤来做：\n{steps}\n只要每天坚持一点点，慢慢就会养成习惯，你一定可以做好，祝你顺利！"
    return q, "", [], answer, _uniform_zh(f"{tips[order[0]]}。")


def _zh_dialogue_short(k, rng):
    _, plan = _PLANS[k % len(_PLANS)]
    _, day = _DAYS[k % len(_DAYS)]
    history = [{"role": "user", "text": f"{day}有空吗？（{k}）"}, {"role": "assistant", "text": "有啊，怎么了？"}]
    q = f"要不要一起去{plan}？"
    answer = ["好啊！几点见呢？", "可以啊，走吧！", "当然好啊，等你呢！"][k % 3]
    return q, "", history, answer, _uniform_zh("这是一个很好的计划。")


def _zh_dialogue_medium(k, rng):
    _, city = _CITIES[k % len(_CITIES)]
    _, plan = _PLANS[(k + 2) % len(_PLANS)]
    history = [{"role": "user", "text": f"你回来啦！（{k}）"}, {"role": "assistant", "text": "是啊，昨天晚上到的。"}]
    q = f"你去{city}玩得怎么样？快跟我说说吧！"
    answer = f"哎呀，挺好的啊，我们在{city}逛了一整天，吃的东西特别好吃，真想明天再去{plan}呢！"
    return q, "", history, answer, _uniform_zh(f"去{city}的旅行非常愉快。")


GENERATORS: dict[str, Callable] = {
    "en|single|qa|short": _en_qa_short,
    "en|single|qa|medium": _en_qa_medium,
    "en|single|assistant|medium": _en_assistant_medium,
    "en|single|assistant|long": _en_assistant_long,
    "en|multi|dialogue|short": _en_dialogue_short,
    "en|multi|dialogue|medium": _en_dialogue_medium,
    "zh|single|qa|short": _zh_qa_short,
    "zh|single|qa|medium": _zh_qa_medium,
    "zh|single|assistant|medium": _zh_assistant_medium,
    "zh|single|assistant|long": _zh_assistant_long,
    "zh|multi|dialogue|short": _zh_dialogue_short,
    "zh|multi|dialogue|medium": _zh_dialogue_medium,
}


def study_bins():
    from polyalign_lf.data.normalize import LengthBins

    return LengthBins({lang: tuple(bounds) for lang, bounds in STUDY_LENGTH_BINS.items()})


def length_bin_args() -> list[str]:
    """``polyalign prepare`` options that apply the study's length bins."""
    args = []
    for lang, bounds in STUDY_LENGTH_BINS.items():
        args += ["--length-bins", f"{lang}={','.join(str(b) for b in bounds)}"]
    return args


def generate_corpus(seed: int = SEED) -> list[dict]:
    """Every row of the corpus (``custom`` layout plus ``uniform_answer``), deterministic in ``seed``.

    Row k of a bucket uses entity / activity k of its generator, so rows of one bucket never repeat a
    prompt; each answer is checked to land in its bucket's length bin as the data pipeline measures it.
    """
    from polyalign_lf.data.normalize import length_bin

    bins = study_bins()
    rows = []
    for spec in BUCKETS:
        generate = GENERATORS[spec.bucket_id]
        counts = (("train", spec.train), ("val", VAL_PER_BUCKET), ("test", TEST_PER_BUCKET))
        k = 0
        for split, n in counts:
            for _ in range(n):
                rng = random.Random(f"{seed}:{spec.bucket_id}:{k}")
                question, context, history, answer, uniform = generate(k, rng)
                got = length_bin(answer, spec.language, bins)[0]
                if got != spec.length_bin:
                    raise AssertionError(f"{spec.bucket_id} row {k}: the human answer lands in {got!r}: {answer!r}")
                rows.append(
                    {
                        "id": f"study-{spec.bucket_id.replace('|', '-')}-{k:03d}",
                        "language": spec.language,
                        "track": spec.track,
                        "family": spec.family,
                        "style_bucket": spec.style,
                        "split": split,
                        "question": question,
                        "context": context,
                        "history": history,
                        "answer": answer,
                        "uniform_answer": uniform,
                    }
                )
                k += 1
    return rows
