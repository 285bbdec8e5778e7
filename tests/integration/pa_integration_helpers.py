"""Fixtures for the LLaMA-Factory integration tests: a dataset_info.json directory with tiny SFT and
preference datasets carrying PolyAlign's columns, and an independent (naive) recomputation of the step
losses from the model's log-probs."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

SFT_ROWS = [  # buckets A,A,A,B → w_A = 4/(2·3) = 2/3, w_B = 4/(2·1) = 2: weights matter at batch size 1
    {
        "instruction": "What is the capital of France?",
        "input": "",
        "output": "Paris is the capital.",
        "bucket_id": "en|qa|wiki|short",
    },
    {
        "instruction": "Say hello.",
        "input": "",
        "output": "Hi, how can I help you today? Thanks a lot.",
        "bucket_id": "en|qa|wiki|short",
    },
    {"instruction": "Count to three.", "input": "", "output": "1, 2, 3", "bucket_id": "en|qa|wiki|short"},
    {
        "instruction": "北京是哪里的首都？",
        "input": "",
        "output": "北京是中国的首都。谢谢你的帮助。",
        "bucket_id": "zh|qa|wiki|long",
    },
]
PREF_ROWS = [
    {
        "instruction": "What is the capital of France?",
        "input": "",
        "chosen": "Paris.",
        "rejected": "I think it depends on the context, but usually yes.",
        "bucket_id": "en|qa|wiki|short",
        "weight": 1.0,
        "chosen_score": 0.1,
        "rejected_score": 0.9,
    },
    {
        "instruction": "Say hello.",
        "input": "",
        "chosen": "Hi there!",
        "rejected": "Machine learning models learn patterns.",
        "bucket_id": "en|qa|wiki|short",
        "weight": 3.0,
        "chosen_score": 0.4,
        "rejected_score": 0.2,
    },
    {
        "instruction": "请简要回答这个问题。",
        "input": "",
        "chosen": "好的。",
        "rejected": "我们需要更多的信息才能判断，答案在第二段。",
        "bucket_id": "zh|qa|wiki|short",
        "weight": 0.5,
        "chosen_score": 0.0,
        "rejected_score": 1.5,
    },
    {
        "instruction": "Count to three.",
        "input": "",
        "chosen": "1, 2, 3",
        "rejected": "numbers: 42, 2024, 3.14",
        "bucket_id": "en|qa|wiki|short",
        "weight": 2.0,
        "chosen_score": 0.3,
        "rejected_score": 0.7,
    },
]
_WORDS = ["river", "cloud", "paper", "stone", "light", "north", "quiet", "green", "table", "music", "salt", "bridge"]


def imbalanced_sft_rows(sizes: dict[str, int]) -> list[dict]:
    """Rows in buckets of the given sizes, interleaved in a fixed order, answers of varied length."""
    rows, k = [], 0
    pending = {bucket: n for bucket, n in sizes.items()}
    while any(pending.values()):
        for bucket in sizes:
            if pending[bucket]:
                pending[bucket] -= 1
                words = " ".join(_WORDS[(k + j) % len(_WORDS)] for j in range(2 + (k * 7) % 9))
                rows.append(
                    {
                        "instruction": f"Question {k}: describe the {_WORDS[k % len(_WORDS)]}.",
                        "input": "",
                        "output": f"The answer is {words}.",
                        "bucket_id": bucket,
                    }
                )
                k += 1
    return rows


SFT16_ROWS = imbalanced_sft_rows(
    {"en|single|qa|short": 9, "en|single|qa|long": 4, "zh|single|qa|short": 2, "en|multi|dialogue|short": 1}
)
EPOCH_SIZES = {
    "en|single|qa|short": 48,
    "en|single|qa|long": 12,
    "zh|single|qa|short": 3,
    "en|multi|dialogue|short": 1,
}
EPOCH_ROWS = imbalanced_sft_rows(EPOCH_SIZES)
PREF16_ROWS = [
    {
        "instruction": f"Question {k}: name a {_WORDS[k % 12]}.",
        "input": "",
        "chosen": f"A {_WORDS[(k + 3) % 12]}.",
        "rejected": f"Well, it depends on the {_WORDS[(k + 5) % 12]} and context.",
        "bucket_id": "en|single|qa|short",
        "weight": [0.5, 1.0, 4.0, 2.5][k % 4] * (1 + (k % 3)),
        "chosen_score": 0.1 * (k % 5),
        "rejected_score": 0.2 + 0.15 * (k % 4),
    }
    for k in range(16)
]
SFT_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output"}
PREF_COLUMNS = {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"}
PREF_PA_COLUMNS = dict(
    PREF_COLUMNS, bucket_id="bucket_id", weight="weight", chosen_score="chosen_score", rejected_score="rejected_score"
)


def _write(d: Path, name: str, rows: list[dict]) -> None:
    (d / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def build_pa_data(d: Path) -> Path:
    _write(d, "sft4", SFT_ROWS)
    _write(d, "sft16", SFT16_ROWS)
    _write(
        d,
        "sft_multi",
        [dict(r, history=[["Hello.", "Hi, what do you need?"]] if i % 2 else []) for i, r in enumerate(SFT_ROWS)],
    )
    _write(d, "sft_epoch", EPOCH_ROWS)
    _write(d, "pref16", PREF16_ROWS)
    _write(d, "pref4", PREF_ROWS)
    _write(d, "sft_neg", [dict(SFT_ROWS[0], weight=-1.0)] + SFT_ROWS[1:])
    _write(d, "sft_invalid", [dict(SFT_ROWS[0], output=None)] + SFT_ROWS[1:])  # LLaMA-Factory drops row 0
    _write(d, "sft_null_weight", [dict(r, weight=None if i == 1 else 1.0) for i, r in enumerate(SFT_ROWS)])
    (d / "sft_nan_weight.json").write_text(  # NaN as Python's json writes it; `datasets` reads it as null
        json.dumps([dict(r, weight=float("nan") if i == 2 else 1.0) for i, r in enumerate(SFT_ROWS)]), encoding="utf-8"
    )
    (d / "pref_nan_weight.jsonl").write_text(
        "".join(
            json.dumps(dict(r, weight=float("nan") if i == 1 else r["weight"])) + "\n" for i, r in enumerate(PREF_ROWS)
        ),
        encoding="utf-8",
    )
    # a column of strings (a mixed column does not even load in `datasets`)
    _write(
        d,
        "pref_string_weight",
        [dict(r, weight="heavy" if i == 3 else str(r["weight"])) for i, r in enumerate(PREF_ROWS)],
    )
    # numbers and one string in the same column: `datasets` itself cannot read this file
    (d / "pref_mixed_weight.jsonl").write_text(
        "".join(
            json.dumps(dict(r, weight="heavy" if i == 2 else r["weight"])) + "\n" for i, r in enumerate(PREF_ROWS)
        ),
        encoding="utf-8",
    )
    _write(d, "sft_bad_bucket", [dict(r, bucket_id="hello world") if i == 2 else r for i, r in enumerate(SFT_ROWS)])
    _write(d, "sft_int_bucket", [dict(r, bucket_id=7) for r in SFT_ROWS])
    _write(d, "sft_eval_unknown", [dict(SFT_ROWS[0], bucket_id="fr|qa|wiki|short")])
    _write(
        d,
        "pref_identical",
        [dict(r, rejected=" " + r["chosen"].upper() + "\u200b") if i == 1 else r for i, r in enumerate(PREF_ROWS)],
    )
    _write(d, "pref_huge_weight", [dict(r, weight=1e300) if i == 1 else r for i, r in enumerate(PREF_ROWS)])
    _write(d, "pref_huge_score", [dict(r, rejected_score=-1e300) if i == 2 else r for i, r in enumerate(PREF_ROWS)])
    _write(d, "pref_invalid", [dict(r, rejected=None) if i == 2 else r for i, r in enumerate(PREF_ROWS)])
    _write(
        d,
        "pref_unscored",
        [dict(r, chosen_score=None, rejected_score=None) if i % 2 else r for i, r in enumerate(PREF_ROWS)],
    )
    info = {
        "sft4": {"file_name": "sft4.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id")},
        "sft4_weighted": {"file_name": "sft4.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id")},
        "sft16": {"file_name": "sft16.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id")},
        "sft_multi": {
            "file_name": "sft_multi.json",
            "columns": dict(SFT_COLUMNS, bucket_id="bucket_id", history="history"),
        },
        "sft_epoch": {"file_name": "sft_epoch.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id")},
        "pref16": {
            "file_name": "pref16.json",
            "ranking": True,
            "columns": PREF_PA_COLUMNS,
        },
        "sft_plain": {"file_name": "sft4.json", "columns": SFT_COLUMNS},
        "sft_neg": {"file_name": "sft_neg.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id", weight="weight")},
        "sft_invalid": {"file_name": "sft_invalid.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id")},
        "sft_null_weight": {
            "file_name": "sft_null_weight.json",
            "columns": dict(SFT_COLUMNS, bucket_id="bucket_id", weight="weight"),
        },
        "sft_nan_weight": {
            "file_name": "sft_nan_weight.json",
            "columns": dict(SFT_COLUMNS, bucket_id="bucket_id", weight="weight"),
        },
        "sft_eval_unknown": {
            "file_name": "sft_eval_unknown.json",
            "columns": dict(SFT_COLUMNS, bucket_id="bucket_id"),
        },
        "sft_typo": {"file_name": "sft4.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket")},
        "sft_bad_bucket": {"file_name": "sft_bad_bucket.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id")},
        "sft_int_bucket": {"file_name": "sft_int_bucket.json", "columns": dict(SFT_COLUMNS, bucket_id="bucket_id")},
        "pref4": {
            "file_name": "pref4.json",
            "ranking": True,
            "columns": PREF_PA_COLUMNS,
        },
        "pref_invalid": {
            "file_name": "pref_invalid.json",
            "ranking": True,
            "columns": PREF_PA_COLUMNS,
        },
        "pref_plain": {"file_name": "pref4.json", "ranking": True, "columns": PREF_COLUMNS},
        **{
            name: {
                "file_name": f"{name}.json",
                "ranking": True,
                "columns": dict(
                    PREF_COLUMNS,
                    bucket_id="bucket_id",
                    weight="weight",
                    chosen_score="chosen_score",
                    rejected_score="rejected_score",
                ),
            }
            for name in ("pref_huge_weight", "pref_huge_score", "pref_identical")
        },
        "pref_nan_weight": {
            "file_name": "pref_nan_weight.jsonl",
            "ranking": True,
            "columns": PREF_PA_COLUMNS,
        },
        "pref_string_weight": {
            "file_name": "pref_string_weight.json",
            "ranking": True,
            "columns": PREF_PA_COLUMNS,
        },
        "pref_mixed_weight": {
            "file_name": "pref_mixed_weight.jsonl",
            "ranking": True,
            "columns": PREF_PA_COLUMNS,
        },
        "pref_unscored": {
            "file_name": "pref_unscored.json",
            "ranking": True,
            "columns": PREF_PA_COLUMNS,
        },
    }
    (d / "dataset_info.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return d


# ---------------------------------------------------------------- independent recomputation (naive loops)


def naive_sequence_logps(model, input_ids: list[int], labels: list[int]) -> tuple[float, int]:
    """Σ log p(label_t | prefix) over labelled positions, token by token, in float64; and the count."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([input_ids])).logits[0].double()
    total, count = 0.0, 0
    for t in range(1, len(input_ids)):
        if labels[t] == -100:
            continue
        row = logits[t - 1]
        total += float(row[labels[t]] - torch.logsumexp(row, dim=0))
        count += 1
    return total, count


def load_model(path: Path):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype="float32")
    model.eval()
    return model


def naive_bucket_weights(bucket_ids: list[str]) -> list[float]:
    counts = Counter(bucket_ids)
    n, k = len(bucket_ids), len(counts)
    return [n / (k * counts[b]) for b in bucket_ids]


def naive_sft_losses(model_dir: Path, tokenized: Path, split: str = "train", limit: int | None = None) -> list[float]:
    """ℓ_i (token-mean NLL of the answer) of every row (or the first ``limit``) of a tokenized split, in order."""
    from datasets import load_from_disk

    data = load_from_disk(str(tokenized))[split]
    model = load_model(model_dir)
    losses = []
    for row in data.select(range(min(limit, len(data)))) if limit is not None else data:
        logp, count = naive_sequence_logps(model, row["input_ids"], row["labels"])
        losses.append(-logp / count)
    return losses


def naive_hdpo_values(
    model_dir: Path, ref_dir: Path, tokenized: Path, rows: list[dict], beta: float, lam: float
) -> list[float]:
    """x_i = ℓ_i + λ R_i of every pair of the tokenized training set, in dataset order."""
    from datasets import load_from_disk

    data = load_from_disk(str(tokenized))["train"]
    assert len(data) == len(rows)
    policy, ref = load_model(model_dir), load_model(ref_dir)
    values = []
    for row, raw in zip(data, rows):
        pc, _ = naive_sequence_logps(policy, row["chosen_input_ids"], row["chosen_labels"])
        pr, _ = naive_sequence_logps(policy, row["rejected_input_ids"], row["rejected_labels"])
        rc, _ = naive_sequence_logps(ref, row["chosen_input_ids"], row["chosen_labels"])
        rr, _ = naive_sequence_logps(ref, row["rejected_input_ids"], row["rejected_labels"])
        z = beta * ((pc - pr) - (rc - rr))
        dpo = math.log1p(math.exp(-z))  # −log σ(z)
        p = 1.0 / (1.0 + math.exp(-beta * (pc - pr)))
        reg = p * raw["chosen_score"] + (1 - p) * raw["rejected_score"]
        values.append(dpo + lam * reg)
    return values


def expected_bucket_sft_loss(model_dir: Path, tokenized: Path, bucket_ids: list[str]) -> tuple[float, float]:
    """(weighted step loss, unweighted mean) over all examples of the tokenized training set."""
    losses = naive_sft_losses(model_dir, tokenized)
    assert len(losses) == len(bucket_ids)
    weights = naive_bucket_weights(bucket_ids)
    weighted = sum(w * l for w, l in zip(weights, losses)) / sum(weights)
    return weighted, sum(losses) / len(losses)


def expected_hdpo_loss(
    model_dir: Path, ref_dir: Path, tokenized: Path, rows: list[dict], beta: float, lam: float
) -> tuple[float, float]:
    """(HDPO step loss Σw(ℓ+λR)/Σw, unweighted mean of ℓ+λR) over all pairs of the tokenized training set."""
    values = naive_hdpo_values(model_dir, ref_dir, tokenized, rows, beta, lam)
    weights = [raw["weight"] for raw in rows]
    weighted = sum(w * v for w, v in zip(weights, values)) / sum(weights)
    return weighted, sum(values) / len(values)


def read_coefficient_logs(prefix: Path) -> list[dict]:
    """Rows written by the trainers under POLYALIGN_LOG_COEFFICIENTS=prefix, all ranks, in (step, rank) order."""
    rows = []
    for path in sorted(prefix.parent.glob(prefix.name + ".rank*.jsonl")):
        rows.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return sorted(rows, key=lambda r: (r["step"], r["rank"]))


# ---------------------------------------------------------------- in-process LLaMA-Factory helpers


def base_args(model_dir: Path, data_dir: Path, out_dir: Path, **overrides) -> dict:
    from polyalign_testing.lf import tiny_train_config

    dataset = overrides.pop("dataset", "sft4")
    return tiny_train_config(model_dir, dataset, data_dir, out_dir, **overrides)


def parse_in_process(args):
    """LLaMA-Factory's (patched) get_train_args, as `llamafactory-cli train` calls it."""
    from llamafactory.train import tuner

    return tuner.get_train_args(args)


def load_dataset_in_process(args: dict):
    """Parse a recipe and load its dataset through LLaMA-Factory inside the PolyAlign scope (no model)."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.model import load_tokenizer

    from polyalign_lf.integration.lf_v0.plugin import polyalign_run

    model_args, data_args, training_args, finetuning_args, _ = parse_in_process(args)
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    stage = finetuning_args.polyalign_stage
    with polyalign_run(stage, model_args, data_args, training_args, finetuning_args):
        return get_dataset(
            template,
            model_args,
            data_args,
            training_args,
            stage="rm" if stage == "hdpo" else "sft",
            **tokenizer_module,
        )


def load_plain_dataset_in_process(args: dict):
    """A plain LLaMA-Factory recipe's dataset, loaded as `llamafactory-cli train` would (no PolyAlign scope)."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.model import load_tokenizer

    model_args, data_args, training_args, finetuning_args, _ = parse_in_process(args)
    assert not hasattr(finetuning_args, "polyalign_args")
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    return get_dataset(template, model_args, data_args, training_args, stage=finetuning_args.stage, **tokenizer_module)


class LengthCritic:
    """A test critic type: score = number of characters / 10 (+1 for the bucket 'zh|qa|wiki|short')."""

    calls: list[int] = []

    @classmethod
    def load(cls, bundle_dir, config, device=None):
        return cls()

    def score(self, texts, bucket_ids):
        LengthCritic.calls.append(len(texts))
        return [len(t) / 10 + (1.0 if b == "zh|qa|wiki|short" else 0.0) for t, b in zip(texts, bucket_ids)]
