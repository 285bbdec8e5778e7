"""``polyalign generate``: predictions for test records with the vLLM server client or transformers."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError, InputError


def generate_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.inference.decoding import DecodingConfig
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
    parser.add_argument(
        "--engine",
        choices=("hf", "vllm"),
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
    h.add_argument("--device", default=None, help="cpu | cuda | cuda:1 … (default: cuda if available)")
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


COT_MAX_NEW_TOKENS = 512


def _max_model_len(model_path: str, override: int | None) -> int | None:
    if override:
        return override
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model_path)
    except (OSError, ValueError):
        return None
    value = getattr(config, "max_position_embeddings", None)
    return int(value) if isinstance(value, int) and value > 0 else None


def postprocess(mode: str, text: str, stops: list[str]) -> dict[str, Any]:
    """Row fields derived from a raw completion for one mode."""
    from polyalign_lf.inference.prompts import cut_at_stops, extract_final_answer

    if mode == "cot":
        answer, reasoning, found = extract_final_answer(text)
        return {"prediction": answer, "reasoning": reasoning, "final_answer_found": found, "raw_output": text}
    if mode == "base":
        return {"prediction": cut_at_stops(text, stops).strip()}
    return {"prediction": text.strip()}


def generate_main(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from polyalign_lf.data.schema import read_records
    from polyalign_lf.inference.decoding import DecodingConfig
    from polyalign_lf.inference.output import PredictionWriter
    from polyalign_lf.inference.prompts import PromptBuilder
    from polyalign_lf.io import check_output_file, progress

    check_output_file(args.out)
    records = read_records(args.records)  # ids are unique: the reader refuses a repeat
    if args.limit is not None:
        records = records[: args.limit]
    if not records:
        raise InputError("no records to generate for", where=args.records)
    ids = [r["id"] for r in records]

    template, default_system = (None, None)
    if args.recipe:
        from polyalign_lf.integration.prompting import read_recipe_template

        template, default_system = read_recipe_template(args.recipe)
    template = args.template or template
    default_system = args.default_system if args.default_system is not None else default_system
    if args.mode == "chat" and not template:
        raise ConfigError(
            "--mode chat needs the model's LLaMA-Factory template: --recipe RECIPE.yaml or --template NAME"
        )
    if args.cot_chat and not template:
        raise ConfigError("--cot-chat needs --template or --recipe")

    tokenizer_path = args.tokenizer or args.model
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    except (
        OSError,
        ValueError,
        ImportError,
    ) as exc:  # ImportError: a folder without tokenizer files falls back to sentencepiece
        reason = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ConfigError(
            f"cannot load the tokenizer from {tokenizer_path} ({exc.__class__.__name__}: {reason})\n"
            "  hint: --model (or --tokenizer) must be a model folder with its tokenizer files, or the name "
            "of a model in the local Hugging Face cache"
        ) from None
    renderer = None
    if args.mode == "chat" or args.cot_chat:
        from polyalign_lf.integration.prompting import load_chat_renderer

        renderer = load_chat_renderer(tokenizer, template, default_system)

    decoding = DecodingConfig(
        temperature=args.temperature,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        frequency_penalty=args.frequency_penalty,
        presence_penalty=args.presence_penalty,
        max_new_tokens=args.max_new_tokens
        or (COT_MAX_NEW_TOKENS if args.mode == "cot" else DecodingConfig.max_new_tokens),
        seed=args.seed,
    ).validate()
    max_len = _max_model_len(args.model, args.max_model_len)
    builder = PromptBuilder(
        args.mode, tokenizer, renderer, max_prompt_tokens=(max_len - decoding.max_new_tokens) if max_len else None
    )
    if max_len is not None and max_len <= decoding.max_new_tokens:
        raise ConfigError(
            f"--max-new-tokens {decoding.max_new_tokens} leaves no room for the prompt in a {max_len}-token context"
        )

    settings = {
        "model": os.path.abspath(args.model),
        "tokenizer": os.path.abspath(tokenizer_path),
        "engine": args.engine,
        "mode": args.mode,
        "template": template,
        "default_system": default_system,
        "cot_chat": bool(args.cot_chat),
        "decoding": decoding.to_dict(),
        "max_model_len": max_len,
        "limit": args.limit,
        "method": args.method,
        "records": os.path.abspath(args.records),
    }
    writer = PredictionWriter(args.out, settings, ids, overwrite=args.overwrite)
    by_id = {r["id"]: r for r in records}
    pending = writer.pending_ids
    if writer.done:
        print(
            f"polyalign generate: resuming — {len(writer.done)} of {len(ids)} already done"
            + (f" ({writer.torn_lines} torn line(s) will be regenerated)" if writer.torn_lines else "")
            + (
                f" ({writer.stray_rows} earlier row(s) for records not in this run are ignored)"
                if writer.stray_rows
                else ""
            ),
            file=sys.stderr,
        )

    prompts: dict[str, Any] = {}
    for rid in progress(pending, desc="prompts", unit="rec"):
        prompts[rid] = builder.build(by_id[rid])

    def make_row(rid: str, completion) -> dict:
        record = by_id[rid]
        built = prompts[rid]
        stops = builder.stop_strings(record["language"])
        row = {
            "id": rid,
            **postprocess(args.mode, completion.text, stops),
            "bucket_id": record["bucket_id"],
            "language": record["language"],
            "finish_reason": completion.finish_reason,
            "completion_tokens": completion.completion_tokens,
            "prompt_tokens": len(built.ids),
            "prompt_truncated": built.truncated,
            "mode": args.mode,
            "engine": args.engine,
        }
        if built.truncated:
            row["truncation"] = {
                "dropped_history_turns": built.dropped_history_turns,
                "context_truncated": built.context_truncated,
                "question_truncated": built.question_truncated,
            }
        if args.method:
            row["method"] = args.method
        return row

    bar = progress(total=len(pending), desc=f"generate ({args.engine})", unit="rec")
    try:
        if args.engine == "hf":
            from polyalign_lf.inference.engines.hf import HFEngine

            engine = HFEngine(
                args.model,
                tokenizer,
                decoding,
                stop_token_ids=renderer.stop_token_ids() if renderer else (),
                device=args.device,
                dtype=args.dtype,
                batch_size=args.batch_size,
            )
            # length-sorted batches waste less padding; output order is restored by record id at the end
            order = sorted(pending, key=lambda rid: len(prompts[rid].ids))
            for start in range(0, len(order), args.batch_size):
                batch = order[start : start + args.batch_size]
                for rid, completion in zip(batch, engine.generate_batch([prompts[rid].ids for rid in batch])):
                    writer.add(make_row(rid, completion))
                bar.update(len(batch))
        else:
            from polyalign_lf.inference.engines.vllm_client import VLLMClient, VLLMClientConfig

            client = VLLMClient(
                VLLMClientConfig(
                    base_url=args.server_url,
                    model=args.served_model_name,
                    api_key=args.api_key or os.environ.get("VLLM_API_KEY"),
                    concurrency=args.concurrency,
                    timeout_s=args.timeout,
                    max_retries=args.max_retries,
                )
            )
            jobs = []
            for rid in pending:
                params = decoding.openai_params()
                stops = builder.stop_strings(by_id[rid]["language"])
                if stops:
                    params["stop"] = stops
                jobs.append((rid, prompts[rid].ids, params))

            def on_done(rid, completion):
                writer.add(make_row(rid, completion))
                bar.update(1)

            def on_fail(rid, error):
                writer.fail(rid, error)
                bar.update(1)

            client.run_sync(jobs, on_done, on_fail)
    except BaseException:
        writer.close()  # finished rows are already on disk; record the progress before leaving
        raise
    finally:
        bar.close()
    complete = writer.finish()
    rows = [writer.done[rid] for rid in ids if rid in writer.done]
    finish = Counter(r["finish_reason"] for r in rows)
    truncated = sum(1 for r in rows if r.get("prompt_truncated"))
    print(
        f"polyalign generate: {len(rows)}/{len(ids)} predictions ({dict(finish)}); {truncated} prompt(s) shortened to fit"
    )
    if args.mode == "cot":
        missing = sum(1 for r in rows if not r.get("final_answer_found"))
        print(f"  CoT: {missing} output(s) without a recognisable final answer (whole output used as the answer)")
    if not complete:
        print(
            f"polyalign generate: {len(writer.failed)} record(s) failed (see {writer.failed_path}); "
            f"{args.out} is not written until all succeed — rerun the same command to retry them",
            file=sys.stderr,
        )
        return 1
    print(f"  wrote {args.out}")
    return 0
