"""Drive headless Chromium over the DevTools protocol (used to check and screenshot the static pages).

A page is served from a local directory by a throw-away ``http.server`` on 127.0.0.1 (exactly how raters
would serve it), and Chromium is started with its own temporary profile. Needs the ``chromium`` binary and the
``websockets`` package; :func:`find_chromium` returns None when the browser is absent so callers can skip.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    override = os.environ.get("POLYALIGN_CHROMIUM")
    if override:
        return override if shutil.which(override) or os.path.exists(override) else None
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@contextlib.contextmanager
def serve_directory(directory: str | os.PathLike) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) for the duration of the block; yields the base URL."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Browser:
    """A headless Chromium with one page target, driven through the DevTools protocol."""

    def __init__(self, binary: str | None = None, width: int = 1280, height: int = 1000, timeout_s: float = 30.0):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise RuntimeError("chromium not found (install it, e.g. `apt-get install chromium`)")
        self.timeout_s = timeout_s
        self.profile = tempfile.mkdtemp(prefix="polyalign-chromium-")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._ids = itertools.count(1)
        try:
            port = self._wait_for_port()
            self.http = f"http://127.0.0.1:{port}"
            from websockets.sync.client import connect

            version = self._get_json("/json/version")
            self.browser_ws = connect(version["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout_s)
            page = next(t for t in self._get_json("/json/list") if t.get("type") == "page")
            self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout_s)
            self.send("Page.enable")
            self.send("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited at start (code {self.process.returncode})")
            if marker.exists():
                lines = marker.read_text().split()
                if lines:
                    return int(lines[0])
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def _get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.http + path, timeout=self.timeout_s) as response:
            return json.loads(response.read())

    def _call(self, ws, method: str, params: dict | None = None) -> dict:
        call_id = next(self._ids)
        ws.send(json.dumps({"id": call_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + self.timeout_s
        while True:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def send(self, method: str, params: dict | None = None) -> dict:
        return self._call(self.ws, method, params)

    def send_browser(self, method: str, params: dict | None = None) -> dict:
        return self._call(self.browser_ws, method, params)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error in {expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"condition never became true: {expression}")

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def reload(self) -> None:
        self.evaluate("window.__polyalign_before_reload = true")
        self.send("Page.reload", {"ignoreCache": True})
        self.wait_for("document.readyState === 'complete' && !window.__polyalign_before_reload")

    def click(self, selector: str) -> None:
        """A real mouse click (press + release) at the centre of the element matched by ``selector``."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if box is None:
            raise LookupError(f"no element matches {selector!r}")
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1}
            )

    def type_text(self, selector: str, text: str) -> None:
        self.click(selector)
        self.send("Input.insertText", {"text": text})

    def allow_downloads(self, directory: str | os.PathLike) -> None:
        self.send_browser("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(directory)})

    def screenshot(self, path: str | os.PathLike, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 12000), "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        for ws in (getattr(self, "ws", None), getattr(self, "browser_ws", None)):
            if ws is not None:
                with contextlib.suppress(Exception):
                    ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def screenshot_page(
    directory: str | os.PathLike,
    out_png: str | os.PathLike,
    page: str = "index.html",
    width: int = 1280,
    height: int = 1000,
) -> Path:
    """Serve ``directory`` locally and save a full-page screenshot of ``page``."""
    with serve_directory(directory) as base, Browser(width=width, height=height) as browser:
        browser.goto(f"{base}/{page}")
        browser.evaluate("document.fonts.ready.then(() => true)")
        return browser.screenshot(out_png)
