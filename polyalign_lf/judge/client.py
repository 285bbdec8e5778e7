"""A minimal client for OpenAI-compatible chat servers (vLLM, SGLang, llama.cpp, OpenAI, …), stdlib only.

Transport errors (connection refused, timeouts, HTTP 429/5xx) are retried with bounded exponential back-off;
other HTTP errors are reported at once because retrying cannot fix them.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from polyalign_lf.errors import ConfigError

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class JudgeTransportError(RuntimeError):
    """The server could not be reached or kept failing after the allowed retries."""


@dataclass
class JudgeEndpoint:
    """One judge: a model served behind an OpenAI-compatible ``/v1`` base URL."""

    name: str
    model: str
    base_url: str
    api_key_env: str | None = None
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 384
    json_schema: bool = True  # ask for structured output (response_format json_schema)
    extra_body: dict[str, Any] = field(
        default_factory=dict
    )  # e.g. {"chat_template_kwargs": {"enable_thinking": false}}
    timeout_s: float = 120.0
    transport_retries: int = 3
    backoff_s: float = 1.0

    @classmethod
    def from_spec(cls, spec: str) -> JudgeEndpoint:
        """Parse ``NAME=MODEL@BASE_URL`` (the short ``--judge`` form)."""
        name, sep, rest = spec.partition("=")
        model, at, base_url = rest.rpartition("@")
        if not sep or not at or not name or not model or not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--judge {spec!r}: expected NAME=MODEL@BASE_URL, e.g. qwen3_8b=Qwen/Qwen3-8B@http://127.0.0.1:8000/v1"
            )
        return cls(name=name, model=model, base_url=base_url)

    @classmethod
    def from_dict(cls, obj: dict[str, Any], where: str) -> JudgeEndpoint:
        known = set(cls.__dataclass_fields__)
        unknown = set(obj) - known
        if unknown or not {"name", "model", "base_url"} <= set(obj):
            raise ConfigError(
                f"{where}: a judge needs name, model, base_url; unknown keys: {sorted(unknown)}; "
                f"allowed: {sorted(known)}"
            )
        return cls(**obj)


def chat_completion(
    endpoint: JudgeEndpoint, messages: list[dict[str, str]], response_schema: dict[str, Any] | None = None
) -> str:
    """POST one chat completion and return the answer text."""
    payload: dict[str, Any] = {
        "model": endpoint.model,
        "messages": messages,
        "temperature": endpoint.temperature,
        "top_p": endpoint.top_p,
        "max_tokens": endpoint.max_tokens,
        **endpoint.extra_body,
    }
    if endpoint.json_schema and response_schema is not None:
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "rubric_scores", "schema": response_schema},
        }
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key_env:
        key = os.environ.get(endpoint.api_key_env)
        if not key:
            raise ConfigError(f"judge {endpoint.name}: environment variable {endpoint.api_key_env} is not set")
        headers["Authorization"] = f"Bearer {key}"
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    data = json.dumps(payload).encode("utf-8")
    last_error = ""
    for attempt in range(endpoint.transport_retries + 1):
        if attempt:
            time.sleep(endpoint.backoff_s * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=endpoint.timeout_s) as response:
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            last_error = f"HTTP {exc.code} from {url}: {detail}"
            if exc.code in RETRYABLE_STATUS:
                continue
            raise JudgeTransportError(last_error) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, json.JSONDecodeError) as exc:
            last_error = f"{url}: {exc}"
            continue
        try:
            return body["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise JudgeTransportError(f"{url}: unexpected response shape {str(body)[:200]}") from None
    raise JudgeTransportError(f"giving up after {endpoint.transport_retries + 1} attempts: {last_error}")
