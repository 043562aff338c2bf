"""Refuse URL paths, query strings and form bodies that are not valid UTF-8 or hold a NUL character (issue
#5: bad input gets a clear 4xx and writes nothing; PostgreSQL cannot store NUL in text and would answer 500).

Django decodes malformed bytes leniently: a percent-encoded bad byte becomes U+FFFD, a raw one turns the
whole body into Latin-1 mojibake, and a report would be filed with garbled text. Every form, query string
and API parameter of the platform is UTF-8, so anything else is refused before a view runs. (The WeChat
callback's XML body is not form data: its parser refuses malformed UTF-8 itself.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes
from xml.sax.saxutils import escape

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict

MESSAGE = (
    "请求包含无效字符（不是有效的 UTF-8，或含空字符 NUL），请检查后重试。"
    " / The request contains malformed UTF-8 or a NUL character."
)
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def _garbled(data: QueryDict) -> bool:
    """U+FFFD is what Django's lenient decoding leaves for a malformed byte; NUL is never text."""
    return any(
        bad in key or any(bad in v for v in data.getlist(key)) for key in data for bad in ("\ufffd", "\x00")
    )


def _path_problem(path: str) -> bool:
    """Whether the decoded URL path holds a NUL (or U+FFFD) or malformed UTF-8. Django does not decode
    malformed bytes in the path: it percent-encodes them again (a raw or ``%FF`` byte reaches the view as
    the text ``%FF``), so they are found by undoing that. No URL of the platform has a literal ``%``."""
    if any(bad in path for bad in ("\ufffd", "\x00")):
        return True
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def utf8_problem(request: HttpRequest, *, parse_multipart: bool = True) -> bool:
    """Whether the URL path, the query string or the form body is not valid UTF-8 or holds a NUL. A
    multipart body is only looked at when ``parse_multipart``: parsing it consumes the stream, which a view
    reading the raw body needs. The path's values reach the views as URL arguments (a case number, a
    token, a photo key) that are looked up in the database."""
    if _path_problem(request.path):
        return True
    try:
        request.META.get("QUERY_STRING", "").encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        return True
    if _garbled(request.GET):
        return True
    if request.method != "POST":
        return False
    if request.content_type == URLENCODED:
        try:
            request.body.decode("utf-8")  # read once and kept: request.POST and the view still work
        except UnicodeDecodeError:
            return True
        return _garbled(request.POST)
    if request.content_type == MULTIPART and parse_multipart:
        return _garbled(request.POST)
    return False


def refusal(request: HttpRequest) -> HttpResponse:
    """The 400 in the shape the client reads: Open311's error list for its ``.json``/``.xml`` endpoints,
    plain text otherwise."""
    if request.path.endswith(".json"):
        return JsonResponse(
            [{"code": 400, "description": MESSAGE}],
            status=400,
            safe=False,
            json_dumps_params={"ensure_ascii": False},
        )
    if request.path.endswith(".xml"):
        body = f'<?xml version="1.0" encoding="utf-8"?><errors><error><code>400</code><description>{escape(MESSAGE)}</description></error></errors>'
        return HttpResponseBadRequest(body, content_type="text/xml; charset=utf-8")
    return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")


class Utf8InputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        # CSRF-checked views have their POST parsed by CsrfViewMiddleware anyway; a CSRF-exempt view (the
        # WeChat callback, the API) may read the raw body, so its multipart stream is left alone.
        if utf8_problem(request, parse_multipart=not getattr(view, "csrf_exempt", False)):
            return refusal(request)
        return None
