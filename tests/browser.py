"""A real headless browser for tests: the system's chromium, driven over the Chrome DevTools protocol
(https://chromedevtools.github.io/devtools-protocol/) with `websocket-client`.

`Browser` starts chromium on a loopback debugging port of its choosing, with a profile of its own,
and talks to its one page: commands (`send`), the events they cause (`events`), page loads, script
evaluation, real mouse clicks and screenshots.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "/usr/bin/chromium")
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0
QUIET_FLAGS = (  # nothing of chromium's own reaches for the network, so what the page asks for is all there is
    "--headless",
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
)


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, executable: str, profile: Path) -> None:
        import websocket

        self.process = subprocess.Popen(
            [executable, *QUIET_FLAGS, "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = self._port(profile / "DevToolsActivePort")
            self.socket = websocket.create_connection(self._page_socket(port), timeout=COMMAND_TIMEOUT,
                                                      suppress_origin=True)  # fmt: skip
        except BaseException:
            self.close()
            raise
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _port(self, active_port: Path) -> int:
        """Chromium writes the port it chose, once it listens, into its profile."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError(f"chromium exited with {self.process.returncode}")
            if active_port.exists() and active_port.read_text().strip():
                return int(active_port.read_text().split()[0])
            time.sleep(0.05)
        raise BrowserError(f"chromium did not open its debugging port within {START_TIMEOUT} s")

    @staticmethod
    def _page_socket(port: int) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=COMMAND_TIMEOUT) as answer:
            targets = json.load(answer)
        return next(target["webSocketDebuggerUrl"] for target in targets if target["type"] == "page")

    def close(self) -> None:
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # ------------------------------------------------------------ the protocol

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one command and return its result; events that arrive meanwhile are kept in `events`."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = self._receive()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def _receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.socket.recv())
        if "method" in message:
            self.events.append(message)
        return message

    def wait_for(self, method: str, timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        """The first event `method` since the events were last cleared, waiting for it if need be."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["method"] == method:
                    return event
            if time.monotonic() > deadline:
                raise BrowserError(f"no {method} within {timeout} s")
            self._receive()

    def named(self, method: str) -> list[dict[str, Any]]:
        return [event["params"] for event in self.events if event["method"] == method]

    # ------------------------------------------------------------ what a test does with a page

    def open(self, url: str) -> None:
        """Load `url` and wait for its load event, watching the console, the log and the network."""
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed, released) at the middle of the element `selector` names."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and the browser's own error log (a blocked request, a
        refused script) since the page was opened."""
        found = [
            " ".join(str(arg.get("value", arg.get("description", ""))) for arg in event["args"])
            for event in self.named("Runtime.consoleAPICalled")
            if event["type"] in ("error", "assert", "warning")
        ]
        found += [str(event["exceptionDetails"]) for event in self.named("Runtime.exceptionThrown")]
        found += [entry["text"] for entry in (event["entry"] for event in self.named("Log.entryAdded"))
                  if entry["level"] == "error"]  # fmt: skip
        return found

    def requested(self) -> list[str]:
        return [event["request"]["url"] for event in self.named("Network.requestWillBeSent")]

    def screenshot(self, path: Path, width: int = 1280) -> None:
        """The whole page as a PNG, `width` pixels wide."""
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=800, deviceScaleFactor=1, mobile=False)
        height = self.evaluate("Math.ceil(document.documentElement.scrollHeight)")  # as laid out at that width
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.evaluate("window.scrollTo(0, 0)")
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
