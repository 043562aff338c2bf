"""H1 and L2 (issue 11): behind the nginx of docs/deploy.md the lockout and the audit trail see the real
client, not the proxy.

A real nginx (Debian's package) runs the server block of docs/deploy.md §5 on a loopback port, with a
throwaway certificate, in front of gunicorn on production settings (no DEBUG, ECO_HTTPS, TOTP enforced,
the lockout on, ECO_TRUSTED_PROXIES=1 as the deploy doc sets it). Clients are told apart by their source
address on the loopback network (127.0.0.2, 127.0.0.3 …), the way nginx sees distinct clients.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django import get_version
from django.contrib.staticfiles.finders import get_finders
from requests.adapters import HTTPAdapter

from eco12369.audit.models import AuditEntry
from tests.wechat.platform_process import PY, ROOT, SharedPlatform, free_port, wait_until

NGINX = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")

PASSWORD_A = "Zhang-san-2026!"
PASSWORD_B = "Li_si_mima#8848"


def deploy_nginx_block() -> str:
    """The nginx server block exactly as docs/deploy.md shows it."""
    doc = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = doc.split("## 5. nginx", 1)[1]
    return section.split("```nginx\n", 1)[1].split("```", 1)[0]


def _certificate(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "12369.example.gov.cn")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    crt, pem = tmp / "12369.crt", tmp / "12369.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return crt, pem


def render_nginx(tmp: Path, port: int, upstream: int) -> Path:
    """docs/deploy.md's server block on a loopback port, with a throwaway certificate and gunicorn's port;
    wrapped in the few lines a standalone nginx needs (pid, logs and temp files in ``tmp``)."""
    crt, pem = _certificate(tmp)
    block = deploy_nginx_block()
    block, n_listen = re.subn(r"listen 443 ssl", f"listen 127.0.0.1:{port} ssl", block)
    block = block.replace("/etc/ssl/12369.crt", str(crt)).replace("/etc/ssl/12369.key", str(pem))
    block, n_pass = re.subn(
        r"proxy_pass http://127\.0\.0\.1:8000;", f"proxy_pass http://127.0.0.1:{upstream};", block
    )
    assert n_listen == 1 and n_pass == 1, "docs/deploy.md's nginx block changed shape"
    temp = tmp / "nginx-temp"
    temp.mkdir(exist_ok=True)
    temp.chmod(0o777)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{block}
}}
""",
        encoding="utf-8",
    )
    return conf


class _From(HTTPAdapter):
    """Connections from one loopback source address: one client as nginx sees it."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


class Browser:
    def __init__(self, base: str, source: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.verify = False
        self.session.trust_env = (
            False  # no proxy from the environment; REQUESTS_CA_BUNDLE would undo verify=False
        )
        self.session.mount("https://", _From(source))

    def login(self, username: str, password: str, forwarded_for: str = "") -> requests.Response:
        page = self.session.get(f"{self.base}/login/", timeout=30)
        assert page.status_code == 200, page.text[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        headers = {"Referer": f"{self.base}/login/", "Origin": self.base}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        return self.session.post(
            f"{self.base}/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
            headers=headers,
            allow_redirects=False,
            timeout=30,
        )


def collected_static(platform: SharedPlatform) -> Path:
    """``collectstatic`` as docs/deploy.md runs it (hashed names, gzip and brotli copies), kept in the system's
    temporary directory and keyed by the content of every static source file (and the Django and WhiteNoise
    versions): the first run on a machine pays (minutes when it is loaded: the API docs' bundles and their
    source maps are compressed), later runs and other checkouts with the same files reuse the result."""
    digest = hashlib.sha256(f"{get_version()} {metadata.version('whitenoise')}".encode())
    sources = {path: storage.path(path) for finder in get_finders() for path, storage in finder.list([])}
    for path in sorted(sources):
        digest.update(path.encode() + b"\0" + Path(sources[path]).read_bytes() + b"\0")
    key = digest.hexdigest()[:24]
    base = Path(tempfile.gettempdir()) / "eco12369-collectstatic"
    base.mkdir(exist_ok=True)
    done = base / key
    if (done / "staticfiles.json").is_file():
        return done
    for old in base.iterdir():  # other versions of the files, untouched for a day (other checkouts share it)
        if not old.name.startswith(key) and time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    partial = base / f"{key}.{os.getpid()}"
    platform.env["ECO_STATIC_ROOT"] = str(partial)
    platform.manage("collectstatic", "--noinput", "-v", "0", timeout=900)
    try:
        partial.rename(done)
    except OSError:  # another run finished the same collection first
        shutil.rmtree(partial, ignore_errors=True)
    return done


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SharedPlatform, str]]:
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    tmp = tmp_path_factory.mktemp("proxy")
    platform = SharedPlatform(tmp)
    port, upstream = free_port(), free_port()
    base = f"https://127.0.0.1:{port}"
    # The production environment of docs/deploy.md §3 (keys come from SharedPlatform), on this machine.
    platform.env.update(
        ECO_HTTPS="1",
        ECO_ALLOWED_HOSTS="127.0.0.1",
        ECO_CSRF_TRUSTED_ORIGINS=base,
        ECO_SITE_URL=f"{base}/",
        ECO_TRUSTED_PROXIES="1",
        ECO_OTP_ENFORCE="1",
        ECO_AXES_ENABLED="1",
        ECO_STATIC_ROOT=str(tmp / "static"),
    )
    try:
        platform.manage("migrate", "--noinput", "-v", "0")
        static = collected_static(platform)
        platform.env["ECO_STATIC_ROOT"] = str(static)
        platform.script(
            "from eco12369.orgs.models import User\n"
            f"User.objects.create_user('zhangsan', password={PASSWORD_A!r}, display_name='张三')\n"
            f"User.objects.create_user('lisi_admin', password={PASSWORD_B!r}, display_name='李四', "
            "is_superuser=True, is_staff=True)\n"
        )
        platform.start(
            "gunicorn", PY, "-m", "gunicorn", "eco12369.wsgi", "-b", f"127.0.0.1:{upstream}", "-w", "2"
        )
        conf = render_nginx(tmp, port, upstream)
        nginx = platform.start("nginx", "nginx", "-p", str(tmp), "-c", str(conf), "-g", "daemon off;")

        def up() -> bool:
            assert nginx.poll() is None, platform.log("nginx") + (tmp / "nginx-error.log").read_text()
            try:
                return requests.get(f"{base}/login/", verify=False, timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 90, "nginx in front of gunicorn")
        yield platform, base
    finally:
        platform.close()


def _audit(platform: SharedPlatform, action: str, label: str) -> list[str]:
    rows = platform.query(
        "SELECT ip FROM audit_auditentry WHERE action = ? AND actor_label = ? ORDER BY id", (action, label)
    )
    return [r[0] for r in rows]


@pytest.mark.slow
@NGINX
def test_lockout_is_per_user_and_client_behind_nginx_and_xff_from_a_client_is_ignored(
    behind_nginx: tuple[SharedPlatform, str],
) -> None:
    platform, base = behind_nginx
    attacker = Browser(base, "127.0.0.2")
    # Five wrong passwords for zhangsan, each with a made-up X-Forwarded-For that would dodge a lockout
    # keyed on the header (and plant a false address in the audit trail) if nginx's client were believed.
    for n, guess in enumerate(["123456", "zhangsan", "Zhangsan2026", "zs@12369", "mima1234"]):
        response = attacker.login("zhangsan", guess, forwarded_for=f"198.51.100.{n + 1}")
        assert response.status_code in (200, 429), response.status_code
    locked = attacker.login("zhangsan", PASSWORD_A, forwarded_for="203.0.113.77")
    assert locked.status_code == 429 and "锁定" in locked.text

    # zhangsan is locked wherever he comes from …
    assert Browser(base, "127.0.0.4").login("zhangsan", PASSWORD_A).status_code == 429
    # … but lisi, from another client, signs in (and goes on to the second factor: TOTP is enforced).
    lisi = Browser(base, "127.0.0.3")
    response = lisi.login("lisi_admin", PASSWORD_B)
    assert response.status_code == 302, response.text[:300]
    assert "/login/" not in response.headers["Location"]
    home = lisi.session.get(f"{base}/", allow_redirects=False, timeout=30)
    assert home.status_code == 302 and "/account/otp/" in home.headers["Location"]

    # The audit trail names the real clients: not nginx (127.0.0.1), not what the client wrote.
    failed = _audit(platform, "login_failed", "zhangsan")
    assert failed[:5] == ["127.0.0.2"] * 5, failed
    assert set(failed) <= {"127.0.0.2", "127.0.0.4"}, failed
    assert _audit(platform, "login", "lisi_admin") == ["127.0.0.3"]
    # django-axes recorded the attempts under the real client too.
    attempts = platform.query("SELECT DISTINCT ip_address FROM axes_accessattempt")
    # (PostgreSQL's inet column comes back as an IPv4Address, SQLite's as text.)
    assert {str(r[0]) for r in attempts} <= {"127.0.0.2", "127.0.0.4"}, attempts


@NGINX
def test_the_nginx_block_of_the_deploy_doc_is_valid(tmp_path: Path) -> None:
    conf = render_nginx(tmp_path, free_port(), free_port())
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in deploy_nginx_block()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("10.8.0.5", "203.0.113.9, 198.51.100.4", "198.51.100.4"),  # through the trusted proxy
        ("10.8.0.5", "198.51.100.4, 10.9.9.9", "198.51.100.4"),  # two trusted hops
        ("192.0.2.66", "198.51.100.4", "192.0.2.66"),  # straight from a client: its header is ignored
        ("10.8.0.5", "not-an-address", "10.8.0.5"),  # garbage: the last trusted hop
    ],
)
def test_a_list_of_proxy_networks_is_walked_from_the_right(
    client: Any, settings: Any, remote: str, forwarded: str, expected: str
) -> None:
    settings.ECO_TRUSTED_PROXIES = "10.0.0.0/8"
    client.post(
        "/login/",
        {"username": "wangwu", "password": "wrong"},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert AuditEntry.objects.get(action="login_failed", actor_label="wangwu").ip == expected
