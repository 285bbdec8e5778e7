"""Client of a running ``vllm serve`` (OpenAI-compatible ``/v1/completions``).

vLLM and LLaMA-Factory pin different transformers versions, so the server normally runs in its own
environment; this client runs next to LLaMA-Factory, renders prompts with its templates and sends token ids.
Many requests are kept in flight (``concurrency``) so the server's continuous batching stays saturated;
connection errors, timeouts, 429 and 5xx answers are retried with exponential back-off; other 4xx answers
(e.g. a prompt longer than the server's context) fail that record only.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.inference.engines import Completion

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class RequestFailed(Exception):
    """A request that failed permanently (after retries, or with a non-retryable status)."""


@dataclass
class VLLMClientConfig:
    base_url: str = "http://127.0.0.1:8000"
    model: str | None = None  # served model name; None → the first entry of GET /v1/models
    api_key: str | None = None
    concurrency: int = 128
    timeout_s: float = 600.0
    max_retries: int = 5
    backoff_s: float = 1.0


def _root(base_url: str) -> str:
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


class VLLMClient:
    def __init__(self, config: VLLMClientConfig):
        try:
            import httpx  # noqa: F401
        except ImportError:
            raise ConfigError("the vllm engine needs httpx: pip install 'polyalign-lf[vllm-client]'") from None
        self.config = config
        self.root = _root(config.base_url)
        self.headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}

    async def _served_model(self, client) -> str:
        """The model to ask for: the configured one, checked against what the server lists (a server started for
        another model must not answer for this one), or the first listed."""
        try:
            response = await client.get(f"{self.root}/v1/models")
            response.raise_for_status()
            models = [m["id"] for m in response.json().get("data", [])]
        except Exception as exc:  # noqa: BLE001 - any failure here means the server is not usable
            raise ConfigError(
                f"cannot list models at {self.root}/v1/models ({exc.__class__.__name__}: {exc}); "
                "is `vllm serve` running there? (--server-url)"
            ) from None
        if not models:
            raise ConfigError(f"{self.root} serves no model")
        if self.config.model and self.config.model not in models:
            raise ConfigError(
                f"{self.root} serves {', '.join(models)}, not {self.config.model}; start `vllm serve` for that model "
                "(its --served-model-name must match) or pass the right --served-model-name"
            )
        return self.config.model or models[0]

    async def _complete(self, client, body: dict[str, Any]) -> Completion:
        import httpx

        delay = self.config.backoff_s
        last_error = ""
        for attempt in range(self.config.max_retries + 1):
            try:
                response = await client.post(f"{self.root}/v1/completions", json=body)
                if response.status_code == 200:
                    choice = response.json()["choices"][0]
                    usage = response.json().get("usage") or {}
                    return Completion(
                        text=choice.get("text") or "",
                        finish_reason=choice.get("finish_reason") or "stop",
                        completion_tokens=int(usage.get("completion_tokens") or 0),
                    )
                last_error = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUS:
                    raise RequestFailed(last_error)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last_error = f"{exc.__class__.__name__}: {exc}"
            except (KeyError, IndexError, ValueError) as exc:
                last_error = f"malformed response ({exc.__class__.__name__}: {exc})"
            if attempt < self.config.max_retries:
                await asyncio.sleep(delay * (1 + random.random() * 0.1))
                delay *= 2
        raise RequestFailed(f"gave up after {self.config.max_retries + 1} attempts; last error: {last_error}")

    async def run(
        self,
        jobs: Sequence[tuple[str, list[int] | str, dict[str, Any]]],
        on_done: Callable[[str, Completion], None],
        on_fail: Callable[[str, str], None],
    ) -> None:
        """Send every ``(key, prompt, params)``; call ``on_done``/``on_fail`` as results arrive (any order)."""
        import httpx

        limits = httpx.Limits(
            max_connections=self.config.concurrency, max_keepalive_connections=self.config.concurrency
        )
        async with httpx.AsyncClient(timeout=self.config.timeout_s, limits=limits, headers=self.headers) as client:
            model = await self._served_model(client)
            queue: asyncio.Queue = asyncio.Queue()
            for job in jobs:
                queue.put_nowait(job)

            async def worker() -> None:
                while True:
                    try:
                        key, prompt, params = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        completion = await self._complete(client, {"model": model, "prompt": prompt, **params})
                    except RequestFailed as exc:
                        on_fail(key, str(exc))
                    else:
                        on_done(key, completion)

            workers = [asyncio.create_task(worker()) for _ in range(max(1, min(self.config.concurrency, len(jobs))))]
            await asyncio.gather(*workers)

    def run_sync(self, jobs, on_done, on_fail) -> None:
        asyncio.run(self.run(jobs, on_done, on_fail))


class VLLMEngine:
    """:class:`~polyalign_lf.inference.engines.Engine` over a running ``vllm serve`` (OpenAI completions API)."""

    name = "vllm"

    def __init__(self, config: VLLMClientConfig, decoding, stop_token_ids=()):
        self.client = VLLMClient(config)
        self.decoding = decoding
        # the chat template's stop tokens, as the transformers engine uses them: a template's end-of-turn token
        # that is not the tokenizer's eos (llama3's <|eom_id|>, say) would otherwise run on to max_tokens
        self.stop_token_ids = sorted(set(stop_token_ids))

    def generate(self, requests, on_done, on_fail) -> None:
        jobs = []
        for request in requests:
            params = self.decoding.openai_params()
            if self.stop_token_ids:
                params["stop_token_ids"] = list(self.stop_token_ids)
            if request.stop:
                params["stop"] = list(request.stop)
            jobs.append((request.key, list(request.prompt_ids), params))
        self.client.run_sync(jobs, on_done, on_fail)
