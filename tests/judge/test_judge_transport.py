"""The judge does not trust its server: each malformed answer is one failed request with its reason (never a
traceback), one total deadline bounds a request however slowly the server trickles bytes, and settings and URLs
are checked before any request is sent."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from polyalign_lf.errors import ConfigError
from polyalign_lf.judge.client import JudgeEndpoint, JudgeTransportError, chat_completion


class RawServer:
    """A TCP server on 127.0.0.1 that answers every connection with ``reply(conn)`` (raw bytes, any pace)."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    request = b""
                    while b"\r\n\r\n" not in request:
                        request += conn.recv(65536)
                    self.reply(conn)
                except OSError:
                    pass

    def close(self):
        self.stopped.set()
        self.sock.close()
        self.thread.join(timeout=5)


def _http(body: bytes, *, length: int | None = None, status: bytes = b"HTTP/1.1 200 OK") -> bytes:
    length = len(body) if length is None else length
    return (
        status + b"\r\nContent-Type: application/json\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n" + body
    )


def _endpoint(url, **kw):
    return JudgeEndpoint(name="j", model="m", base_url=url, transport_retries=0, backoff_s=0.0, **kw)


@pytest.mark.parametrize(
    "raw, reason",
    [
        (_http(b'{"choices": [{"message": {"content": {"a": 1}}}]}'), "message.content is dict"),
        (_http(b'{"choices": [{"message": {"content": 7}}]}'), "message.content is int"),
        (_http(b'{"choices": [{"message": {"content": "\xff\xfe"}}]}'), "not valid UTF-8"),
        (_http(b"<html>busy</html>"), "not JSON"),
        (_http(b'{"choices": []}'), "unexpected response shape"),
        (b"SSH-2.0-OpenSSH_9.0\r\n\r\n", "not an HTTP response"),
        (_http(b'{"choices": [', length=500), "short of its Content-Length"),
    ],
)
def test_malformed_answers_are_one_failed_request_with_the_reason(raw, reason):
    server = RawServer(lambda conn: conn.sendall(raw))
    try:
        with pytest.raises(JudgeTransportError, match=reason):
            chat_completion(_endpoint(server.url, timeout_s=5), [{"role": "user", "content": "hi"}])
    finally:
        server.close()


def test_a_trickling_server_cannot_outlive_the_deadline():
    def trickle(conn):
        for byte in _http(b'{"choices": [{"message": {"content": "ok"}}]}'):
            conn.sendall(bytes([byte]))
            time.sleep(0.25)

    server = RawServer(trickle)
    try:
        start = time.monotonic()
        with pytest.raises(JudgeTransportError, match="no complete response within 1 s"):
            chat_completion(_endpoint(server.url, timeout_s=1.0), [{"role": "user", "content": "hi"}])
        assert time.monotonic() - start < 2.5
    finally:
        server.close()


def test_a_well_formed_answer_still_works():
    server = RawServer(lambda conn: conn.sendall(_http(b'{"choices": [{"message": {"content": "fine"}}]}')))
    try:
        assert chat_completion(_endpoint(server.url, timeout_s=5), [{"role": "user", "content": "hi"}]) == "fine"
    finally:
        server.close()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"timeout_s": -5}, "timeout_s = -5 is outside"),
        ({"timeout_s": "soon"}, "timeout_s must be a number"),
        ({"backoff_s": 1e308}, r"backoff_s = 1e\+308 is outside"),
        ({"transport_retries": 2.5}, "transport_retries must be an integer"),
        ({"max_tokens": True}, "max_tokens must be an integer"),
        ({"temperature": float("nan")}, "temperature = nan is outside"),
        ({"json_schema": "false"}, "json_schema must be true or false"),
        ({"base_url": "http://[::1/v1"}, "is not a valid URL"),
        ({"base_url": "http://127.0.0.1:99999/v1"}, "is not a valid URL"),
        ({"base_url": "ftp://host/v1"}, "must be an http:// or https:// URL"),
    ],
)
def test_config_values_are_checked_like_options(change, message):
    entry = {"name": "j", "model": "m", "base_url": "http://127.0.0.1:8000/v1", **change}
    with pytest.raises(ConfigError, match=message):
        JudgeEndpoint.from_dict(entry, "judges.yaml: judge #1")


def test_short_form_url_is_checked():
    with pytest.raises(ConfigError, match="not a valid URL"):
        JudgeEndpoint.from_spec("j=m@http://127.0.0.1:99999/v1")
