"""bf16 against fp32 on this CPU, with a real model: an AdamW training step and batched generation.

What LLaMA-Factory's ``bf16: true`` + ``use_cpu: true`` does on CPU is mixed precision through the HF Trainer
and accelerate: fp32 weights and optimizer, forward/backward under ``torch.autocast("cpu", bfloat16)``. The
training step is measured that way; generation (``polyalign generate --dtype bfloat16``) loads bf16 weights.
Both sides start from the same weights and see the same batches of real human answers (the reference
implementation's sample excerpt in ``tests/fixtures/reference_sample``, chat-formatted, 256 tokens); modes
are interleaved step by step so that load on a shared machine hits both alike, and the first steps are
warm-up. The loss check compares the two runs' losses step by step over ``--steps`` steps.

    python benchmarks/bench_cpu_bf16.py                      # installs SmolLM2-135M-Instruct into a temp dir
    python benchmarks/bench_cpu_bf16.py --model DIR --quick  # an installed `polyalign models install` folder

Writes benchmarks/results/cpu_bf16.json (``--quick``: benchmarks/results/quick/cpu_bf16.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _results import write_result  # noqa: E402

SPEEDUP_GOAL = 1.5
LOSS_GOAL = 0.01  # bf16 loss within 1% of fp32's at every step
SAMPLE = ROOT / "tests" / "fixtures" / "reference_sample" / "dist_sft_val.json"


def batches(tokenizer, batch_size: int, seq_len: int, count: int):
    """``count`` batches of chat-formatted real (question, human answer) pairs, padded/cut to ``seq_len``."""

    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))
    texts = []
    for row in rows:
        question = (row["instruction"] + "\n\n" + row.get("input", "")).strip()
        messages = [{"role": "user", "content": question}, {"role": "assistant", "content": row["output"]}]
        texts.append(tokenizer.apply_chat_template(messages, tokenize=False))
    out = []
    for k in range(count):
        chunk = [texts[(k * batch_size + i) % len(texts)] for i in range(batch_size)]
        encoded = tokenizer(chunk, padding="max_length", truncation=True, max_length=seq_len, return_tensors="pt")
        labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
        out.append({"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], "labels": labels})
    return out


def train_steps(model_dir: Path, steps: int, warmup: int, batch_size: int, seq_len: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    data = batches(tokenizer, batch_size, seq_len, steps + warmup)
    runs = {}
    for mode in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
        model.train()
        runs[mode] = {
            "model": model,
            "optimizer": torch.optim.AdamW(model.parameters(), lr=1e-5),
            "times": [],
            "losses": [],
        }
    for k, batch in enumerate(data):
        for mode, run in runs.items():  # interleaved: fp32 step k, then bf16 step k
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
                loss = run["model"](**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(run["model"].parameters(), 1.0)
            run["optimizer"].step()
            run["optimizer"].zero_grad(set_to_none=True)
            elapsed = time.perf_counter() - start
            run["losses"].append(float(loss.detach()))  # every step: step 1 compares identical weights
            if k >= warmup:
                run["times"].append(elapsed)
    fp32, bf16 = runs["fp32"], runs["bf16"]
    rel = [abs(b - f) / f for f, b in zip(fp32["losses"], bf16["losses"])]
    return {
        "fp32_step_s": statistics.median(fp32["times"]),
        "bf16_step_s": statistics.median(bf16["times"]),
        "speedup": statistics.median(fp32["times"]) / statistics.median(bf16["times"]),
        "loss_fp32": fp32["losses"],
        "loss_bf16": bf16["losses"],
        "loss_max_rel_diff": max(rel),
        "loss_mean_rel_diff": statistics.mean(rel),
        "loss_step1_rel_diff": rel[0],  # same weights, same batch: the precision alone
    }


def generation(model_dir: Path, repeats: int, prompts: int, new_tokens: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    tokenizer.padding_side = "left"
    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))[:prompts]
    chats = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": r["instruction"]}], tokenize=False, add_generation_prompt=True
        )
        for r in rows
    ]
    encoded = tokenizer(chats, padding=True, return_tensors="pt")
    models = {
        mode: AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype).eval()
        for mode, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16))
    }
    times = {mode: [] for mode in models}
    for _ in range(repeats + 1):  # the first round is warm-up
        for mode, model in models.items():
            start = time.perf_counter()
            with torch.inference_mode():
                model.generate(**encoded, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
            times[mode].append(time.perf_counter() - start)
    fp32, bf16 = statistics.median(times["fp32"][1:]), statistics.median(times["bf16"][1:])
    return {"fp32_s": fp32, "bf16_s": bf16, "speedup": fp32 / bf16, "prompts": prompts, "new_tokens": new_tokens}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", type=Path, default=None, help="an installed model folder (default: install SmolLM2)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument(
        "--steps", type=int, default=None, help="measured training steps per mode (default 20; quick 6)"
    )
    parser.add_argument("--out", default=None, help="result JSON")
    args = parser.parse_args(argv)
    steps = args.steps or (6 if args.quick else 20)
    if steps < 2:
        parser.error("--steps must be >= 2")
    from polyalign_lf.integration.doctor import cpu_bf16

    with tempfile.TemporaryDirectory(prefix="bench-bf16-") as scratch:
        model_dir = args.model
        if model_dir is None:
            from polyalign_lf.models.install import install_model

            model_dir = Path(scratch) / "smollm2"
            install_model("smollm2-135m-instruct", model_dir)
        native = cpu_bf16()
        print(f"CPU native bf16: {native or 'none'}; model {model_dir}; {steps} training steps per mode")
        train = train_steps(model_dir, steps, warmup=2, batch_size=4, seq_len=256)
        gen = generation(model_dir, repeats=1 if args.quick else 3, prompts=8, new_tokens=32)
    figures = {
        "train_step.bf16_speedup": round(train["speedup"], 3),
        "train_step.fp32_s": round(train["fp32_step_s"], 3),
        "train_step.bf16_s": round(train["bf16_step_s"], 3),
        "loss.max_rel_diff": round(train["loss_max_rel_diff"], 5),
        "loss.step1_rel_diff": round(train["loss_step1_rel_diff"], 5),
        "generation.bf16_speedup": round(gen["speedup"], 3),
    }
    goals = {
        "train_step.bf16_speedup": f">= {SPEEDUP_GOAL} (AdamW step, 4 x 256 tokens, autocast as LF's bf16 + use_cpu)",
        "loss.max_rel_diff": f"<= {LOSS_GOAL} (bf16 vs fp32 loss, every one of {steps + 2} steps, trajectories apart)",
        "loss.step1_rel_diff": f"<= {LOSS_GOAL} (step 1: same weights, same batch)",
        "generation.bf16_speedup": f">= {SPEEDUP_GOAL} (8 prompts x 32 new tokens, bf16 weights)",
    }
    for key, value in figures.items():
        print(f"{key} {value}" + (f"   (goal {goals[key]})" if key in goals else ""))
    met = figures["train_step.bf16_speedup"] >= SPEEDUP_GOAL and figures["loss.max_rel_diff"] <= LOSS_GOAL
    path = write_result(
        "cpu_bf16",
        figures,
        goals,
        quick=args.quick,
        out=args.out,
        settings={
            "cpu_native_bf16": native,
            "steps": steps,
            "batch": "4 x 256 tokens",
            "model": str(args.model or "smollm2"),
        },
        training=train,
        generation=gen,
    )
    print(f"{'training goals met' if met else 'GOAL MISSED'}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
