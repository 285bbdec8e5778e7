"""Prompts: LLaMA-Factory training equivalence, no gold-derived information, truncation order, baselines."""

from __future__ import annotations

import copy

import pytest

from polyalign_lf.data.lf_format import record_to_alpaca
from polyalign_lf.inference.prompts import (
    PromptBuilder,
    cot_plain_prompt,
    cut_at_stops,
    extract_final_answer,
    plain_prompt,
)

HISTORY = [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "hello, how can I help?"}]


def _builders(tokenizer, renderer):
    return {
        "chat": PromptBuilder("chat", tokenizer, renderer),
        "base": PromptBuilder("base", tokenizer),
        "cot": PromptBuilder("cot", tokenizer),
        "cot-chat": PromptBuilder("cot", tokenizer, renderer),
    }


def test_chat_prompt_is_the_prefix_llamafactory_trains_on(make_record, qwen_renderer):
    """The prompt ids equal the prompt part of LLaMA-Factory's own SFT encoding of the exported example."""
    from llamafactory.data.converter import AlpacaDatasetConverter
    from llamafactory.data.parser import DatasetAttr
    from llamafactory.data.processor.supervised import SupervisedDatasetProcessor
    from llamafactory.hparams import DataArguments

    record = make_record(1, context="France is a country in Europe.", history=HISTORY)
    example = record_to_alpaca(record)
    converted = AlpacaDatasetConverter(DatasetAttr("file", "x", history="history"), None)(example)
    processor = SupervisedDatasetProcessor(
        template=qwen_renderer.template,
        tokenizer=qwen_renderer.tokenizer,
        processor=None,
        data_args=DataArguments(template="qwen", cutoff_len=4096),
    )
    batch = {k: [v] for k, v in converted.items()}
    train_ids = processor.preprocess_dataset(batch)["input_ids"][0]
    prompt_ids = PromptBuilder("chat", qwen_renderer.tokenizer, qwen_renderer).build(record).ids
    assert train_ids[: len(prompt_ids)] == prompt_ids
    answer_ids = qwen_renderer.tokenizer.encode("Paris", add_special_tokens=False)
    assert train_ids[len(prompt_ids) : len(prompt_ids) + len(answer_ids)] == answer_ids
    text = qwen_renderer.tokenizer.decode(prompt_ids)
    # LLaMA-Factory's order (question, then context) and the template's default system prompt
    assert "What is the capital of France?\nFrance is a country in Europe." in text
    assert "You are Qwen" in text and text.endswith("<|im_start|>assistant\n")


def test_recipe_default_system_is_used(tmp_path, tiny_tokenizer, make_record):
    from polyalign_lf.integration.prompting import load_chat_renderer, read_recipe_template

    recipe = tmp_path / "r.yaml"
    recipe.write_text("stage: sft\ntemplate: qwen\ndefault_system: Answer like a human.\n", encoding="utf-8")
    template, system = read_recipe_template(recipe)
    renderer = load_chat_renderer(copy.deepcopy(tiny_tokenizer), template, system)
    text = tiny_tokenizer.decode(PromptBuilder("chat", tiny_tokenizer, renderer).build(make_record(0)).ids)
    assert "Answer like a human." in text and "You are Qwen" not in text
    # the override stays private to that renderer: a new one gets the template's own default again
    plain = load_chat_renderer(copy.deepcopy(tiny_tokenizer), "qwen", None)
    assert "You are Qwen" in tiny_tokenizer.decode(
        PromptBuilder("chat", tiny_tokenizer, plain).build(make_record(0)).ids
    )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_gold_derived_information_in_any_prompt(language, make_record, tiny_tokenizer, qwen_renderer):
    """Changing everything derived from the gold answer leaves every mode's prompt unchanged."""
    base = make_record(
        3,
        language=language,
        question="Who wrote it?" if language == "en" else "作者是谁？",
        context="Some context.",
        history=HISTORY,
        answer="ZEBRAGOLD answer",
        length_bin="short",
    )
    variants = []
    for length_bin, style, answer in (("xlong", "verbose", "QUAGGA " * 200), ("medium", "terse", "x")):
        other = copy.deepcopy(base)
        other.update(
            length_bin=length_bin,
            style_bucket=style,
            human_answer=answer,
            bucket_id=f"{language}|single|qa|{length_bin}",
        )
        other["meta"]["length_tokens"] = len(answer.split())
        variants.append(other)
    for name, builder in _builders(tiny_tokenizer, qwen_renderer).items():
        ids = builder.build(base).ids
        text = tiny_tokenizer.decode(ids)
        assert "ZEBRAGOLD" not in text, name
        for word in ("short", "xlong", "length", "style"):
            assert word not in text.lower(), (name, word)
        for other in variants:
            assert builder.build(other).ids == ids, name


def test_plain_prompts_exact_format():
    example = {"instruction": "Who?", "input": "Ctx.", "history": [["hi", "hello"]]}
    assert plain_prompt(example, "en") == (
        "Conversation History:\nUser: hi\nAssistant: hello\n\nContext:\nCtx.\n\nQuestion:\nWho?\n\nAnswer:"
    )
    assert plain_prompt({"instruction": "谁？", "input": ""}, "zh") == "问题：\n谁？\n\n回答："
    cot = cot_plain_prompt({"instruction": "Who?", "input": ""}, "en")
    assert cot.startswith("Think step by step") and cot.endswith("Question:\nWho?\n\nReasoning:")
    assert cut_at_stops("Paris.\nQuestion: next", ["\nQuestion:", "\nUser:"]) == "Paris."


def test_extract_final_answer():
    assert extract_final_answer('Paris is in France.\nFinal answer (JSON): {"final_answer": "Paris"}') == (
        "Paris",
        "Paris is in France.",
        True,
    )
    assert extract_final_answer('{"reasoning": "because", "final_answer": "北京"}') == ("北京", "because", True)
    assert extract_final_answer("It is big.\nFinal answer: Lyon") == ("Lyon", "It is big.", True)
    assert extract_final_answer("推理：很简单\n最终答案：上海") == ("上海", "很简单", True)
    assert extract_final_answer("just text") == ("just text", "", False)


def test_truncation_drops_history_then_context_and_keeps_the_question(make_record, tiny_tokenizer, qwen_renderer):
    history = [{"role": "user" if k % 2 == 0 else "assistant", "text": f"turn {k} " + "words " * 20} for k in range(6)]
    record = make_record(5, context="context " * 100, history=history, question="What is the final question here?")
    full = PromptBuilder("chat", tiny_tokenizer, qwen_renderer).build(record)
    no_history = PromptBuilder("chat", tiny_tokenizer, qwen_renderer).build({**record, "dialogue_history": []})
    builder = PromptBuilder("chat", tiny_tokenizer, qwen_renderer, max_prompt_tokens=len(no_history.ids) - 20)
    built = builder.build(record)
    assert len(built.ids) <= len(no_history.ids) - 20 < len(full.ids)
    assert built.dropped_history_turns == 3 and built.context_truncated and not built.question_truncated
    text = tiny_tokenizer.decode(built.ids)
    assert "What is the final question here?" in text and "You are Qwen" in text and "turn 0" not in text


def test_profile_prompt_is_the_system_llamafactory_trains_on(make_record, qwen_renderer):
    """With --profile-prompt the generation prompt equals the prefix LLaMA-Factory trains on for the exported row
    with its `system` column; the situation profile names no gold-derived field, the oracle names the length."""
    from llamafactory.data.converter import AlpacaDatasetConverter
    from llamafactory.data.parser import DatasetAttr
    from llamafactory.data.processor.supervised import SupervisedDatasetProcessor
    from llamafactory.hparams import DataArguments

    record = make_record(1, context="France is a country in Europe.", history=HISTORY, length_bin="medium")
    processor = SupervisedDatasetProcessor(
        template=qwen_renderer.template,
        tokenizer=qwen_renderer.tokenizer,
        processor=None,
        data_args=DataArguments(template="qwen", cutoff_len=4096),
    )
    texts = {}
    for profile in ("situation", "oracle"):
        example = record_to_alpaca(record, profile=profile)
        attr = DatasetAttr("file", "x", history="history", system="system")
        converted = AlpacaDatasetConverter(attr, None)(example)
        train_ids = processor.preprocess_dataset({k: [v] for k, v in converted.items()})["input_ids"][0]
        prompt_ids = PromptBuilder("chat", qwen_renderer.tokenizer, qwen_renderer, profile=profile).build(record).ids
        assert train_ids[: len(prompt_ids)] == prompt_ids, profile
        texts[profile] = qwen_renderer.tokenizer.decode(prompt_ids)
    assert "family=qa; track=single; style=plain." in texts["situation"] and "You are Qwen" not in texts["situation"]
    assert "length" not in texts["situation"]
    assert "style=plain; length=medium." in texts["oracle"]
    # the situation profile is the same whatever the gold answer's length bin
    other = dict(record, length_bin="xlong", bucket_id="en|single|qa|xlong")
    situation = PromptBuilder("chat", qwen_renderer.tokenizer, qwen_renderer, profile="situation")
    assert situation.build(other).ids == situation.build(record).ids
    with pytest.raises(Exception, match="needs --mode chat"):
        PromptBuilder("base", qwen_renderer.tokenizer, profile="oracle")
