"""`report --format html` in a real headless browser: Debian's Chromium, driven over the DevTools protocol (CDP).

The page opens offline from a file:// URL without a console error or a request to anywhere, a real mouse click on
a column header reorders the rows (numbers as numbers, a second click reverses), and the task filter hides the rows
of other tasks. Slow (a browser starts): `pytest -m slow tests/test_report_html_browser.py -n 0`; .ci/run runs it
with JGLUE_BENCH_REQUIRE_BROWSER=1, which turns a missing Chromium into a failure instead of a skip.

No new dependency: the client below talks CDP over a pipe (`--remote-debugging-pipe`: JSON messages ending in NUL,
fd 3 into the browser, fd 4 out of it), standard library only.

As a script it takes the screenshot in results/:
    python tests/test_report_html_browser.py --screenshot results/leaderboard.html results/leaderboard.png
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    return next((found for found in map(shutil.which, BROWSERS) if found), None)


def high_fd(fd: int) -> int:
    """The same pipe end as a descriptor numbered 10 or more (the low one closed)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Chromium:
    """One headless Chromium and one page (tab) in it; `call` sends a CDP command to the page and returns its
    result, events are kept in `events`."""

    def __init__(self, binary: str, width: int = 1400, height: int = 1000, timeout: float = 60.0):
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self._replies: dict[int, dict[str, Any]] = {}
        self._inbox: queue.Queue = queue.Queue()
        self._next_id = 0
        self.profile = tempfile.mkdtemp(prefix="jglue-bench-chromium-")
        into_read, self._into = os.pipe()
        self._out, out_write = os.pipe()
        # the browser's ends on fd 10 or above, so putting one on fd 3 never overwrites the other before it goes to 4
        into_read, out_write = (high_fd(fd) for fd in (into_read, out_write))
        argv = [
            binary,
            "--headless",
            "--remote-debugging-pipe",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-component-update",
            "--disable-default-apps",
            "--mute-audio",
            "--hide-scrollbars",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root (CI containers)
        # bash (dash takes no fd above 9) puts the two pipe ends on fds 3 and 4, then becomes the browser
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{into_read} 4>&{out_write}', "sh", *argv],
            pass_fds=(into_read, out_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(into_read)
        os.close(out_write)
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=lambda: self._stderr.extend(self.process.stderr), daemon=True).start()
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"}, session=None)["targetId"]
            self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=None)[
                "sessionId"
            ]
            for domain in ("Runtime", "Log", "Page", "Network"):
                self.call(f"{domain}.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
        except Exception:
            self.close()
            raise

    # ---- the protocol ----------------------------------------------------------------------------------------

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._out, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._inbox.put(None)
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for message in messages:
                self._inbox.put(json.loads(message))

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None | bool = True) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is True:
            message["sessionId"] = self.session
        try:
            os.write(self._into, json.dumps(message).encode("utf-8") + b"\0")
        except BrokenPipeError:
            raise BrowserError(
                f"the browser is gone (exit {self._exit_status()}) before {method}: {self._stderr_tail()}"
            ) from None
        reply = self._wait(lambda: self._replies.pop(self._next_id, None), f"a reply to {method}")
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _wait(self, found, what: str, timeout: float | None = None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            result = found()
            if result is not None:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(
                    f"no {what} within {timeout or self.timeout:.0f} s; browser stderr: "
                    f"{b''.join(self._stderr)[-2000:].decode(errors='replace')}"
                )
            try:
                message = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise BrowserError(
                    f"the browser closed the pipe while waiting for {what} (exit "
                    f"{self.process.poll()}): {b''.join(self._stderr)[-2000:].decode(errors='replace')}"
                )
            if "id" in message:
                self._replies[message["id"]] = message
            else:
                self.events.append(message)

    def _exit_status(self) -> int | None:
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def _stderr_tail(self) -> str:
        time.sleep(0.2)  # let the reader thread take the last lines
        return b"".join(self._stderr)[-3000:].decode(errors="replace")

    def wait_event(self, method: str, since: int = 0, timeout: float | None = None) -> dict:
        def seen():
            return next((event for event in self.events[since:] if event.get("method") == method), None)

        return self._wait(seen, f"{method} event", timeout)

    # ---- what the tests do -----------------------------------------------------------------------------------

    def open(self, path: Path) -> None:
        """Navigate to the file and wait for its load event; events of earlier pages are dropped."""
        self.events.clear()
        result = self.call("Page.navigate", {"url": path.resolve().as_uri()})
        if result.get("errorText"):
            raise BrowserError(f"cannot open {path}: {result['errorText']}")
        self.wait_event("Page.loadEventFired")
        self.evaluate("new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries (CSP refusals among them) seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(
                    "console."
                    + params["type"]
                    + ": "
                    + " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                thrown = details.get("exception", {}).get("description") or details.get("text")
                found.append(f"exception: {thrown}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append(f"log ({params['entry'].get('source')}): {params['entry'].get('text')}")
        return found

    def requests(self) -> list[str]:
        return [
            event["params"]["request"]["url"]
            for event in self.events
            if event.get("method") == "Network.requestWillBeSent"
        ]

    def click(self, selector: str) -> None:
        """A real left click (press and release) at the centre of the element, scrolled into view first; the
        element must be the one under that point (not covered by, say, the sticky filter bar)."""
        box = self.evaluate(f"""(() => {{
            const element = document.querySelector({json.dumps(selector)});
            element.scrollIntoView({{block: "center", inline: "center"}});
            const r = element.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const hit = document.elementFromPoint(x, y);
            return {{x, y, hit: hit === element || element.contains(hit)}};
        }})()""")
        if not box["hit"]:
            raise BrowserError(f"{selector} is covered at its centre; a click would land elsewhere")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": box["x"],
                    "y": box["y"],
                    "button": "left",
                    "buttons": 1 if kind == "mousePressed" else 0,
                    "clickCount": 1,
                },
            )

    def press(self, key: str, code: int) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code},
            )

    def screenshot(self, path: Path, width: int | None = None) -> tuple[int, int]:
        """The whole page as a PNG; returns its size in pixels."""
        self.evaluate("window.scrollTo(0, 0)")  # the sticky filter bar back at the top of the page
        metrics = self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": width or size["width"], "height": size["height"], "scale": 1}
        data = base64.b64decode(
            self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
        )
        path.write_bytes(data)
        return struct.unpack(">II", data[16:24])

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                try:
                    self.call("Browser.close", session=None)
                except BrowserError:
                    pass
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=10)
        finally:
            for fd in (self._into, self._out):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)


# ---- the tests ---------------------------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # the screenshot script needs no pytest
    pytest = None

if pytest is not None:
    from test_report import PUBLISHED, make_record, mixed_records, render, write_store
    from test_report_html import with_published_deltas

    pytestmark = pytest.mark.slow

    ROWS = """(name, column) => {
        const table = document.querySelector(`table[data-table="${name}"]`);
        const index = [...table.tHead.rows[0].cells].findIndex(cell => cell.dataset.column === column);
        return [...table.tBodies[0].rows].filter(row => row.getClientRects().length > 0)
            .map(row => ({task: row.dataset.task, model: row.dataset.model, text: row.innerText,
                          cell: row.cells[index].textContent}));
    }"""

    @pytest.fixture(scope="module")
    def browser():
        binary = find_chromium()
        if binary is None:
            message = "no Chromium found (apt-get install chromium; or set CHROMIUM=/path/to/chrome)"
            if os.environ.get("JGLUE_BENCH_REQUIRE_BROWSER") == "1":
                pytest.fail(message)
            pytest.skip(message)
        chromium = Chromium(binary)
        yield chromium
        chromium.close()

    @pytest.fixture
    def report_page(tmp_path, capsys) -> Path:
        """A page with every table, published deltas of both signs, the plot, and an accuracy of 9.5 (before
        89.4 as a number, after it as text)."""
        records = (
            mixed_records() + with_published_deltas() + [make_record(model="tiny", scores={"valid": {"accuracy": 9.5}})]
        )
        store = write_store(tmp_path / "runs.jsonl", records)
        text = render(
            capsys,
            "--results",
            str(store),
            "--table",
            "all",
            "--published",
            str(PUBLISHED),
            "--plot",
            "--format",
            "html",
        )
        path = tmp_path / "report.html"
        path.write_text(text, encoding="utf-8")
        return path

    def rows(browser: Chromium, table: str, column: str) -> list[dict]:
        return browser.evaluate(f"({ROWS})({json.dumps(table)}, {json.dumps(column)})")

    def numbers(cells: list[str]) -> list[float | None]:
        return [float(cell.split(" ")[0]) if cell.strip() not in ("", "n/a") else None for cell in cells]

    def test_the_error_collection_sees_errors(browser, tmp_path):
        """The negative control: a page that logs an error and throws is caught, so a clean page means clean."""
        page = tmp_path / "broken.html"
        page.write_text(
            "<!DOCTYPE html><title>x</title><script>console.error('boom'); missing();</script>", encoding="utf-8"
        )
        browser.open(page)
        errors = browser.errors()
        assert any("boom" in error for error in errors) and any("missing" in error for error in errors), errors

    def test_the_page_opens_offline_without_a_console_error(browser, report_page):
        browser.open(report_page)
        assert browser.errors() == []
        assert [url for url in browser.requests() if not url.startswith(("file:", "data:"))] == []
        state = browser.evaluate("""({
            scripted: !document.getElementById("filters").hidden,
            count: document.getElementById("filter-count").textContent,
            plot: document.querySelector("#plot img").naturalWidth,
            tables: document.querySelectorAll("table.sortable").length,
            external: [...document.querySelectorAll("[src], link[href]")].map(e => e.getAttribute("src") ||
                      e.getAttribute("href")).filter(url => !url.startsWith("data:")),
            resources: performance.getEntriesByType("resource").map(entry => entry.name)})""")
        assert state["scripted"] and state["count"].endswith("rows shown")  # the inline script ran (CSP allowed it)
        assert state["plot"] > 0  # the data: PNG decoded
        assert state["tables"] == 6 and state["external"] == [] and state["resources"] == []

    def test_clicking_a_header_sorts_by_that_column_as_numbers_and_again_reverses(browser, report_page):
        browser.open(report_page)
        before = rows(browser, "runs", "accuracy")
        browser.click('table[data-table="runs"] th[data-column="accuracy"] button')
        ascending = rows(browser, "runs", "accuracy")
        values = numbers([row["cell"] for row in ascending])
        present = [value for value in values if value is not None]
        assert ascending != before and sorted(row["text"] for row in ascending) == sorted(row["text"] for row in before)
        assert present == sorted(present) and present[0] == 9.5  # numerically: 9.50 before 80.00
        assert values[len(present) :] == [None] * (len(values) - len(present))  # blanks last
        assert (
            browser.evaluate("""document.querySelector('table[data-table="runs"] th[data-column="accuracy"]')
                                   .getAttribute("aria-sort")""")
            == "ascending"
        )
        browser.click('table[data-table="runs"] th[data-column="accuracy"] button')
        descending = numbers([row["cell"] for row in rows(browser, "runs", "accuracy")])
        assert [value for value in descending if value is not None] == present[::-1]
        assert descending[len(present) :] == [None] * (len(values) - len(present))
        # a text column sorts as text, the published deltas by their signed value
        browser.click('table[data-table="runs"] th[data-column="task"] button')
        tasks = [row["cell"] for row in rows(browser, "runs", "task")]
        assert tasks == sorted(tasks)
        browser.click('table[data-table="published"] th[data-column="delta"] button')
        deltas = numbers([row["cell"] for row in rows(browser, "published", "delta")])
        assert deltas == sorted(deltas) and deltas[0] < 0 < deltas[-1]
        assert browser.errors() == []

    def test_the_filter_hides_the_rows_of_other_tasks_and_models(browser, report_page):
        browser.open(report_page)
        every = rows(browser, "runs", "task")
        assert {row["task"] for row in every} == {"jnli", "jsts", "jcola"}
        # choose a task with the keyboard, as a person would: focus the select, arrow down past "all tasks" to jsts
        browser.evaluate('document.getElementById("filter-task").focus()')
        browser.press("ArrowDown", 40)
        assert browser.evaluate('document.getElementById("filter-task").value') == "jsts"
        shown = rows(browser, "runs", "task")
        assert shown and {row["task"] for row in shown} == {"jsts"} and len(shown) < len(every)
        for table in ("paper", "published", "models", "efficiency"):
            assert {row["task"] for row in rows(browser, table, "task")} <= {"jsts"}, table
        total = browser.evaluate('document.querySelectorAll("table.sortable tbody tr").length')
        visible = browser.evaluate(
            '[...document.querySelectorAll("table.sortable tbody tr")]'
            ".filter(row => row.getClientRects().length > 0).length"
        )
        assert browser.evaluate('document.getElementById("filter-count").textContent') == (
            f"{visible} of {total} rows shown"
        )
        # back to every task, then one model: other models' rows and the models table's other columns go
        browser.press("ArrowUp", 38)
        assert len(rows(browser, "runs", "task")) == len(every)
        browser.evaluate("""(() => { const select = document.getElementById("filter-model");
                                     select.value = "laboro_distilbert";
                                     select.dispatchEvent(new Event("change")); })()""")
        assert {row["model"] for row in rows(browser, "runs", "task")} == {"laboro_distilbert"}
        columns = browser.evaluate("""[...document.querySelectorAll('table[data-table="models"] thead th')]
                                      .filter(cell => cell.getClientRects().length > 0)
                                      .map(cell => cell.dataset.column)""")
        assert columns == ["task", "metric", "data", "protocol", "laboro_distilbert"]
        assert browser.errors() == []

    def test_the_committed_leaderboard_page_opens_cleanly(browser, tmp_path):
        browser.open(REPO / "results" / "leaderboard.html")
        assert browser.errors() == []
        assert [url for url in browser.requests() if not url.startswith(("file:", "data:"))] == []
        assert browser.evaluate('document.querySelector("#plot img").naturalWidth') > 0
        width, height = browser.screenshot(tmp_path / "leaderboard.png")
        assert width == 1400 and height > 600


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="screenshot a report page in headless Chromium")
    parser.add_argument("--screenshot", nargs=2, metavar=("PAGE.html", "OUT.png"), required=True)
    parser.add_argument("--width", type=int, default=1800)
    args = parser.parse_args(argv)
    binary = find_chromium()
    if binary is None:
        sys.exit("no Chromium found (apt-get install chromium)")
    browser = Chromium(binary, width=args.width, height=900)
    try:
        browser.open(Path(args.screenshot[0]))
        if browser.errors():
            sys.exit("the page logged errors: " + "; ".join(browser.errors()))
        width, height = browser.screenshot(Path(args.screenshot[1]))
        print(f"{args.screenshot[1]}: {width} x {height}")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
