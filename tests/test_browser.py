"""The explorer notebook in a real browser: `make lab` on the loopback
address serves a copy of notebooks/12-explore.ipynb, headless Chromium
(Debian's chromium and chromium-driver, driven by selenium) opens it, runs
every cell, moves the CPUs slider one step with the keyboard, and the
panel's output (its summary line and its figure) must change to the next
CPU count.  The committed notebook is never opened by the server, and is
checked to be byte for byte what it was.

Skipped, with the reason, only where Chromium or its driver is not
installed (`.ci/run` installs them with apt-get where it can)."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "12-explore.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SERVER_DEADLINE = 300.0    # s: `make lab` installs the lab group the first time
PAGE_DEADLINE = 120.0      # s: JupyterLab loads, the kernel starts, every cell runs
REDRAW_DEADLINE = 60.0     # s: one slider step reruns the model and redraws

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="the browser test needs Chromium and its driver, not installed here: "
           "apt-get install chromium chromium-driver (Debian; .ci/run tries it)")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _start_lab(folder: Path, port: int, token: str, state: Path, log) -> subprocess.Popen:
    """`make lab` serving *folder* on 127.0.0.1:*port*, its runtime files,
    workspaces and settings under *state*; in a process group of its own."""
    args = (f"--ip 127.0.0.1 --port {port} --ServerApp.port_retries=0 --no-browser "
            f"--ServerApp.token={token}")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(state / "settings"))
    env.pop("MAKEFLAGS", None)
    return subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_DIR={folder}",
                             f"LAB_ARGS={args}"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_server(server: subprocess.Popen, base: str, token: str, log_path: Path) -> None:
    end = time.monotonic() + SERVER_DEADLINE
    while True:
        try:
            req = urllib.request.Request(f"{base}/api/status",
                                         headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=5):
                return
        except OSError:
            assert server.poll() is None, "`make lab` exited:\n" + log_path.read_text()[-3000:]
            assert time.monotonic() < end, \
                f"`make lab` did not answer within {SERVER_DEADLINE:.0f} s:\n" + \
                log_path.read_text()[-3000:]
            time.sleep(0.5)


def _stop(server: subprocess.Popen, base: str, token: str) -> None:
    """Ask the server to shut down (it stops its kernels), then end the
    process group we started if it is still there."""
    try:
        req = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(req, timeout=10).close()
    except OSError:
        pass
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _browser():
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--window-size=1400,1000"):
        o.add_argument(a)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)


def _kernel_ready(d) -> bool:
    """True once the notebook's kernel is idle; accepts JupyterLab's
    kernel dialog (if it asks) with the project's kernel."""
    for dlg in d.find_elements(By.CSS_SELECTOR, ".jp-Dialog"):
        for sel in dlg.find_elements(By.TAG_NAME, "select"):
            names = [o.text for o in Select(sel).options]
            pick = next((n for n in names if n.startswith("reproduce")), None)
            if pick:
                Select(sel).select_by_visible_text(pick)
        dlg.find_element(By.CSS_SELECTOR, ".jp-mod-accept").click()
        return False
    return bool(d.find_elements(By.XPATH, "//*[contains(text(), '| Idle')]"))


def _menu(d, menu: str, item: str) -> None:
    next(m for m in d.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel")
         if m.text == menu).click()
    WebDriverWait(d, 10).until(
        lambda d: [i for i in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel")
                   if i.text == item])[0].click()


PANEL_JS = """
const o = document.querySelector('.widget-output');
if (!o) return ['', ''];
const i = o.querySelector('img');
return [o.innerText, i ? i.src : ''];
"""


def _panel(d) -> tuple[str, str]:
    """The explorer panel's text and its figure's image source, read in
    one step of the page (the panel is redrawn while we look)."""
    text, src = d.execute_script(PANEL_JS)
    return text, src


@pytest.mark.slow
def test_moving_the_cpus_slider_redraws_the_explorer(tmp_path):
    committed = ROOT / "notebooks" / NOTEBOOK
    before = _sha(committed)
    checkpoints = (ROOT / "notebooks" / ".ipynb_checkpoints").exists()
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy2(committed, folder / NOTEBOOK)
    port, token = _free_port(), uuid.uuid4().hex
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "lab.log"
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        server = _start_lab(folder, port, token, tmp_path, log)
        d = None
        try:
            _wait_for_server(server, base, token, log_path)
            t_server = time.monotonic() - t0
            d = _browser()
            d.get(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
            WebDriverWait(d, PAGE_DEADLINE).until(_kernel_ready)
            _menu(d, "Run", "Run All Cells")
            WebDriverWait(d, PAGE_DEADLINE).until(
                lambda d: "speedup" in _panel(d)[0] and _panel(d)[1])
            text0, img0 = _panel(d)
            n = int(re.match(r"(\d+) CPUs?,", text0).group(1))
            handle = d.find_elements(By.CSS_SELECTOR, ".widget-slider .noUi-handle")[0]
            handle.click()
            handle.send_keys(Keys.ARROW_RIGHT)
            WebDriverWait(d, REDRAW_DEADLINE).until(
                lambda d: _panel(d)[0].startswith(f"{n + 1} CPUs,") and _panel(d)[1])
            text1, img1 = _panel(d)
        finally:
            if d is not None:
                d.quit()
            _stop(server, base, token)
    print(f"server up in {t_server:.1f} s, whole test {time.monotonic() - t0:.1f} s")
    assert text1 != text0 and img1 != img0
    assert "speedup" in text1 and "not run" not in text1
    # Nothing the server or the browser did reached the committed notebooks.
    assert _sha(committed) == before
    assert (ROOT / "notebooks" / ".ipynb_checkpoints").exists() == checkpoints
