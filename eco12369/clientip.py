"""The client's address behind the reverse proxy: the one way to ask "who sent this request".

Behind nginx (docs/deploy.md) ``REMOTE_ADDR`` is the proxy's address; the client's is in
``X-Forwarded-For``, which the client can also write itself. ``ECO_TRUSTED_PROXIES`` says how far that
header may be believed:

- empty (the default: no proxy): ``REMOTE_ADDR``, the header is ignored;
- a hop count, ``1`` for the single nginx of docs/deploy.md: the address that many hops to the left of
  ``REMOTE_ADDR`` in ``X-Forwarded-For`` + ``REMOTE_ADDR`` (what a client wrote further left is ignored);
- a list of networks, ``127.0.0.1/32,10.0.0.0/8``: walking ``X-Forwarded-For`` from the right, the first
  address that is not one of them (only when ``REMOTE_ADDR`` itself is one of them).

Used by the audit trail (each entry's source address), django-axes' lockout (``AXES_CLIENT_IP_CALLABLE``)
and the anonymous rate limits.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def parse_trusted_proxies(raw: str) -> int | tuple[Network, ...]:
    """``ECO_TRUSTED_PROXIES`` as a hop count or a tuple of networks (ImproperlyConfigured if neither)."""
    raw = raw.strip()
    if not raw:
        return 0
    if raw.isdigit():
        return int(raw)
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"ECO_TRUSTED_PROXIES 应为代理层数或网段列表 / must be a hop count or a list of networks: {raw!r}"
        ) from exc


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str:
    """The client's address (``""`` without a request), at most 45 characters."""
    if request is None:
        return ""
    remote = str(request.META.get("REMOTE_ADDR", ""))[:45]
    trusted = parse_trusted_proxies(getattr(settings, "ECO_TRUSTED_PROXIES", "") or "")
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if not trusted or not forwarded or _address(remote) is None:
        return remote
    hops = [part for part in forwarded.split(",") if part.strip()]
    if isinstance(trusted, int):
        chain = [*hops, remote]
        if len(chain) <= trusted:
            return remote  # fewer hops than proxies: the header did not come through them
        found = _address(chain[-(trusted + 1)])
        return str(found) if found is not None else remote
    current = _address(remote)
    client = remote
    for hop in reversed(hops):
        if current is None or not any(current in net for net in trusted):
            break  # the address that handed the request on is not a trusted proxy: it is the client
        current = _address(hop)
        if current is None:
            break  # garbage in the header: the last trusted hop is as far as we can see
        client = str(current)
    return client
