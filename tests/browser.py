"""A tiny Chrome DevTools Protocol client for the system's headless Chromium, over
`--remote-debugging-pipe` (fd 3 in, fd 4 out, NUL-terminated JSON): no websocket library, no browser
download. Used by the HTML report's browser tests and by `make screenshot`:

    python -m tests.browser REPORT.html OUT.png [WIDTH]
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _high(fd: int) -> int:
    """`fd` moved above 9, so that the shell's redirections to 3 and 4 cannot clobber it."""
    import fcntl

    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return new


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium and one page; `events` keeps every CDP event received."""

    def __init__(self, binary: str | None = None, timeout: float = 60.0):
        binary = binary or chromium_binary()
        if binary is None:
            raise BrowserError("chromium is not installed (.ci/install-browser installs it)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="perftool-chromium-")
        self._log = open(os.path.join(self.profile, "chromium.log"), "wb")  # a pipe could fill up and block it
        to_chrome_r, self._to_chrome = (_high(fd) for fd in os.pipe())
        self._from_chrome, from_chrome_w = (_high(fd) for fd in os.pipe())
        args = [binary, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
                "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars", f"--user-data-dir={self.profile}",
                "about:blank"]
        def pipes_as_3_and_4() -> None:  # the pipe protocol's fixed numbers: fd 3 it reads, fd 4 it writes
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        # our own descriptors are close-on-exec (PEP 446): only 0-4 reach Chromium
        self.proc = subprocess.Popen(args, preexec_fn=pipes_as_3_and_4, close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    # ---- protocol
    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("timed out waiting for chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                err = Path(self._log.name).read_bytes().decode(errors="replace")[-2000:]
                raise BrowserError(f"chromium closed the pipe: {err}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, since: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for e in self.events[since:]:
                if e.get("method") == method:
                    return e
            reply = self._read_message(deadline)
            if "method" in reply:
                self.events.append(reply)

    # ---- page
    def open(self, path: Path, width: int = 1280, height: int = 900) -> None:
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        since = len(self.events)
        self.call("Page.navigate", {"url": Path(path).resolve().as_uri()})
        self.wait_for("Page.loadEventFired", since)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, full_page: bool = True) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            w, h = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params |= {"captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def pdf(self) -> bytes:
        return base64.b64decode(self.call("Page.printToPDF", {"printBackground": True})["data"])

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def console_problems(self) -> list[str]:
        return self.console_problems_of(self.events)

    @staticmethod
    def console_problems_of(events: list[dict[str, Any]]) -> list[str]:
        """Console errors and warnings, uncaught exceptions and browser log errors (CSP violations…)."""
        out = []
        for e in events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')}")
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False)
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    width = int(argv[2]) if len(argv) > 2 else 1100
    with Browser() as b:
        b.open(source, width=width, height=1500)
        # the top of the report: header, score, charts (the README's picture, not the whole page)
        png = b.screenshot(full_page=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(png)
    print(f"{target}: {len(png):,} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
