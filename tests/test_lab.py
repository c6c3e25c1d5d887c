"""`make lab`'s server, smoke-tested: a Jupyter server on the loopback
address opens a committed notebook through its REST API, runs that
notebook's parameters cell on a kernel, and stops.  Skipped where the
Jupyter server is not installed (the test group installs it)."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("jupyter_server")
tornado_ws = pytest.importorskip("tornado.websocket")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "notebooks/00-address-spaces.ipynb"
TOKEN = uuid.uuid4().hex
DEADLINE = 60.0          # seconds for the server and the kernel to come up


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, path: str, method: str = "GET", body: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"{base}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
    return json.loads(text) if text else {}


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager
    return "reproduce" if "reproduce" in KernelSpecManager().find_kernel_specs() else "python3"


async def _execute(ws_url: str, code: str) -> tuple[str, list[str]]:
    """Send one execute_request on the kernel's websocket; return the
    status of the reply and the text the cell printed."""
    conn = await tornado_ws.websocket_connect(
        tornado_ws.httpclient.HTTPRequest(ws_url, headers={"Authorization": f"token {TOKEN}"}))
    msg_id = uuid.uuid4().hex
    conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    # The reply (shell channel) may overtake the cell's output (iopub): the
    # output is complete once the kernel reports itself idle on iopub.
    printed, status, idle = [], None, False
    end = time.monotonic() + DEADLINE
    while (status is None or not idle) and time.monotonic() < end:
        raw = await asyncio.wait_for(conn.read_message(), timeout=DEADLINE)
        if raw is None:
            break
        m = json.loads(raw)
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream":
            printed.append(m["content"]["text"])
        elif m["msg_type"] == "execute_reply":
            status = m["content"]["status"]
        elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            idle = True
    conn.close()
    return status or "timeout", printed


@pytest.mark.slow
def test_a_jupyter_server_on_loopback_runs_a_notebook_cell(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "w+")
    args = [sys.executable, "-m", "jupyter_server", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={ROOT}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")           # what `make lab` adds as root
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        end = time.monotonic() + DEADLINE
        while True:
            try:
                _api(base, "/api/status")
                break
            except OSError:
                assert server.poll() is None, "server exited:\n" + (tmp_path / "server.log").read_text()
                assert time.monotonic() < end, "server did not answer in time"
                time.sleep(0.3)

        nb = _api(base, f"/api/contents/{NOTEBOOK}")
        assert nb["type"] == "notebook"
        params = next(c for c in nb["content"]["cells"]
                      if "parameters" in c["metadata"].get("tags", []))

        session = _api(base, "/api/sessions", "POST", {
            "path": NOTEBOOK, "type": "notebook", "name": "smoke",
            "kernel": {"name": _kernel_name()}})
        kid = session["kernel"]["id"]
        ws = f"ws://127.0.0.1:{port}/api/kernels/{kid}/channels"
        status, printed = asyncio.run(_execute(ws, params["source"] + "\nprint(ncpus * 21)"))
        assert status == "ok", printed
        assert "".join(printed).strip() == "42"
        _api(base, f"/api/sessions/{session['id']}", "DELETE")
    finally:
        try:
            _api(base, "/api/shutdown", "POST")
        except OSError:
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    text = (tmp_path / "server.log").read_text()
    assert "without encryption" not in text, "the kernel warns at start: see requirements/constraints.in"
