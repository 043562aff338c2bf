"""Writes to cases: intake from any channel and every workflow action (DESIGN §10: ``<entity>_<action>``).

Views, the WeChat callback, the H5 portal, the hotline, the API and the demo data all create and change
cases here. The package is split by concern: ``intake`` (``case_create``, photos), ``actions`` (every
workflow action after intake), ``calendar`` (working days), ``outbound`` (the rules a text for the
reporter or the public passes). Callers import from ``eco12369.cases.services``; the names are
re-exported here.
"""

from ..workflow import TransitionError  # what the services raise, as callers have always found it here
from .actions import (
    BIND_ALREADY,
    BIND_DONE,
    BIND_ERASED,
    BIND_OTHER,
    MAX_CASE_PHOTOS,
    OUT_OF_SCOPE_REFUSAL,
    SEND_BACK_REASON_MAX,
    SUPPLEMENT_TEXT_MAX,
    WITHDRAW_REASON_MAX,
    case_accept,
    case_answer,
    case_answer_supervision,
    case_approve,
    case_assign,
    case_decide_extension,
    case_escalate,
    case_hand_over,
    case_mark_duplicate,
    case_reopen,
    case_reporter_bind,
    case_request_extension,
    case_reroute,
    case_return,
    case_send_back,
    case_submit_reply,
    case_supervise,
    case_supplement,
    case_withdraw,
)
from .calendar import (
    calendar_year_enter,
    deadlines_recompute,
)
from .intake import (
    Intake,
    UploadWithPoster,
    attachment_add,
    case_create,
    case_number_next,
    case_numbers_next,
    cases_create_bulk,
    owning_agency_for,
    random_upload_name,
)

__all__ = [
    "BIND_ALREADY",
    "BIND_DONE",
    "BIND_ERASED",
    "BIND_OTHER",
    "MAX_CASE_PHOTOS",
    "OUT_OF_SCOPE_REFUSAL",
    "SEND_BACK_REASON_MAX",
    "SUPPLEMENT_TEXT_MAX",
    "WITHDRAW_REASON_MAX",
    "Intake",
    "TransitionError",
    "UploadWithPoster",
    "attachment_add",
    "calendar_year_enter",
    "case_accept",
    "case_answer",
    "case_answer_supervision",
    "case_approve",
    "case_assign",
    "case_create",
    "case_decide_extension",
    "case_escalate",
    "case_hand_over",
    "case_mark_duplicate",
    "case_number_next",
    "case_numbers_next",
    "case_reopen",
    "case_reporter_bind",
    "case_request_extension",
    "case_reroute",
    "case_return",
    "case_send_back",
    "case_submit_reply",
    "case_supervise",
    "case_supplement",
    "case_withdraw",
    "cases_create_bulk",
    "deadlines_recompute",
    "owning_agency_for",
    "random_upload_name",
]
