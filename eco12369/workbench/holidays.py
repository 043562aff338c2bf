"""The holiday calendar import page (issue 15, item 6): paste the year's 国务院办公厅 notice as a table, or
upload it as CSV, see each row's errors and the days that would change, then confirm. The system
administrator and the city centre only. Reading and entering are ``cases.calendar_import``'s."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from eco12369.cases.calendar_import import (
    MAX_CHARS,
    CalendarTable,
    ImportRefused,
    calendar_import_confirm,
    calendar_table_read,
)
from eco12369.formfields import FIRST_YEAR, LAST_YEAR
from eco12369.orgs.models import User
from eco12369.pages import request_user, require

from .queues import works_on_cases

MAX_UPLOAD = 200 * 1024


def can_import_calendar(user: User) -> bool:
    return bool(user.is_system_admin or (user.is_city_centre and works_on_cases(user)))


def _decode(data: bytes) -> str:
    """A CSV as Excel saves it here: UTF-8 (with or without its mark) or GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise forms.ValidationError("无法识别文件的编码，请另存为 UTF-8 或 GBK 编码的 CSV 文件。")


class CalendarImportForm(forms.Form):
    year = forms.IntegerField(label="年份", min_value=FIRST_YEAR, max_value=LAST_YEAR)
    note = forms.CharField(
        label="依据（通知文号）",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "如：国办发明电〔2026〕7号"}),
    )
    table = forms.CharField(
        label="节假日安排表",
        required=False,
        max_length=MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text="每行一个日期或一段日期，注明“上班”或“休息”，可加说明；可从表格软件直接粘贴，"
        "如：2027-02-06 至 2027-02-13，休息，春节。",
    )
    file = forms.FileField(
        label="或上传CSV文件", required=False, help_text="列：日期、上班/休息、说明（UTF-8 或 GBK 编码）"
    )
    digest = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD:
                raise forms.ValidationError("文件过大：节假日安排表不超过200KB。")
            data["table"] = _decode(upload.read())
            data["source"] = f"CSV：{upload.name}"[:120]
        else:
            data["source"] = "粘贴"
        # One kind of line end, so that the text previewed and the text confirmed compare equal.
        data["table"] = (data.get("table") or "").replace("\r\n", "\n").replace("\r", "\n").strip()
        if not data["table"]:
            raise forms.ValidationError("请粘贴节假日安排表，或上传CSV文件。")
        return data


def table_digest(year: int, text: str) -> str:
    """What was previewed: a confirm of any other table (edited since) is previewed again, not entered."""
    return hashlib.sha256(f"{year}\n{text}".encode()).hexdigest()


@login_required
def calendar_import(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    require(can_import_calendar(user))
    table: CalendarTable | None = None
    status = 200
    if request.method == "POST":
        form = CalendarImportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            table = calendar_table_read(data["table"], year=data["year"])
            digest = table_digest(data["year"], data["table"])
            if request.POST.get("action") == "confirm":
                if data.get("digest") != digest or data.get("file") is not None:
                    messages.warning(request, "表格在预览后有改动，请核对下面的预览后再确认导入。")
                else:
                    try:
                        entry = calendar_import_confirm(
                            table=table, actor=user, note=data["note"], source=data["source"], request=request
                        )
                    except ImportRefused as exc:
                        messages.error(request, exc.message)
                        status = 422
                    else:
                        messages.success(
                            request,
                            f"已导入{entry.year}年节假日安排：放假{len(table.holidays)}天、调休上班"
                            f"{len(table.workdays)}天，相关办理期限已重新计算。",
                        )
                        return HttpResponseRedirect(reverse("workbench:calendar_import"), status=303)
            # The preview (or a refused confirm): the text, as read, goes back in the form.
            # A preview that finds errors in the table is still a preview that worked: 200.
            form = CalendarImportForm(
                initial={"year": data["year"], "note": data["note"], "table": data["table"], "digest": digest}
            )
        else:
            status = 422
    else:
        form = CalendarImportForm(initial={"year": timezone.localdate().year + 1})
    return render(request, "workbench/calendar_import.html", {"form": form, "table": table}, status=status)
