"""A ``vllm serve`` started for one generation job and stopped after it (``polyalign generate --vllm-serve``).

vLLM serves one model per server, and a PolyAlign cell generates with six (BaseLM and each trained policy), so
``polyalign run --engine vllm`` has each ``generate`` start the server for its own model, on a free loopback
port, with ``--served-model-name`` set to that model (the client refuses a server that lists another name), and
stop it when the job is done, failed or interrupted. vLLM usually lives in an environment of its own: the
command that starts it is configurable (``--vllm-serve-cmd``, e.g. ``/opt/vllm-env/bin/vllm serve``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from polyalign_lf.errors import ConfigError

DEFAULT_SERVE_CMD = "vllm serve"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_argv(command: str, model: str, port: int, extra_args: str = "") -> list[str]:
    """The ``vllm serve`` command line for ``model`` on ``127.0.0.1:port``."""
    argv = shlex.split(command)
    if not argv:
        raise ConfigError("--vllm-serve-cmd is empty; e.g. --vllm-serve-cmd 'vllm serve'")
    return [
        *argv,
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--served-model-name",
        model,
        *shlex.split(extra_args or ""),
    ]


def _served_models(url: str) -> list[str] | None:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as response:
            return [m["id"] for m in json.loads(response.read()).get("data", [])]
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return None


def _tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return ""


@contextlib.contextmanager
def managed_vllm_server(
    model: str,
    *,
    command: str = DEFAULT_SERVE_CMD,
    extra_args: str = "",
    startup_timeout_s: float = 900.0,
    log_path: str | os.PathLike,
) -> Iterator[str]:
    """Start ``vllm serve model`` on a free loopback port, wait until it lists ``model``, yield its URL, and stop
    it (the whole process group) on exit. Its output goes to ``log_path``; a server that exits or does not come
    up in time is an error quoting the end of that log."""
    port = free_port()
    argv = serve_argv(command, model, port, extra_args)
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except FileNotFoundError:
            raise ConfigError(
                f"cannot start {argv[0]!r} (not found); install vLLM, or point --vllm-serve-cmd at its environment's "
                "`vllm serve` (e.g. --vllm-serve-cmd '/opt/vllm/bin/vllm serve'), or use --engine hf"
            ) from None
        try:
            print(f"polyalign generate: starting {shlex.join(argv)} (log: {log_path})", file=sys.stderr)
            deadline = time.monotonic() + startup_timeout_s
            while True:
                if process.poll() is not None:
                    raise ConfigError(
                        f"`{shlex.join(argv)}` exited with code {process.returncode} before serving "
                        f"(log {log_path}):\n{_tail(log_path)}"
                    )
                served = _served_models(url)
                if served is not None and model in served:
                    break
                if time.monotonic() > deadline:
                    raise ConfigError(
                        f"`{shlex.join(argv)}` did not serve {model} within {startup_timeout_s:.0f} s "
                        f"(--vllm-startup-timeout; log {log_path}):\n{_tail(log_path)}"
                    )
                time.sleep(1.0)
            yield url
        finally:
            _stop(process)


def _stop(process: subprocess.Popen, grace_s: float = 30.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
