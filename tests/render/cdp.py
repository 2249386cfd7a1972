"""A small Chrome DevTools Protocol client for headless Chromium, over --remote-debugging-pipe.

Chromium reads commands from fd 3 and writes replies and events to fd 4, each message one
NUL-terminated JSON text: no port, no websocket, nothing on the network. The browser runs
in its own process group with a fresh profile and is stopped by that group's id.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lab.prereq import require

CHROMIUM = "/usr/bin/chromium"
# Flags that work on this kind of machine; nothing is downloaded, synced or updated.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-pipe")


def chromium_path() -> str | None:
    """The Chromium binary if installed (Debian's package), else None."""
    return shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)


@contextlib.contextmanager
def running_browser(home: Path) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile in `home`, stopped on exit (a missing
    Chromium is a lab prerequisite: skipped locally, a failure under CI)."""
    binary = chromium_path()
    require(binary is not None, "chromium (Debian's package)")
    assert binary is not None
    browser = Browser(home / "profile", home / "chromium.log").launch(binary)
    try:
        yield browser
    finally:
        browser.close()


class CDPError(RuntimeError):
    """A DevTools command answered with an error, or no answer came in time."""


@dataclass
class Browser:
    """One headless Chromium process driven through the DevTools pipe."""

    profile: Path
    log: Path
    pid: int = 0
    _to: int = -1
    _from: int = -1
    _next: int = 0
    _replies: dict[int, dict[str, Any]] = field(default_factory=dict)
    _events: list[dict[str, Any]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    def launch(self, binary: str) -> Browser:
        """Start Chromium with the pipe on fds 3 (commands) and 4 (replies)."""
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        # Move the child's ends out of the way first so the dup2s onto 3 and 4 cannot clobber.
        child_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(out_w)
        log_fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        argv = [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        try:
            self.pid = os.posix_spawn(binary, argv, dict(os.environ), file_actions=[
                (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, log_fd, 1),
                (os.POSIX_SPAWN_DUP2, log_fd, 2), (os.POSIX_SPAWN_DUP2, child_r, 3),
                (os.POSIX_SPAWN_DUP2, child_w, 4)], setpgroup=0)
        finally:
            for fd in (child_r, child_w, log_fd, null):
                os.close(fd)
        self._to, self._from = cmd_w, out_r
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        """Reader thread: split the pipe into messages, file replies and events."""
        buf = b""
        while True:
            try:
                chunk = os.read(self._from, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._events.append({"method": "_closed"})
                    self._cond.notify_all()
                return
            buf += chunk
            *messages, buf = buf.split(b"\0")
            with self._cond:
                for raw in messages:
                    msg = json.loads(raw)
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self._events.append(msg)
                self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """Run one DevTools command and return its result; CDPError on error or timeout."""
        with self._cond:
            self._next += 1
            ident = self._next
        msg: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"{method}: no reply within {timeout} s")
                self._cond.wait(left)
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def events(self, session: str | None = None, method: str | None = None,
               ) -> list[dict[str, Any]]:
        """Events received so far, optionally only one session's or one method's."""
        with self._cond:
            return [e for e in self._events
                    if (session is None or e.get("sessionId") == session)
                    and (method is None or e.get("method") == method)]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Block until `condition()` holds (re-checked as messages arrive); CDPError if not."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError("condition not met in time")
                self._cond.wait(left)

    def new_page(self, width: int = 1280, height: int = 900, mobile: bool = False) -> Page:
        """A fresh tab with its own session, domains enabled, viewport set."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"], target)
        for domain in ("Page", "Runtime", "Network", "Log"):
            page.send(f"{domain}.enable")
        page.viewport(width, height, mobile)
        return page

    def close(self) -> None:
        """Ask Chromium to quit, then stop its whole process group."""
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        deadline = time.monotonic() + 5
        while self.pid and time.monotonic() < deadline:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        for fd in (self._to, self._from):
            with contextlib.suppress(OSError):
                os.close(fd)


@dataclass
class Page:
    """One tab: navigate, evaluate script, take screenshots, read what happened."""

    browser: Browser
    session: str
    target: str

    def send(self, method: str, params: dict[str, Any] | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        """A DevTools command in this tab's session."""
        return self.browser.send(method, params, self.session, timeout)

    def viewport(self, width: int, height: int, mobile: bool = False) -> None:
        """Emulate a screen (a phone when `mobile`)."""
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1,
            "mobile": mobile})

    def open(self, url: str, timeout: float = 60.0) -> None:
        """Navigate and wait for the load event; a dialog the page opens is dismissed (and
        stays recorded for `dialogs`)."""
        loads = len(self.events("Page.loadEventFired"))
        seen = [len(self.dialogs())]
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while True:
            self.browser.wait_until(
                lambda: len(self.events("Page.loadEventFired")) > loads
                or len(self.dialogs()) > seen[0], max(deadline - time.monotonic(), 0.1))
            if len(self.dialogs()) > seen[0]:
                seen[0] = len(self.dialogs())
                self.send("Page.handleJavaScriptDialog", {"accept": False})
                continue
            return

    def js(self, expression: str) -> Any:
        """Evaluate `expression` in the page and return its value (JSON-able)."""
        reply = self.send("Runtime.evaluate", {"expression": expression,
                                               "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in reply:
            raise CDPError(f"script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        """Save a PNG of the viewport (or of the whole page)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 12000), "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self) -> bytes:
        """The page printed to PDF with its print stylesheet."""
        data = self.send("Page.printToPDF", {"printBackground": True,
                                            "preferCSSPageSize": True}, timeout=120)["data"]
        return base64.b64decode(data)

    def events(self, method: str | None = None) -> list[dict[str, Any]]:
        """This tab's events so far."""
        return self.browser.events(self.session, method)

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries (e.g. CSP violations)."""
        out = []
        for e in self.events("Runtime.consoleAPICalled"):
            if e["params"]["type"] in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", "")))
                                    for a in e["params"]["args"]))
        out += [str(e["params"]["exceptionDetails"]) for e in
                self.events("Runtime.exceptionThrown")]
        out += [e["params"]["entry"]["text"] for e in self.events("Log.entryAdded")
                if e["params"]["entry"]["level"] == "error"]
        return out

    def requests(self) -> list[str]:
        """URLs of every request the page made."""
        return [e["params"]["request"]["url"] for e in self.events("Network.requestWillBeSent")]

    def dialogs(self) -> list[str]:
        """Messages of JavaScript dialogs (alert, confirm, prompt) the page opened."""
        return [e["params"]["message"] for e in self.events("Page.javascriptDialogOpening")]

    def close(self) -> None:
        """Close the tab."""
        with contextlib.suppress(CDPError):
            self.browser.send("Target.closeTarget", {"targetId": self.target})


# Time (ms) from typing one host's name (NAME, a JS string) into a report's host filter
# until that host alone is shown: the browser tests and benchmarks/render.py use it.
HOST_FILTER_JS = """new Promise(done => {
    const input = document.querySelector('#hosts .filter-bar input');
    const shown = document.querySelector('#hosts .shown');
    const start = performance.now();
    const seen = new MutationObserver(() => {
      if (shown.textContent.startsWith('1 of')) { seen.disconnect();
        done(performance.now() - start); } });
    seen.observe(shown, {childList: true, characterData: true, subtree: true});
    input.value = NAME; input.dispatchEvent(new Event('input')); })"""


def type_into(page: Page, selector: str, text: str, settled: str) -> None:
    """Type into a filter box, then wait until the JS expression `settled` holds.

    The filter waits for typing to pause and a 5,000-host page takes a while to
    filter on a loaded machine, so the test waits for the effect, not for a time.
    """
    page.js(f"""(() => {{ const i = document.querySelector({selector!r}); i.value = {text!r};
        i.dispatchEvent(new Event('input')); }})()""")
    end = time.monotonic() + 60
    while not page.js(settled) and time.monotonic() < end:
        time.sleep(0.1)
