"""``polyalign generate``: predictions for test records with the vLLM server client or transformers."""

from __future__ import annotations

import argparse
import os
import sys

import polyalign_lf.options as opt


def generate_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.inference.decoding import DecodingConfig
    from polyalign_lf.inference.generate import COT_MAX_NEW_TOKENS
    from polyalign_lf.inference.prompts import MODES

    d = DecodingConfig()
    parser.add_argument("--records", required=True, help="test records JSONL")
    parser.add_argument("--out", required=True, help="predictions JSONL to write (resumable; see docs/evaluation.md)")
    parser.add_argument(
        "--model",
        required=True,
        help="model directory (its tokenizer renders the prompts; the hf engine loads its weights)",
    )
    parser.add_argument("--tokenizer", default=None, help="tokenizer directory if it differs from --model")
    from polyalign_lf.inference.generate import ENGINES

    parser.add_argument(
        "--engine",
        choices=ENGINES.names(),
        default="hf",
        help="hf: batched transformers generate; vllm: client of a running `vllm serve`",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="chat",
        help="chat: the LLaMA-Factory template the model was trained with; base: BaseLM plain prompt; "
        "cot: CoT baseline (final answer scored, reasoning kept)",
    )
    parser.add_argument(
        "--recipe", default=None, help="the model's LLaMA-Factory training recipe (reads template and default_system)"
    )
    parser.add_argument("--template", default=None, help="LLaMA-Factory template name (overrides the recipe's)")
    parser.add_argument(
        "--default-system", default=None, help="system prompt override (as LLaMA-Factory's default_system)"
    )
    parser.add_argument(
        "--cot-chat", action="store_true", help="cot mode: put the CoT instruction into the chat template"
    )
    from polyalign_lf.data.lf_format import add_profile_prompt_option

    add_profile_prompt_option(
        parser, "chat mode: the system prompt of every record (as the model's training export); "
    )
    parser.add_argument("--method", default=None, help="method label stored with the predictions (e.g. bucket_sft)")
    parser.add_argument(
        "--limit",
        type=opt.non_negative_int,
        default=None,
        help="only the first N records (smoke tests; not for reported numbers)",
    )
    parser.add_argument("--overwrite", action="store_true", help="discard a previous (partial or finished) run")
    parser.add_argument(
        "--max-model-len",
        type=opt.count,
        default=None,
        help="context window; longer prompts drop old history, then context (default: the model config's)",
    )
    g = parser.add_argument_group("decoding (defaults: paper Appendix C)")
    g.add_argument(
        "--temperature", type=opt.non_negative, default=d.temperature, help="sampling temperature (0 = greedy)"
    )
    g.add_argument(
        "--top-p", type=opt.number(0.0, 1.0, above=True), default=d.top_p, help="nucleus sampling mass, in (0, 1]"
    )
    g.add_argument(
        "--repetition-penalty",
        type=opt.positive,
        default=d.repetition_penalty,
        help="HF-style repetition penalty (> 0; 1 = off)",
    )
    g.add_argument(
        "--frequency-penalty",
        type=opt.number(-2.0, 2.0),
        default=d.frequency_penalty,
        help="OpenAI-style frequency penalty, in [-2, 2]",
    )
    g.add_argument(
        "--presence-penalty",
        type=opt.number(-2.0, 2.0),
        default=d.presence_penalty,
        help="OpenAI-style presence penalty, in [-2, 2]",
    )
    g.add_argument(
        "--max-new-tokens",
        type=opt.count,
        default=None,
        help=f"default {d.max_new_tokens} ({COT_MAX_NEW_TOKENS} in cot mode: the reasoning comes first)",
    )
    g.add_argument("--seed", type=opt.integer(), default=d.seed, help="sampling seed")
    h = parser.add_argument_group("hf engine")
    h.add_argument(
        "--batch-size", type=opt.count, default=8, help="hf engine: prompts per generation batch (default 8)"
    )
    h.add_argument(
        "--device", type=opt.torch_device, default=None, help="cpu | cuda | cuda:1 … (default: cuda if available)"
    )
    h.add_argument(
        "--dtype",
        choices=("auto", "float32", "bfloat16", "float16"),
        default="auto",
        help="hf engine: model dtype (auto: bf16 on a bf16-capable GPU, else float32)",
    )
    v = parser.add_argument_group("vllm engine")
    v.add_argument(
        "--server-url",
        default=os.environ.get("VLLM_SERVER_URL", "http://127.0.0.1:8000"),
        help="vllm engine: base URL of a running `vllm serve` (e.g. http://127.0.0.1:8000)",
    )
    v.add_argument("--served-model-name", default=None, help="default: the first model the server lists")
    v.add_argument("--api-key", default=None, help="default: $VLLM_API_KEY")
    v.add_argument("--concurrency", type=opt.count, default=128, help="requests kept in flight")
    v.add_argument("--timeout", type=opt.positive, default=600.0, help="seconds per request")
    v.add_argument(
        "--max-retries",
        type=opt.non_negative_int,
        default=5,
        help="vllm engine: retries of a failed request (default 5)",
    )
    v.add_argument(
        "--vllm-serve",
        action="store_true",
        help="vllm engine: start `vllm serve MODEL` (the model as its positional argument) for this job on a free "
        "loopback port and stop it afterwards "
        "(instead of --server-url); its log is OUT.vllm.log",
    )
    v.add_argument(
        "--vllm-serve-cmd",
        default="vllm serve",
        help="with --vllm-serve: the command that starts the server, e.g. '/opt/vllm-env/bin/vllm serve' "
        "(default: vllm serve)",
    )
    v.add_argument(
        "--vllm-serve-args",
        default="",
        help="with --vllm-serve: extra `vllm serve` arguments as one string, written with '=': "
        "--vllm-serve-args='--tensor-parallel-size 8 --dtype bfloat16'",
    )
    v.add_argument(
        "--vllm-startup-timeout",
        type=opt.positive,
        default=900.0,
        help="with --vllm-serve: seconds to wait for the server to list the model (default 900)",
    )


def generate_main(args: argparse.Namespace) -> int:
    from polyalign_lf.inference.decoding import DecodingConfig
    from polyalign_lf.inference.generate import COT_MAX_NEW_TOKENS, GenerateJob, generate_predictions, summary_lines

    decoding = DecodingConfig(
        temperature=args.temperature,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        frequency_penalty=args.frequency_penalty,
        presence_penalty=args.presence_penalty,
        max_new_tokens=args.max_new_tokens
        or (COT_MAX_NEW_TOKENS if args.mode == "cot" else DecodingConfig.max_new_tokens),
        seed=args.seed,
    )
    fields = set(GenerateJob.__dataclass_fields__) - {"decoding"}
    job = GenerateJob(decoding=decoding, **{name: getattr(args, name) for name in fields})
    result = generate_predictions(job)
    print("\n".join(summary_lines(job, result)))
    if not result.complete:
        print(
            f"polyalign generate: {result.failed} record(s) failed (see {result.failed_path}); "
            f"{args.out} is not written until all succeed — rerun the same command to retry them",
            file=sys.stderr,
        )
        return 1
    print(f"  wrote {args.out}")
    return 0
