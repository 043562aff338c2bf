"""L3 (issue 11): gunicorn's access log, run as docs/deploy.md runs it (from the project directory, whose
gunicorn.conf.py selects the logger), keeps no openid, signature or OAuth code of the WeChat callback and
the H5 pages; other paths keep their query strings."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.wechat.platform_process import PY, SharedPlatform, free_port, wait_until

OPENID = "oXyZ-reporter-openid-7f3a9c"
SIGNATURE = "3b7c0f2a9e1d4c5b6a7980f1e2d3c4b5a6978899"


@pytest.mark.slow
def test_the_access_log_leaves_out_openids_signatures_and_oauth_codes(tmp_path: Path) -> None:
    platform = SharedPlatform(tmp_path)
    platform.env.update(ECO_ALLOWED_HOSTS="127.0.0.1")
    access = tmp_path / "access.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        platform.manage("migrate", "--noinput", "-v", "0")
        platform.start(
            "gunicorn",
            PY,
            "-m",
            "gunicorn",
            "eco12369.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--access-logfile",
            str(access),
        )

        def up() -> bool:
            try:
                return requests.get(f"{base}/wechat/callback/", timeout=2).status_code > 0
            except requests.RequestException:
                return False

        wait_until(up, 60, "gunicorn")
        requests.get(
            f"{base}/wechat/callback/?signature={SIGNATURE}&timestamp=1765000000&nonce=12369&openid={OPENID}",
            timeout=10,
        )
        requests.post(
            f"{base}/wechat/callback/?signature={SIGNATURE}&openid={OPENID}&encrypt_type=aes",
            data=b"<xml></xml>",
            timeout=10,
        )
        requests.get(
            f"{base}/portal/oauth/callback/?code=CODE-{OPENID}&state=mine",
            headers={"Referer": f"https://open.weixin.qq.com/x?openid={OPENID}"},
            timeout=10,
            allow_redirects=False,
        )
        requests.get(
            f"{base}/disclosure/?page=2",
            headers={"Referer": f"{base}/portal/mine/?openid={OPENID}"},
            timeout=10,
        )
        wait_until(lambda: access.exists() and access.read_text().count("\n") >= 5, 20, "the access log")
    finally:
        platform.close()
    log = access.read_text(encoding="utf-8")
    assert OPENID not in log and SIGNATURE not in log and "CODE-" not in log, log
    assert "GET /wechat/callback/?[…] HTTP/1.1" in log and "POST /wechat/callback/?[…]" in log
    assert "GET /portal/oauth/callback/?[…]" in log
    assert "GET /disclosure/?page=2 HTTP/1.1" in log  # only those paths lose their query strings
