"""The official-account server URL (``/wechat/callback/``). Thin: verify, hand over, answer."""

from __future__ import annotations

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .callback import MAX_BODY_BYTES, CallbackError, nonce_consume, open_envelope, reply_body, verify_url
from .inbound import inbound_receive

logger = logging.getLogger(__name__)


def _refuse(error: CallbackError) -> HttpResponse:
    return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    started = time.monotonic()
    try:
        if request.method == "GET":
            return HttpResponse(verify_url(request.GET), content_type="text/plain; charset=utf-8")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise CallbackError(413, "消息体超过1 MiB / body larger than 1 MiB")
        envelope = open_envelope(params=request.GET, body=request.body)
        reply = inbound_receive(envelope=envelope, started=started)
    except CallbackError as error:
        logger.info("wechat callback refused (%s): %s", error.status, error.message)
        return _refuse(error)
    if not reply:
        return HttpResponse("success", content_type="text/plain; charset=utf-8")
    return HttpResponse(reply_body(envelope, reply), content_type="application/xml; charset=utf-8")


REFERENCE_REPLY = "已收到您的消息。"


@csrf_exempt
@require_http_methods(["POST"])
def callback_reference(request: HttpRequest) -> HttpResponse:
    """The least a durable callback must do (mounted only with ``ECO_BENCH``, docs/scale.md): verify the
    signature, decrypt and parse, commit one INSERT (the request's nonce, autocommit: one transaction) and
    answer with an encrypted reply. ``bench/run.py`` measures ``callback`` against it."""
    try:
        envelope = open_envelope(params=request.GET, body=request.body)
    except CallbackError as error:
        return _refuse(error)
    if not nonce_consume(envelope.timestamp, envelope.nonce):
        return _refuse(CallbackError(403, "重复的请求 / replayed request"))
    return HttpResponse(reply_body(envelope, REFERENCE_REPLY), content_type="application/xml; charset=utf-8")
