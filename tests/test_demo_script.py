"""``./scripts/demo`` as a new user meets it: it sets everything up, serves, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "scripts" / "demo")
OPERATOR_LOGIN = re.compile(r"\|\s*(heping_operator)\s*\|\s*(\S+)\s*\|")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("the demo runs on SQLite; the SQLite run of the suite covers the script")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECO_", "PYTEST_", "DJANGO_"))}
    env.update(
        DATABASE_URL="",
        REDIS_URL="",
        ECO_VAR_DIR=str(tmp_path / "var"),
        ECO_STATIC_ROOT=str(tmp_path / "static"),
        ECO_DEMO_PORT=str(_free_port()),
        ECO_DEMO_SIM_PORT=str(_free_port()),
    )
    return env


class Output:
    """Reads a process's output in a thread, so waiting for a line can time out."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def until(self, marker: str | None, timeout: float) -> str:
        """The lines up to one containing ``marker`` (None: up to the end of the output)."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            if marker is not None and marker in line:
                break
        return "".join(seen)


@pytest.mark.slow
def test_demo_sets_up_serves_and_stops_on_ctrl_c(demo_env: dict[str, str], tmp_path: Path) -> None:
    port, sim_port = int(demo_env["ECO_DEMO_PORT"]), int(demo_env["ECO_DEMO_SIM_PORT"])

    # 1. ECO_DEMO_NO_SERVE=1: everything but the servers, from any working directory.
    prepared = subprocess.run(
        [DEMO],
        env={**demo_env, "ECO_DEMO_NO_SERVE": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
        assert step in prepared.stdout
    assert OPERATOR_LOGIN.search(prepared.stdout), prepared.stdout
    assert (tmp_path / "var" / "db.sqlite3").is_file()
    assert (tmp_path / "static" / "staticfiles.json").is_file()  # manifest storage, as in production
    assert not _port_open(port)

    # 2. The full demo on the same data: it keeps the data, serves, and prints the URLs and logins.
    proc = subprocess.Popen(
        [DEMO],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
        # A terminal's shell starts it with Ctrl-C's default action; a pytest-xdist worker ignores SIGINT
        # and that would be inherited (bash cannot trap a signal ignored when it starts).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        out = Output(proc)
        output = out.until("Ctrl-C", timeout=600)
        assert "演示数据已存在" in output, output
        assert f"http://127.0.0.1:{port}/" in output
        assert f"http://127.0.0.1:{sim_port}/" in output
        login = OPERATOR_LOGIN.search(output.split("演示已启动")[-1])
        assert login, "the logins are shown again once the servers are up"

        web = requests.Session()
        page = web.get(f"http://127.0.0.1:{port}/login/", timeout=10)
        assert page.status_code == 200
        css = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page.text)
        assert css, "static files carry hashed names (manifest storage, DEBUG off)"
        assert web.get(f"http://127.0.0.1:{port}{css.group(1)}", timeout=10).status_code == 200
        queue_page = web.post(
            f"http://127.0.0.1:{port}/login/",
            data={
                "username": login.group(1),
                "password": login.group(2),
                "csrfmiddlewaretoken": web.cookies["csrftoken"],
            },
            headers={"Referer": f"http://127.0.0.1:{port}/login/"},
            timeout=30,
        )
        assert queue_page.status_code == 200
        assert re.search(r"TJ\d{14}", queue_page.text), "the operator's queue lists demo cases"
        assert requests.get(f"http://127.0.0.1:{sim_port}/", timeout=10).status_code == 200

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        assert proc.wait(timeout=60) == 130
        assert "已停止" in out.until(None, timeout=10)
        assert not _port_open(port)
        assert not _port_open(sim_port)
    finally:
        if proc.poll() is None:
            proc.terminate()  # its trap stops the servers (each in its own session, out of this group)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
