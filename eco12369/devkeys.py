"""Keys for a machine of its own (the demo, the benchmark): generated once into a file under var/.

``python -m eco12369.devkeys var/secrets.env`` writes ``ECO_SECRET_KEY``, ``ECO_FIELD_KEYS``,
``ECO_INDEX_KEY`` and ``ECO_AUDIT_KEYS`` (fresh random values, file mode 600) unless the file exists, and
prints its path; ./scripts/demo then reads it. Production sets its own keys (docs/deploy.md): the
settings refuse to start without them. No Django import here: this runs before settings can load.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

# Keys written in the source, known to anyone: the DEBUG fallback and the test suite's (settings_test).
# ``check --deploy`` refuses each of them (eco12369/compliance/checks.py).
DEV_SECRET_KEY = "dev-insecure-key-change-me-in-production-0123456789abcdef"
TEST_SECRET_KEY = "test-only-secret-key-eco12369-not-for-production-5f1c0e9a7b3d"
TEST_FIELD_KEY = "dGVzdC1vbmx5LWZpZWxkLWtleS1lY28xMjM2OS0wMDA="
TEST_AUDIT_KEY = "t0:test-only-audit-key-eco12369"
KNOWN_SECRETS = frozenset({DEV_SECRET_KEY, TEST_SECRET_KEY, TEST_FIELD_KEY, TEST_AUDIT_KEY.split(":", 1)[1]})


def new_keys() -> dict[str, str]:
    return {
        "ECO_SECRET_KEY": secrets.token_urlsafe(50),
        "ECO_FIELD_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ECO_INDEX_KEY": secrets.token_urlsafe(32),
        "ECO_AUDIT_KEYS": f"a{secrets.token_hex(3)}:{secrets.token_urlsafe(32)}",
    }


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


def ensure_key_file(path: Path) -> dict[str, str]:
    """The keys in ``path``, created with fresh keys on first use (a missing key is added)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    values = read_env_file(path) if path.exists() else {}
    missing = {name: value for name, value in new_keys().items() if name not in values}
    if missing:
        values.update(missing)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(
                "# 本机自动生成的密钥（演示/压测用），勿用于生产 / generated keys for this machine only\n"
            )
            f.writelines(f"{name}={value}\n" for name, value in values.items())
    return values


def use_key_file(path: Path) -> None:
    """The keys of ``path`` (created on first use) for this process, where the environment has none."""
    for name, value in ensure_key_file(path).items():
        os.environ.setdefault(name, value)


if __name__ == "__main__":
    print(ensure_key_file(Path(sys.argv[1])) and sys.argv[1])
