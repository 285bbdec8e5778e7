"""A minimal client for OpenAI-compatible chat servers (vLLM, SGLang, llama.cpp, OpenAI, …), stdlib only.

The server is not trusted: every request has one total deadline (connect, send, status line, headers and body
together; ``timeout_s``), so a server that trickles bytes cannot hold a run past it. Transport failures
(connection refused, deadline, a body shorter than its Content-Length, HTTP 429/5xx) are retried with bounded
exponential back-off; a malformed answer (bad status line, invalid UTF-8, not JSON, ``content`` not a string)
and other HTTP errors are a failure of that request at once, with the reason, because retrying cannot fix them.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from polyalign_lf.errors import ConfigError

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class JudgeTransportError(RuntimeError):
    """The server could not be reached, kept failing after the allowed retries, or answered malformed."""


class _Retryable(Exception):
    """A transport failure worth another attempt."""


# Plausible ranges of a judge's settings (a config file is checked like the command-line options).
LIMITS: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "max_tokens": (1, 131072),
    "timeout_s": (0.001, 86400.0),
    "transport_retries": (0, 20),
    "backoff_s": (0.0, 600.0),
}


def check_judge_name(name: str, where: str) -> str:
    """A judge's name names its folder of judgments under --out: one plain file name."""
    from polyalign_lf.options import name_problem

    problem = name_problem(name)
    if problem:
        raise ConfigError(f"{where}: judge name {name!r} {problem}; it names a folder under --out")
    return name


def check_base_url(base_url: Any, where: str) -> str:
    """An http(s) URL with a host and a valid port, checked before any request is sent."""
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: base_url must be an http:// or https:// URL, got {base_url!r}")
    try:
        parts = urllib.parse.urlsplit(base_url)
        port = parts.port  # raises ValueError for 99999 or a malformed IPv6 address
    except ValueError as exc:
        raise ConfigError(f"{where}: base_url {base_url!r} is not a valid URL ({exc})") from None
    if not parts.hostname:
        raise ConfigError(f"{where}: base_url {base_url!r} has no host")
    if port == 0:
        raise ConfigError(f"{where}: base_url {base_url!r}: port 0 is not a server port (1-65535)")
    return base_url


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
        return cls(
            name=check_judge_name(name, f"--judge {spec!r}"),
            model=model,
            base_url=check_base_url(base_url, f"--judge {spec!r}"),
        )

    @classmethod
    def from_dict(cls, obj: dict[str, Any], where: str) -> JudgeEndpoint:
        if not isinstance(obj, dict):
            raise ConfigError(f"{where}: a judge must be a JSON object, got {type(obj).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = set(obj) - known
        if unknown or not {"name", "model", "base_url"} <= set(obj):
            raise ConfigError(
                f"{where}: a judge needs name, model, base_url; unknown keys: {sorted(unknown)}; "
                f"allowed: {sorted(known)}"
            )
        endpoint = cls(**obj)
        endpoint.check(where)
        return endpoint

    def check(self, where: str) -> None:
        """Every setting of the right type and in its plausible range (:data:`LIMITS`), the URL well formed."""
        for key in ("name", "model"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise ConfigError(f"{where}: {key} must be a non-empty string, got {getattr(self, key)!r}")
        check_judge_name(self.name, where)
        if self.api_key_env is not None and not isinstance(self.api_key_env, str):
            raise ConfigError(f"{where}: api_key_env must be a string (a variable name), got {self.api_key_env!r}")
        if not isinstance(self.json_schema, bool):
            raise ConfigError(f"{where}: json_schema must be true or false, got {self.json_schema!r}")
        if not isinstance(self.extra_body, dict):
            raise ConfigError(f"{where}: extra_body must be an object, got {self.extra_body!r}")
        for key, (low, high) in LIMITS.items():
            value = getattr(self, key)
            integer = key in ("max_tokens", "transport_retries")
            if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
                kind = "an integer" if integer else "a number"
                raise ConfigError(f"{where}: {key} must be {kind}, got {value!r}")
            if not (math.isfinite(value) and low <= value <= high):
                raise ConfigError(f"{where}: {key} = {value!r} is outside its plausible range [{low:g}, {high:g}]")
        check_base_url(self.base_url, where)


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
    url = check_base_url(endpoint.base_url, f"judge {endpoint.name}").rstrip("/") + "/chat/completions"
    data = json.dumps(payload).encode("utf-8")
    last_error = ""
    for attempt in range(endpoint.transport_retries + 1):
        if attempt:
            time.sleep(endpoint.backoff_s * 2 ** (attempt - 1))
        try:
            status, body = post_with_deadline(url, data, headers, endpoint.timeout_s)
        except _Retryable as exc:
            last_error = f"{url}: {exc}"
            continue
        if status >= 400:
            last_error = f"HTTP {status} from {url}: {body[:300].decode('utf-8', 'replace')}"
            if status in RETRYABLE_STATUS:
                continue
            raise JudgeTransportError(last_error)
        return answer_text(body, url)
    raise JudgeTransportError(f"giving up after {endpoint.transport_retries + 1} attempts: {last_error}")


def answer_text(body: bytes, url: str) -> str:
    """``choices[0].message.content`` of a response body, or a :class:`JudgeTransportError` saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JudgeTransportError(
            f"{url}: the response is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JudgeTransportError(f"{url}: the response is not JSON ({exc.msg}): {text[:200]!r}") from None
    try:
        content = obj["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise JudgeTransportError(f"{url}: unexpected response shape {text[:200]}") from None
    if content is None:
        return ""
    if not isinstance(content, str):
        raise JudgeTransportError(f"{url}: message.content is {type(content).__name__}, expected a string")
    return content


def post_with_deadline(url: str, data: bytes, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
    """POST ``data``; return (status, body). One deadline bounds the whole exchange: a watchdog shuts the socket
    down when it passes, so neither a slow connect nor a server trickling bytes outlives ``timeout_s``."""
    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    deadline = time.monotonic() + timeout_s
    connection = connection_class(parts.hostname, parts.port, timeout=timeout_s)
    expired = threading.Event()

    def stop() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout_s, stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=data, headers=headers)
        response = connection.getresponse()
        chunks = []
        while time.monotonic() < deadline:
            chunk = response.read1(65536)
            if not chunk:
                break
            chunks.append(chunk)
        if expired.is_set() or time.monotonic() >= deadline:
            raise _Retryable(f"no complete response within {timeout_s:g} s")
        if response.length:  # Content-Length promised more than arrived
            raise _Retryable(f"the body ended {response.length} byte(s) short of its Content-Length")
        return response.status, b"".join(chunks)
    except http.client.BadStatusLine as exc:
        if expired.is_set():
            raise _Retryable(f"no complete response within {timeout_s:g} s") from None
        raise JudgeTransportError(f"{url}: not an HTTP response (status line {str(exc)[:80]!r})") from None
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise _Retryable(f"no complete response within {timeout_s:g} s") from None
        raise _Retryable(f"{type(exc).__name__}: {exc}") from None
    finally:
        watchdog.cancel()
        connection.close()
