"""The generation driver behind ``polyalign generate``: records → prompts (the model's LLaMA-Factory template) →
an :class:`~polyalign_lf.inference.engines.Engine` → the resumable predictions file.

``hf`` and ``vllm`` are two engines behind one interface; the driver neither knows nor cares which one runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.core.registry import Registry
from polyalign_lf.data.lf_format import PROFILE_PROMPT_HELP, PROFILE_PROMPTS
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.inference.decoding import GROUP as DECODING
from polyalign_lf.inference.decoding import DecodingConfig
from polyalign_lf.inference.prompts import MODES
from polyalign_lf.io import check_output_file, progress
from polyalign_lf.options import option

COT_MAX_NEW_TOKENS = 512


HF = "hf engine"
VLLM = "vllm engine"


def _engine_names() -> tuple[str, ...]:
    return ENGINES.names()


@dataclass
class GenerateJob:
    """Everything one ``polyalign generate`` run needs: the command's options are generated from these fields
    (and :class:`DecodingConfig`'s)."""

    records: str = option(help="test records JSONL")
    out: str = option(help="predictions JSONL to write (resumable; see docs/evaluation.md)")
    model: str = option(help="model directory (its tokenizer renders the prompts; the hf engine loads its weights)")
    tokenizer: str | None = option(None, help="tokenizer directory if it differs from --model")
    engine: str = option(
        "hf",
        choices=_engine_names,
        help="hf: batched transformers generate; vllm: client of a running `vllm serve`",
    )
    mode: str = option(
        "chat",
        choices=MODES,
        help="chat: the LLaMA-Factory template the model was trained with; base: BaseLM plain prompt; "
        "cot: CoT baseline (final answer scored, reasoning kept)",
    )
    recipe: str | None = option(
        None, help="the model's LLaMA-Factory training recipe (reads template and default_system)"
    )
    template: str | None = option(None, help="LLaMA-Factory template name (overrides the recipe's)")
    default_system: str | None = option(None, help="system prompt override (as LLaMA-Factory's default_system)")
    # per-record profile system prompt; must match the training export's
    profile_prompt: str = option(
        "none",
        choices=PROFILE_PROMPTS,
        help="chat mode: the system prompt of every record (as the model's training export); " + PROFILE_PROMPT_HELP,
    )
    cot_chat: bool = option(False, help="cot mode: put the CoT instruction into the chat template")
    method: str | None = option(None, help="method label stored with the predictions (e.g. bucket_sft)")
    limit: int | None = option(
        None, type=opt.non_negative_int, help="only the first N records (smoke tests; not for reported numbers)"
    )
    overwrite: bool = option(False, help="discard a previous (partial or finished) run")
    max_model_len: int | None = option(
        None,
        type=opt.count,
        help="context window; longer prompts drop old history, then context (default: the model config's)",
    )
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    max_new_tokens: int | None = option(
        None,
        type=opt.count,
        group=DECODING,
        help=f"default {DecodingConfig.max_new_tokens} ({COT_MAX_NEW_TOKENS} in cot mode: the reasoning comes "
        "first); overrides decoding.max_new_tokens",
    )
    # hf engine
    batch_size: int = option(8, type=opt.count, group=HF, help="hf engine: prompts per generation batch (default 8)")
    device: str | None = opt.device_option("hf engine: device of the model", group=HF)
    dtype: str = opt.dtype_option("hf engine: model dtype", group=HF)
    # vllm engine
    server_url: str = option(
        "http://127.0.0.1:8000",
        group=VLLM,
        help="vllm engine: base URL of a running `vllm serve` (default: $VLLM_SERVER_URL, else http://127.0.0.1:8000)",
    )
    served_model_name: str | None = option(None, group=VLLM, help="default: the first model the server lists")
    api_key: str | None = option(None, group=VLLM, help="default: $VLLM_API_KEY")
    concurrency: int = option(128, type=opt.count, group=VLLM, help="requests kept in flight")
    timeout: float = option(600.0, type=opt.positive, group=VLLM, help="seconds per request")
    max_retries: int = option(
        5, type=opt.non_negative_int, group=VLLM, help="vllm engine: retries of a failed request (default 5)"
    )
    # vllm engine, server started for this job (one model per server): ``vllm_serve_cmd MODEL …`` on a free port
    vllm_serve: bool = option(
        False,
        group=VLLM,
        help="vllm engine: start `vllm serve MODEL` (the model as its positional argument) for this job on a free "
        "loopback port and stop it afterwards (instead of --server-url); its log is OUT.vllm.log",
    )
    vllm_serve_cmd: str = option(
        "vllm serve",
        group=VLLM,
        help="with --vllm-serve: the command that starts the server, e.g. '/opt/vllm-env/bin/vllm serve' "
        "(default: vllm serve)",
    )
    vllm_serve_args: str = option(
        "",
        group=VLLM,
        help="with --vllm-serve: extra `vllm serve` arguments as one string, written with '=': "
        "--vllm-serve-args='--tensor-parallel-size 8 --dtype bfloat16'",
    )
    vllm_startup_timeout: float = option(
        900.0,
        type=opt.positive,
        group=VLLM,
        help="with --vllm-serve: seconds to wait for the server to list the model (default 900)",
    )

    def resolved_decoding(self) -> DecodingConfig:
        """The decoding settings in force: ``max_new_tokens`` when given, else the mode's default length."""
        length = self.max_new_tokens
        if length is None and self.mode == "cot" and self.decoding.max_new_tokens == DecodingConfig.max_new_tokens:
            length = COT_MAX_NEW_TOKENS
        return dataclasses.replace(self.decoding, max_new_tokens=length) if length else self.decoding


@dataclass
class GenerateResult:
    rows: list[dict]
    total: int
    complete: bool
    failed: int
    failed_path: str


def max_model_len(model_path: str, override: int | None) -> int | None:
    """The context length: ``override``, else the model config's ``max_position_embeddings`` (None if unknown)."""
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


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError, ImportError) as exc:  # ImportError: a folder without tokenizer files
        reason = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ConfigError(
            f"cannot load the tokenizer from {path} ({exc.__class__.__name__}: {reason})\n"
            "  hint: --model (or --tokenizer) must be a model folder with its tokenizer files, or the name "
            "of a model in the local Hugging Face cache"
        ) from None


def resolve_template(job: GenerateJob) -> tuple[str | None, str | None]:
    """(template, default_system): the options, else the recipe's; chat modes need a template."""
    template, default_system = None, None
    if job.recipe:
        from polyalign_lf.integration.prompting import read_recipe_template

        template, default_system = read_recipe_template(job.recipe)
    template = job.template or template
    default_system = job.default_system if job.default_system is not None else default_system
    if job.mode == "chat" and not template:
        raise ConfigError(
            "--mode chat needs the model's LLaMA-Factory template: --recipe RECIPE.yaml or --template NAME"
        )
    if job.cot_chat and not template:
        raise ConfigError("--cot-chat needs --template or --recipe")
    if job.recipe:
        from polyalign_lf.integration.prompting import recipe_profile_prompt

        trained = recipe_profile_prompt(job.recipe)
        if trained is not None and trained != job.profile_prompt:
            raise ConfigError(
                f"the recipe's training rows carry profile prompt {trained!r} (export_manifest.json of its "
                f"dataset_dir) but this run prompts with {job.profile_prompt!r}: the model would be prompted "
                f"otherwise than it was trained\n  hint: pass --profile-prompt {trained}"
            )
    return template, default_system


# Generation engines: name -> factory(job, tokenizer, decoding, stop_token_ids) returning an engine with
# ``generate(requests)`` (inference/engines/__init__.py); another package adds one through the entry-point group
# ``polyalign_lf.engines``. Factories import their engine only when used (hf loads torch and the weights).
ENGINES: Registry[Callable[..., Any]] = Registry("generation engine", entry_point_group="polyalign_lf.engines")


@ENGINES.register("hf")
def _hf_engine(job: GenerateJob, tokenizer, decoding: DecodingConfig, stop_token_ids):
    from polyalign_lf.inference.engines.hf import HFEngine

    return HFEngine(
        job.model,
        tokenizer,
        decoding,
        stop_token_ids=stop_token_ids,
        device=job.device,
        dtype=job.dtype,
        batch_size=job.batch_size,
    )


@ENGINES.register("vllm")
def _vllm_engine(job: GenerateJob, tokenizer, decoding: DecodingConfig, stop_token_ids):
    from polyalign_lf.inference.engines.vllm_client import VLLMClientConfig, VLLMEngine

    return VLLMEngine(
        VLLMClientConfig(
            base_url=job.server_url,
            model=job.served_model_name,
            api_key=job.api_key or os.environ.get("VLLM_API_KEY"),
            concurrency=job.concurrency,
            timeout_s=job.timeout,
            max_retries=job.max_retries,
        ),
        decoding,
        stop_token_ids=stop_token_ids,
    )


def make_engine(job: GenerateJob, tokenizer, decoding: DecodingConfig, stop_token_ids):
    """The engine ``job.engine`` names."""
    return ENGINES.get(job.engine)(job, tokenizer, decoding, stop_token_ids)


@contextlib.contextmanager
def _job_server(job: GenerateJob):
    """The job as the engine sees it: with ``vllm_serve``, pointed at a ``vllm serve`` started for its model
    (and stopped afterwards); otherwise unchanged. Started only when something is left to generate."""
    if not (job.engine == "vllm" and job.vllm_serve):
        yield job
        return
    from polyalign_lf.inference.engines.vllm_server import managed_vllm_server

    with managed_vllm_server(
        job.model,
        command=job.vllm_serve_cmd,
        extra_args=job.vllm_serve_args,
        startup_timeout_s=job.vllm_startup_timeout,
        log_path=f"{job.out}.vllm.log",
    ) as url:
        yield dataclasses.replace(job, server_url=url, served_model_name=job.model)


def generate_predictions(job: GenerateJob) -> GenerateResult:
    """Run one generation job to its predictions file (resuming a partial one); see the module docstring."""
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.inference.engines import GenerationRequest
    from polyalign_lf.inference.output import PredictionWriter
    from polyalign_lf.inference.prompts import PromptBuilder

    check_output_file(job.out)
    if job.vllm_serve and job.engine != "vllm":
        raise ConfigError("--vllm-serve starts a vLLM server for the vllm engine: add --engine vllm (or drop it)")
    records = read_records(job.records)  # ids are unique: the reader refuses a repeat
    if job.limit is not None:
        records = records[: job.limit]
    if not records:
        raise InputError("no records to generate for", where=job.records)
    ids = [r["id"] for r in records]
    template, default_system = resolve_template(job)
    tokenizer_path = job.tokenizer or job.model
    tokenizer = load_tokenizer(tokenizer_path)
    renderer = None
    if job.mode == "chat" or job.cot_chat:
        from polyalign_lf.integration.prompting import load_chat_renderer

        renderer = load_chat_renderer(tokenizer, template, default_system)
    decoding = job.resolved_decoding().validate()
    max_len = max_model_len(job.model, job.max_model_len)
    if max_len is not None and max_len <= decoding.max_new_tokens:
        raise ConfigError(
            f"--max-new-tokens {decoding.max_new_tokens} leaves no room for the prompt in a {max_len}-token context"
        )
    builder = PromptBuilder(
        job.mode,
        tokenizer,
        renderer,
        max_prompt_tokens=(max_len - decoding.max_new_tokens) if max_len else None,
        profile=job.profile_prompt,
    )
    settings = {
        "model": os.path.abspath(job.model),
        "tokenizer": os.path.abspath(tokenizer_path),
        "engine": job.engine,
        "mode": job.mode,
        "template": template,
        "default_system": default_system,
        "profile_prompt": job.profile_prompt,
        "cot_chat": bool(job.cot_chat),
        "decoding": decoding.to_dict(),
        "max_model_len": max_len,
        "limit": job.limit,
        "method": job.method,
        "records": os.path.abspath(job.records),
    }
    writer = PredictionWriter(job.out, settings, ids, overwrite=job.overwrite)
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
    prompts = {rid: builder.build(by_id[rid]) for rid in progress(pending, desc="prompts", unit="rec")}

    def make_row(rid: str, completion) -> dict:
        record, built = by_id[rid], prompts[rid]
        row = {
            "id": rid,
            **postprocess(job.mode, completion.text, builder.stop_strings(record["language"])),
            "bucket_id": record["bucket_id"],
            "language": record["language"],
            "finish_reason": completion.finish_reason,
            "completion_tokens": completion.completion_tokens,
            "prompt_tokens": len(built.ids),
            "prompt_truncated": built.truncated,
            "mode": job.mode,
            "engine": job.engine,
        }
        if built.truncated:
            row["truncation"] = {
                "dropped_history_turns": built.dropped_history_turns,
                "context_truncated": built.context_truncated,
                "question_truncated": built.question_truncated,
            }
        if job.method:
            row["method"] = job.method
        return row

    requests = [
        GenerationRequest(rid, prompts[rid].ids, builder.stop_strings(by_id[rid]["language"])) for rid in pending
    ]
    bar = progress(total=len(pending), desc=f"generate ({job.engine})", unit="rec")

    def on_done(rid, completion) -> None:
        writer.add(make_row(rid, completion))
        bar.update(1)

    def on_fail(rid, error) -> None:
        writer.fail(rid, error)
        bar.update(1)

    try:
        if requests:
            with _job_server(job) as job_for_engine:
                engine = make_engine(
                    job_for_engine, tokenizer, decoding, renderer.stop_token_ids() if renderer else ()
                )
                engine.generate(requests, on_done, on_fail)
    except BaseException:
        writer.close()  # finished rows are already on disk; record the progress before leaving
        raise
    finally:
        bar.close()
    complete = writer.finish()
    rows = [writer.done[rid] for rid in ids if rid in writer.done]
    return GenerateResult(
        rows=rows, total=len(ids), complete=complete, failed=len(writer.failed), failed_path=str(writer.failed_path)
    )


def summary_lines(job: GenerateJob, result: GenerateResult) -> list[str]:
    """What ``polyalign generate`` prints about a finished job."""
    finish = Counter(r["finish_reason"] for r in result.rows)
    truncated = sum(1 for r in result.rows if r.get("prompt_truncated"))
    lines = [
        f"polyalign generate: {len(result.rows)}/{result.total} predictions ({dict(finish)}); "
        f"{truncated} prompt(s) shortened to fit"
    ]
    if job.mode == "cot":
        missing = sum(1 for r in result.rows if not r.get("final_answer_found"))
        lines.append(
            f"  CoT: {missing} output(s) without a recognisable final answer (whole output used as the answer)"
        )
    return lines
