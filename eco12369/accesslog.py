"""gunicorn's access log without reporters' identifiers (issue 11, L3; gunicorn.conf.py selects it).

WeChat calls ``/wechat/callback/?signature=…&openid=…`` and the H5 pages come back from WeChat's OAuth as
``/portal/oauth/callback/?code=…&state=…``: written to the access log as they are, every reporter's openid
and a reusable signature would sit in clear in a file kept for months. For every path under ``/wechat/``
and ``/portal/`` the query string is left out (the request line, ``%(q)s``, and the referrer); other
paths are logged as gunicorn logs them.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

REDACTED_PREFIXES = ("/wechat/", "/portal/")
MARK = "?[…]"  # where a query string was left out


def _redacted(url: str) -> str:
    path, sep, _query = url.partition("?")
    if sep and any(prefix in path for prefix in REDACTED_PREFIXES):
        return path + MARK
    return url


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        # RAW_URI, not PATH_INFO: a request that failed inside gunicorn is logged with a bare environ.
        path, sep, _query = str(environ.get("RAW_URI", "")).partition("?")
        if path.startswith(REDACTED_PREFIXES) and sep:
            atoms["q"] = "[…]"
            atoms["r"] = (
                f"{environ.get('REQUEST_METHOD', '-')} {path}{MARK} {environ.get('SERVER_PROTOCOL', '-')}"
            )
        atoms["f"] = _redacted(str(atoms.get("f", "-")))
        if "{referer}i" in atoms:
            atoms["{referer}i"] = _redacted(str(atoms["{referer}i"]))
        return atoms
