"""Run the platform in real processes (gunicorn, ``manage.py run_huey``) against a database the test can
read too: a SQLite file in a temporary directory, or a fresh PostgreSQL database when the suite runs on
PostgreSQL. Huey uses Redis when ``ECO_TEST_REDIS_URL`` is set (the production path; CI sets it),
otherwise its SQLite storage in the temporary directory.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class SharedPlatform:
    def __init__(self, tmp: Path) -> None:
        from django.conf import settings

        self.tmp = tmp
        self.name = f"ecowx{os.getpid()}{secrets.token_hex(3)}"
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        source = os.environ.get("DATABASE_URL", "")
        self.pg_admin_url = ""
        if source.startswith(("postgres://", "postgresql://")):
            parts = urlsplit(source)
            self.pg_admin_url = urlunsplit(parts._replace(path="/postgres"))
            self.db_url = urlunsplit(parts._replace(path=f"/{self.name}"))
            self._pg_admin(f'CREATE DATABASE "{self.name}"')
        else:
            self.db_url = f"sqlite:///{tmp / 'platform.sqlite3'}"
        self.redis_url = os.environ.get("ECO_TEST_REDIS_URL", "")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ECO_", "WECHAT_", "PYTEST_"))}
        env.pop("DATABASE_URL", None)
        env.update(
            DJANGO_SETTINGS_MODULE="eco12369.settings",
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis_url,
            ECO_VAR_DIR=str(tmp / "var"),
            ECO_MEDIA_ROOT=str(tmp / "uploads"),
            ECO_HUEY_NAME=self.name,
            ECO_HUEY_IMMEDIATE="0",
            ECO_LOG_LEVEL="INFO",
            # The same keys as this test process, so both read what the other wrote (encrypted fields).
            ECO_SECRET_KEY=settings.SECRET_KEY,
            ECO_FIELD_KEYS=os.environ.get("ECO_FIELD_KEYS", ""),
            ECO_INDEX_KEY=os.environ.get("ECO_INDEX_KEY", ""),
            ECO_AUDIT_KEYS=os.environ.get("ECO_AUDIT_KEYS", ""),
            PYTHONPATH=str(ROOT),
        )
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    # ------------------------------------------------------------------ setup and teardown
    def _pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def setup(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0")
        self.script("from eco12369.orgs.tianjin import tianjin_load; tianjin_load()")

    def close(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        if self.pg_admin_url:
            self._pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.redis_url:
            import redis

            r = redis.Redis.from_url(self.redis_url)
            for key in r.scan_iter(f"*{self.name}*"):
                r.delete(key)

    # ------------------------------------------------------------------ processes
    def manage(self, *args: str, timeout: float = 300) -> str:
        res = subprocess.run(
            [PY, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if res.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed:\n{res.stdout.decode()}\n{res.stderr.decode()}"
            )
        return res.stdout.decode()

    def script(self, code: str, timeout: float = 120) -> str:
        """Run Python code with Django set up, in a separate process on the shared database."""
        prelude = "import django; django.setup()\n"
        res = subprocess.run(
            [PY, "-c", prelude + code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if res.returncode != 0:
            raise AssertionError(f"script failed:\n{res.stdout.decode()}\n{res.stderr.decode()}")
        return res.stdout.decode()

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                list(args),
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def start_worker(self, env: dict[str, str] | None = None, workers: int = 2) -> subprocess.Popen[bytes]:
        return self.start(
            "huey",
            PY,
            str(ROOT / "manage.py"),
            "run_huey",
            "--workers",
            str(workers),
            "--worker-type",
            "thread",
            "--delay",
            "0.05",
            "--max-delay",
            "0.5",
            env=env,
        )

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    @staticmethod
    def stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text("utf-8", "replace")[-4000:] if path.exists() else ""

    # ------------------------------------------------------------------ reading the shared database
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.pg_admin_url:
            import psycopg

            with psycopg.connect(self.db_url) as conn:
                return list(conn.execute(sql.replace("?", "%s"), params).fetchall())
        lite = sqlite3.connect(self.db_url.removeprefix("sqlite:///"), timeout=20)
        try:
            return list(lite.execute(sql, params).fetchall())
        finally:
            lite.close()
