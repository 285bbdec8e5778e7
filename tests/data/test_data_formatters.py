"""Each of the 14 formatters on small hand-written rows in the real Hub column layout, awkward rows included."""

from __future__ import annotations

import pytest

from polyalign_lf.data.formatters import all_formatters, get_formatter

LONG_CONTEXT = "Paris is the capital of France. " * 2000  # ~64k characters


def flat(records):
    return [r for s in ("train", "val", "test") for r in records[s]]


def by_answer(records):
    return {r["human_answer"]: r for r in flat(records)}


def test_registry_has_the_14_sources_custom_and_the_reference_release():
    names = set(all_formatters())
    assert names == {
        "dolly",
        "eli5_category",
        "dailydialog",
        "ms_marco",
        "coqa",
        "squad_v2",
        "natural_questions",
        "multiwoz",
        "coig_cqia",
        "hc3_chinese",
        "oasst2_zh",
        "cmrc2018",
        "drcd",
        "dureader",
        "custom",
        "polyalign_reference",
    }
    assert get_formatter("eli5").name == "eli5_category" and get_formatter("NQ").name == "natural_questions"
    # Table 1 context of each source.
    table1 = {
        "dolly": ("en", "single", "assistant_like"),
        "eli5_category": ("en", "single", "longform_qa"),
        "dailydialog": ("en", "multi", "open_chat"),
        "ms_marco": ("en", "single", "qa_search"),
        "coqa": ("en", "multi", "qa_search"),
        "squad_v2": ("en", "single", "qa_search"),
        "natural_questions": ("en", "single", "qa_search"),
        "multiwoz": ("en", "multi", "task_dialogue"),
        "coig_cqia": ("zh", "single", "assistant_like"),
        "hc3_chinese": ("zh", "single", "longform_qa"),
        "oasst2_zh": ("zh", "multi", "open_chat"),
        "cmrc2018": ("zh", "single", "qa_search"),
        "drcd": ("zh", "single", "qa_search"),
        "dureader": ("zh", "single", "qa_search"),
    }
    for name, (lang, track, style) in table1.items():
        spec = get_formatter(name)
        assert (spec.language, spec.track, spec.style_bucket) == (lang, track, style), name


def test_dolly(run_prepare):
    rows = [
        {"instruction": "Name a primary colour.", "context": "", "response": "Red.", "category": "open_qa"},
        {
            "instruction": "Summarise the text.",
            "context": LONG_CONTEXT,
            "response": "Paris is France's capital.",
            "category": "summarization",
        },
        {"instruction": "Empty one", "context": "", "response": "   ", "category": "open_qa"},
        {
            "instruction": "Translate 你好 into English, please.",
            "context": "",
            "response": "It means “hello” — 你好 = hello.",
            "category": "brainstorming",
        },
    ]
    manifest, records = run_prepare("dolly", {"train": rows})
    assert manifest["skipped"] == {"empty_answer": 1}
    assert sum(manifest["split_counts"].values()) == 3
    answers = by_answer(records)
    red = answers["Red."]
    assert red["bucket_id"] == "en|single|assistant|short" and red["meta"]["category"] == "open_qa"
    assert red["meta"]["length_tokens"] == 1 and red["meta"]["source_dataset"] == "databricks/databricks-dolly-15k"
    assert answers["Paris is France's capital."]["context"] == LONG_CONTEXT.strip()
    mixed = answers["It means “hello” — 你好 = hello."]
    assert mixed["meta"]["length_tokens"] == 6  # It, means, hello, 你, 好, hello


def test_eli5_best_answer_and_split_map(run_prepare):
    def row(q_id, title, texts, scores, selftext=""):
        return {
            "q_id": q_id,
            "title": title,
            "selftext": selftext,
            "category": "Physics",
            "subreddit": "explainlikeimfive",
            "answers": {
                "a_id": [f"a{k}" for k in range(len(texts))],
                "text": texts,
                "score": scores,
                "text_urls": [[] for _ in texts],
            },
            "title_urls": [],
            "selftext_urls": [],
        }

    manifest, records = run_prepare(
        "eli5_category",
        {
            "train": [
                row(
                    "q1",
                    "Why is the sky blue?",
                    ["low", "Rayleigh scattering.", "tie later"],
                    [1, 9, 9],
                    selftext="Really?",
                ),
                row("q2", "No answers", ["", "  "], [3, 4]),
            ],
            "validation1": [row("q3", "Why ice floats?", ["Less dense."], [2])],
            "validation2": [row("q4", "Why rain?", ["Clouds condense."], [5])],
            "test": [row("q5", "Why wind?", ["Pressure differences."], [1])],
        },
    )
    answers = by_answer(records)
    sky = answers["Rayleigh scattering."]  # highest score, first of the tie
    assert sky["question"] == "Why is the sky blue?\n\nReally?" and sky["meta"]["best_answer_score"] == 9
    assert sky["split"] == "train" and sky["bucket_id"] == "en|single|qa|short"
    assert answers["Less dense."]["split"] == "val"
    assert answers["Clouds condense."]["split"] == "test" and answers["Pressure differences."]["split"] == "test"
    assert manifest["skipped"] == {"empty_answer": 1}


def test_dailydialog_fixes_eou_strip_bug_and_builds_history(run_prepare):
    dialog = ["oh, every evening you go out?", "Usually. __eou__", "even on sundays?", "especially on sundays", "ugh"]
    manifest, records = run_prepare(
        "dailydialog",
        {
            "train": [{"dialog": dialog, "act": [2, 1, 2, 1, 3], "emotion": [0, 0, 0, 4, 0]}],
            "test": [{"dialog": "uh-oh, you eat eel? __eou__ every Sunday. __eou__"}],
        },
    )
    train = records["train"]
    assert [r["human_answer"] for r in train] == ["Usually.", "especially on sundays"]
    first, second = train
    assert first["question"] == "oh, every evening you go out?"  # the leading 'o' survives (reference lost it)
    assert first["dialogue_history"] == []
    assert second["question"] == "even on sundays?"
    assert second["dialogue_history"] == [
        {"role": "user", "text": "oh, every evening you go out?"},
        {"role": "assistant", "text": "Usually."},
    ]
    assert second["meta"]["target_emotion"] == 4 and second["bucket_id"] == "en|multi|dialogue|short"
    assert first["meta"]["group_id"] == second["meta"]["group_id"]
    (test,) = records["test"]
    assert test["question"] == "uh-oh, you eat eel?" and test["human_answer"] == "every Sunday."


def test_ms_marco_skips_no_answer_present(run_prepare):
    def row(qid, answers, wf, selected):
        return {
            "query": f"query {qid}",
            "query_id": qid,
            "query_type": "DESCRIPTION",
            "answers": answers,
            "wellFormedAnswers": wf,
            "passages": {
                "is_selected": selected,
                "passage_text": ["p one", "p two", "p three", "p four"],
                "url": ["u"] * 4,
            },
        }

    manifest, records = run_prepare(
        "ms_marco",
        {
            "train": [
                row(1, ["short answer"], ["A well formed answer."], [0, 1, 0, 0]),
                row(2, ["No Answer Present."], [], [0, 0, 0, 0]),
                row(3, ["plain answer"], [], [0, 0, 0, 0]),
                row(4, [], [], [0, 0, 0, 0]),
            ],
            "validation": [row(5, ["val answer"], [], [1, 0, 0, 1])],
        },
    )
    assert manifest["skipped"] == {"empty_answer": 1, "no_answer_present": 1}
    answers = by_answer(records)
    assert "No Answer Present." not in answers
    wf = answers["A well formed answer."]
    assert wf["context"] == "p two" and wf["meta"]["used_well_formed_answer"] is True
    assert answers["plain answer"]["context"] == "p one\n\np two\n\np three"
    assert answers["val answer"]["split"] == "val" and answers["val answer"]["context"] == "p one\n\np four"


def test_coqa_turns_history_and_unknown(run_prepare):
    story = "Anna had a cat named Tom. Tom was grey."
    row = {
        "source": "mctest",
        "story": story,
        "questions": ["Who had a cat?", "What colour?", "Was it fat?", "Its name?"],
        "answers": {
            "input_text": ["Anna", "grey", "unknown", "Tom"],
            "answer_start": [0, 30, -1, 20],
            "answer_end": [4, 34, -1, 23],
        },
    }
    manifest, records = run_prepare("coqa", {"train": [row], "validation": [dict(row, story="Another story.")]})
    assert manifest["skipped"] == {"unanswerable": 2}
    train_like = records["train"] + records["val"]
    assert len(train_like) == 3 and len({r["split"] for r in train_like}) == 1  # one conversation, one split
    last = [r for r in train_like if r["human_answer"] == "Tom"][0]
    assert last["context"] == story and last["bucket_id"] == "en|multi|qa|short"
    assert [t["text"] for t in last["dialogue_history"]] == [
        "Who had a cat?",
        "Anna",
        "What colour?",
        "grey",
        "Was it fat?",
        "unknown",
    ]
    assert len(records["test"]) == 3 and all(r["context"] == "Another story." for r in records["test"])


def test_squad_v2_skips_unanswerable_and_splits_by_article(run_prepare):
    def row(i, title, context, answers):
        return {
            "id": f"s{i}",
            "title": title,
            "context": context,
            "question": f"Question {i}?",
            "answers": {"text": answers, "answer_start": [0] * len(answers)},
        }

    train = [row(k, f"Article{k % 5}", f"Context of article {k % 5}.", ["answer"]) for k in range(40)]
    train.append(row(99, "Article1", "Context of article 1.", []))
    manifest, records = run_prepare(
        "squad_v2", {"train": train, "validation": [row(100, "T", "C.", ["test answer", "alt"])]}
    )
    assert manifest["skipped"] == {"unanswerable": 1}
    assert all(r["human_answer"] for r in flat(records))
    split_of_article = {}
    for r in records["train"] + records["val"]:
        split_of_article.setdefault(r["meta"]["title"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of_article.values())
    assert [r["human_answer"] for r in records["test"]] == ["test answer"]


def test_natural_questions_same_query_same_split(run_prepare):
    rows = [
        {"query": f"who wrote book {k % 30}", "answer": f"Passage number {k} about the author."} for k in range(120)
    ]
    rows.append({"query": "WHO  wrote book 3", "answer": "Different spacing and case, same query."})
    rows.append({"query": "empty", "answer": ""})
    manifest, records = run_prepare("natural_questions", {"train": rows})
    assert manifest["skipped"] == {"empty_answer": 1}
    split_of = {}
    for r in flat(records):
        split_of.setdefault(" ".join(r["question"].lower().split()), set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    assert {s for s, n in manifest["split_counts"].items() if n} >= {"train"}


def test_multiwoz_hub_and_github_layouts(run_prepare):
    hub = {
        "dialogue_id": "PMUL0001.json",
        "services": ["restaurant"],
        "turns": {
            "turn_id": ["0", "1", "2", "3"],
            "speaker": [0, 1, 0, 1],
            "utterance": ["I need a cheap restaurant.", "Sure, which area?", "The centre.", ""],
            "frames": [{"service": ["restaurant"], "state": [{"active_intent": "find_restaurant"}]}, {}, {}, {}],
            "dialogue_acts": [{}, {"dialog_act": {"act_type": ["Restaurant-Request"]}}, {}, {}],
        },
    }
    github = {
        "dialogue_id": "SNG0002.json",
        "services": ["hotel"],
        "turns": [
            {
                "turn_id": "0",
                "speaker": "USER",
                "utterance": "Book a hotel.",
                "frames": [{"service": "hotel", "state": {"active_intent": "book_hotel"}}],
            },
            {"turn_id": "1", "speaker": "SYSTEM", "utterance": "For how many nights?"},
            {"turn_id": "2", "speaker": "USER", "utterance": "Two."},
            {"turn_id": "3", "speaker": "SYSTEM", "utterance": "Booked, reference 7GAWK763."},
        ],
    }
    manifest, records = run_prepare("multiwoz", {"train": [hub], "test": [github]})
    assert manifest["skipped"] == {"empty_answer": 1}
    (first,) = records["train"]
    assert first["question"] == "I need a cheap restaurant." and first["human_answer"] == "Sure, which area?"
    assert first["meta"]["active_intents"] == ["find_restaurant"] and first["meta"]["dialogue_act_types"] == [
        "Restaurant-Request"
    ]
    booked = records["test"][1]
    assert booked["question"] == "Two." and booked["bucket_id"] == "en|multi|dialogue|short"
    assert booked["dialogue_history"] == [
        {"role": "user", "text": "Book a hotel."},
        {"role": "assistant", "text": "For how many nights?"},
    ]


def test_coig_cqia_filters_non_human(run_prepare):
    rows = [
        {
            "instruction": "介绍一下北京。",
            "input": "",
            "output": "北京是中国的首都，有三千多年历史。",
            "answer_from": "human",
            "human_verified": True,
        },
        {"instruction": "写一首诗", "input": "", "output": "床前明月光", "answer_from": "llm", "human_verified": True},
        {
            "instruction": "解释GPU",
            "input": "",
            "output": "GPU（图形处理器）适合并行计算，例如RTX 4090。",
            "answer_from": "human",
            "human_verified": False,
        },
        {"instruction": "空", "input": "", "output": ""},
        {"instruction": "用ＡＢＣ举例", "input": "背景：ＡＢＣ", "output": "例如ＡＢＣ，很好！"},
    ]
    manifest, records = run_prepare("coig_cqia", {"train": rows})
    assert manifest["skipped"] == {"empty_answer": 1, "non_human_answer": 1, "not_human_verified": 1}
    answers = by_answer(records)
    beijing = answers["北京是中国的首都，有三千多年历史。"]
    assert beijing["bucket_id"] == "zh|single|assistant|short" and beijing["meta"]["length_tokens"] == 15
    assert beijing["meta"]["length_unit"] == "char"
    # NFKC folds full-width letters but keeps Chinese full-width punctuation.
    assert (
        answers["例如ABC，很好！"]["context"] == "背景：ABC" and answers["例如ABC，很好！"]["question"] == "用ABC举例"
    )


def test_hc3_one_record_per_human_answer(run_prepare):
    rows = [
        {
            "id": 0,
            "source": "open_qa",
            "question": "什么是机器学习？",
            "human_answers": ["让计算机从数据中学习。", "", "一种人工智能方法。"],
            "chatgpt_answers": ["机器学习是……（ChatGPT）"],
        },
        {"id": 1, "source": "baike", "question": "", "human_answers": ["x"], "chatgpt_answers": []},
        {"id": 2, "source": "baike", "question": "无人回答", "human_answers": [], "chatgpt_answers": ["只有AI"]},
    ]
    manifest, records = run_prepare("hc3_chinese", {"train": rows})
    assert manifest["skipped"] == {"empty_answer": 1, "empty_question": 1, "no_human_answer": 1}
    kept = flat(records)
    assert sorted(r["human_answer"] for r in kept) == sorted(["让计算机从数据中学习。", "一种人工智能方法。"])
    assert len({r["split"] for r in kept}) == 1 and all("ChatGPT" not in r["human_answer"] for r in kept)


def test_oasst2_best_ranked_reply_and_ancestry(run_prepare):
    def msg(mid, parent, role, text, rank=None, lang="zh", **kw):
        row = {
            "message_id": mid,
            "parent_id": parent,
            "user_id": "u",
            "created_date": "2023",
            "text": text,
            "role": role,
            "lang": lang,
            "review_count": 3,
            "review_result": True,
            "deleted": False,
            "rank": rank,
            "synthetic": False,
            "model_name": None,
            "message_tree_id": "t1",
            "tree_state": "ready_for_export",
        }
        row.update(kw)
        return row

    rows = [
        msg("m1", None, "prompter", "你好，请介绍一下你自己。"),
        msg("m2", "m1", "assistant", "我是一个助手。", rank=1),
        msg("m3", "m1", "assistant", "你好！我是开放助手，很高兴认识你。", rank=0),
        msg("m4", "m3", "prompter", "你会写诗吗？"),
        msg("m5", "m4", "assistant", "会的，比如：春眠不觉晓。", rank=0),
        msg("m6", "m2", "prompter", "真的吗？"),
        msg("m7", "m6", "assistant", "真的。", rank=0),  # under a lower-ranked reply → unusable ancestry
        msg("m8", "m4", "assistant", "不会。", rank=None, deleted=True),
        msg("e1", None, "prompter", "Hello", lang="en", message_tree_id="t2"),
    ]
    manifest, records = run_prepare("oasst2_zh", {"train": rows})
    answers = by_answer(records)
    assert set(answers) == {"你好！我是开放助手，很高兴认识你。", "会的，比如：春眠不觉晓。"}
    poem = answers["会的，比如：春眠不觉晓。"]
    assert poem["question"] == "你会写诗吗？"
    assert poem["dialogue_history"] == [
        {"role": "user", "text": "你好，请介绍一下你自己。"},
        {"role": "assistant", "text": "你好！我是开放助手，很高兴认识你。"},
    ]
    assert poem["bucket_id"] == "zh|multi|dialogue|short"
    assert manifest["skipped"] == {"deleted": 1, "lower_ranked_sibling": 1, "not_chinese": 1, "unusable_ancestry": 1}


@pytest.mark.parametrize(
    "name,splits",
    [
        ("cmrc2018", {"train": "train", "validation": "val", "test": "test"}),
        ("drcd", {"train": "train", "dev": "val", "test": "test"}),
    ],
)
def test_chinese_extractive_qa(run_prepare, name, splits):
    flat_row = {
        "id": "q1",
        "context": "故宫位于北京。" * 500,
        "question": "故宫在哪里？",
        "answers": {"text": ["北京"], "answer_start": [4]},
    }
    nested = {
        "title": "臺灣",
        "paragraphs": [
            {
                "context": "臺北是臺灣的城市。",
                "qas": [
                    {
                        "id": "n1",
                        "question": "臺北在哪？",
                        "answers": [{"id": "1", "text": "臺灣", "answer_start": 3}],
                    },
                    {"id": "n2", "question": "沒有答案？", "answers": []},
                ],
            }
        ],
    }
    source = {
        split: [
            dict(flat_row, id=f"{split}-1"),
            nested if split == list(splits)[0] else dict(flat_row, id=f"{split}-2"),
        ]
        for split in splits
    }
    manifest, records = run_prepare(name, source)
    assert manifest["skipped"] == {"empty_answer": 1}
    for own, ours in splits.items():
        assert records[ours], own
    taiwan = [r for r in records["train"] if r["human_answer"] == "臺灣"][0]
    assert taiwan["context"] == "臺北是臺灣的城市。"  # traditional characters are kept as they are
    assert taiwan["bucket_id"] == "zh|single|qa|short" and taiwan["meta"]["length_tokens"] == 2


def test_dureader_real_rows_and_test_split(run_prepare):
    train = [
        {
            "id": f"d{k}",
            "context": f"第{k}段文字，讲述了天气。",
            "question": f"问题{k}？",
            "answers": {"text": [f"答案{k}"], "answer_start": [0]},
        }
        for k in range(60)
    ]
    train.append(
        {
            "id": "imp",
            "context": "x",
            "question": "?",
            "answers": {"text": [], "answer_start": []},
            "is_impossible": True,
        }
    )
    manifest, records = run_prepare("dureader", {"train": train, "validation": train[:3]})
    assert manifest["skipped"] == {"unanswerable": 1}
    assert records["test"], "DuReader must get a test split (carved from train)"
    assert len(records["val"]) == 3
    train_contexts = {r["context"] for r in records["train"]}
    assert not train_contexts & {r["context"] for r in records["test"]}


def test_custom_layout(run_prepare):
    rows = [
        {
            "id": "c1",
            "question": "Hi?",
            "answer": "Hello there.",
            "language": "en",
            "track": "single",
            "family": "assistant",
            "split": "test",
        },
        {
            "id": "c2",
            "question": "接着说",
            "answer": "好的，" + "很" * 80 + "长。",
            "language": "zh",
            "track": "multi",
            "family": "dialogue",
            "history": [{"role": "user", "text": "讲个故事"}, {"role": "assistant", "text": "从前有座山。"}],
            "style_bucket": "open_chat",
            "group": "g1",
        },
        {"id": "c3", "question": "Empty?", "answer": "", "language": "en", "track": "single", "family": "qa"},
    ]
    manifest, records = run_prepare("custom", {"all": rows}, name="my_faq")
    assert manifest["skipped"] == {"empty_answer": 1} and manifest["dataset"] == "my_faq"
    answers = by_answer(records)
    assert answers["Hello there."]["split"] == "test" and answers["Hello there."]["id"] == "my_faq-c1"
    story = [r for r in flat(records) if r["language"] == "zh"][0]
    assert story["bucket_id"] == "zh|multi|dialogue|medium"  # 83 characters: > 70 (short), ≤ 200
    assert story["meta"]["length_tokens"] == 83 and story["style_bucket"] == "open_chat"
    assert story["meta"]["group_id"] == "my_faq:g1"
