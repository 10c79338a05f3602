"""`partyhost web` in a real browser: a mouse click on "Free play" opens the party, and
closing the page stops the tab's app (no process left).

Debian's chromium and chromium-driver, headless, driven by selenium (`.ci/run`
installs them when missing; without them this test skips and says why). The page is
xterm.js drawing on canvases, so there is no DOM text to find a button by: the test
finds the "Free play" button by its colour (Textual's success variant, the only green
button on the welcome screen) in the text layer's pixels, and clicks its middle, as a
learner would. That the party opened is seen the same way: the green button is gone,
and the picture keeps changing (the party runs; the welcome screen stands still).

Measured on the 2-core dev machine with other work running: chromium starts in about
3 s and the tab's partyhost draws its first frame 3 to 6 s later; the whole test took
8.7 s at a load average of 2.4 and 15.4 s at 4.7. Without the click's fix (Textual's
``run_action`` not awaited) it fails: "the click opened nothing".
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
           "chromium-driver; .ci/run installs them when apt-get is there)",
)

# The green of Textual's success button in the text layer's RGBA pixels: the tallest
# band of rows each with 100 or more green pixels (a button, not green letters), its box.
GREEN_BOX = """
const c = document.querySelector('canvas.xterm-text-layer');
if (!c) return null;
const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
const rows = [];
for (let y = 0; y < c.height; y++) {
  let n = 0, x0 = 1e9, x1 = -1;
  for (let x = 0; x < c.width; x++) {
    const i = (y * c.width + x) * 4, r = data[i], g = data[i + 1], b = data[i + 2];
    if (g > 150 && g > r + 50 && g > b + 40) { n++; x0 = Math.min(x0, x); x1 = Math.max(x1, x); }
  }
  rows.push(n >= 100 ? [n, x0, x1] : null);
}
let best = null, start = -1;
for (let y = 0; y <= rows.length; y++) {
  if (y < rows.length && rows[y]) { if (start < 0) start = y; continue; }
  if (start >= 0 && (!best || y - start > best[1] - best[0])) best = [start, y];
  start = -1;
}
if (!best) return {n: 0};
let n = 0, x0 = 1e9, x1 = -1;
for (let y = best[0]; y < best[1]; y++) {
  n += rows[y][0]; x0 = Math.min(x0, rows[y][1]); x1 = Math.max(x1, rows[y][2]);
}
const scale = c.getBoundingClientRect().width / c.width;
return {n: n, x0: x0 * scale, y0: best[0] * scale, x1: x1 * scale, y1: (best[1] - 1) * scale};
"""
# A cheap fingerprint of what the terminal shows now.
PICTURE = """
const c = document.querySelector('canvas.xterm-text-layer');
const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let h = 0;
for (let i = 0; i < data.length; i += 7) h = (h * 31 + data[i]) | 0;
return h;
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_click_on_free_play_in_chromium_opens_the_party_and_closing_leaves_nothing() -> None:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tui", "web", "--port", str(port)],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,800",
                # the page asks fonts.googleapis.com for a font: offline, fail at once
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    service = Service(DRIVER)
    browser = None
    browser_family: list[psutil.Process] = []
    apps: list[psutil.Process] = []
    try:
        browser = webdriver.Chrome(options=options, service=service)  # while the server starts
        assert server.stdout is not None
        assert "serving on" in server.stdout.readline()  # bound before it says so
        browser_family = [psutil.Process(service.process.pid), *children(service.process.pid)]
        browser.set_page_load_timeout(15)
        browser.get(f"http://127.0.0.1:{port}/")
        wait_for(lambda: "-first-byte" in browser.execute_script(
            "return document.body.className"), 20, "the tab's partyhost to draw")
        apps = wait_for(lambda: children(server.pid), 5, "the tab's app process")
        button = wait_for(lambda: (lambda b: b if b and b["n"] > 2000 else None)(
            browser.execute_script(GREEN_BOX)), 10, "the welcome's Free play button")
        before = browser.execute_script(PICTURE)
        time.sleep(0.3)
        assert browser.execute_script(PICTURE) == before  # the welcome stands still

        canvas = browser.find_element(By.CSS_SELECTOR, "canvas.xterm-cursor-layer")  # on top
        x = (button["x0"] + button["x1"]) / 2 - canvas.size["width"] / 2
        y = (button["y0"] + button["y1"]) / 2 - canvas.size["height"] / 2
        ActionChains(browser).move_to_element_with_offset(canvas, int(x), int(y)).click().perform()

        def party_open() -> bool:
            green = browser.execute_script(GREEN_BOX)
            big_green_left = green and green["n"] > 0.5 * button["n"] and abs(
                green["y0"] - button["y0"]) < 5
            return not big_green_left
        wait_for(party_open, 5, "the click to open the party (the button is still there)")
        time.sleep(0.6)  # a pressed button flashes another colour for 0.2 s (Textual's
        # active_effect_duration), then is back: a click that opened nothing shows here
        assert party_open(), "the Free play button is back: the click opened nothing"
        pictures = []
        for _ in range(3):  # the party runs: the picture keeps changing (the welcome is still)
            pictures.append(browser.execute_script(PICTURE))
            time.sleep(0.3)
        assert len(set(pictures)) == 3, "the party stood still after the click"

        browser.quit()  # the page closes: its websocket ends, its app must stop
        browser = None
        _, alive = psutil.wait_procs(apps, timeout=5)
        assert not alive, f"the tab's app outlived its page: {alive}"
        _, alive = psutil.wait_procs(browser_family, timeout=5)
        assert not alive, f"chromium outlived quit(): {alive}"
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
        for process in [*apps, *browser_family]:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                process.kill()
    _, err = server.communicate()
    assert "Traceback" not in err
