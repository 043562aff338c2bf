"""The H5 report form. Every refusal is a clear Chinese message next to the field; nothing is written
until the whole form is valid."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from eco12369.cases.models import DESCRIPTION_MIN, TEXT_MAX, Category, Kind
from eco12369.cases.photos import MAX_REPORT_PHOTOS as MAX_PHOTOS
from eco12369.cases.photos import CleanPhoto, MultiplePhotoField, photo_stored, photo_upload_check
from eco12369.orgs.models import Region
from eco12369.plaintext import CleanCharField

DESCRIPTION_MAX = TEXT_MAX
MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
SIX_PLACES = Decimal("0.000001")


def district_choices() -> list[tuple[str, str]]:
    districts = (
        Region.objects.filter(level=Region.Level.DISTRICT).order_by("code").values_list("code", "name")
    )
    return [("", "不确定（由市举报受理中心分办）"), *[(code, name) for code, name in districts]]


def normalise_phone(raw: str) -> str:
    phone = re.sub(r"[\s()（）]", "", raw)
    phone = re.sub(r"^(\+?86)(?=1\d{10}$)", "", phone)
    return phone


class ReportForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    kind = forms.ChoiceField(
        label="反映类型",
        choices=Kind.choices,
        initial=Kind.REPORT,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择反映类型。", "invalid_choice": "请选择反映类型。"},
    )
    category = forms.ChoiceField(
        label="污染类别",
        choices=Category.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "请选择污染类别，不确定请选“其他”。",
            "invalid_choice": "请选择污染类别。",
        },
    )
    district = forms.ChoiceField(
        label="所在区",
        required=False,
        error_messages={"invalid_choice": "请从列表中选择所在区。"},
    )
    reported_party = CleanCharField(
        label="被举报对象",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "单位或企业名称，不清楚可不填"}),
        error_messages={"max_length": "被举报对象最多200个字。"},
    )
    address = CleanCharField(
        label="详细地址",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "街道、门牌号或附近的标志性建筑"}),
        error_messages={"max_length": "地址最多300个字。"},
    )
    latitude = forms.CharField(label="现场位置", required=False, widget=forms.HiddenInput, max_length=20)
    longitude = forms.CharField(label="现场位置", required=False, widget=forms.HiddenInput, max_length=20)
    occurred_at = forms.DateTimeField(
        label="发生时间",
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "请填写正确的发生时间，例如 2026-11-25 14:30。"},
    )
    description = CleanCharField(
        label="情况描述",
        min_length=DESCRIPTION_MIN,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "placeholder": "请写明看到、闻到或听到的情况，例如：某工厂烟囱每天夜里冒黑烟，气味刺鼻。",
            }
        ),
        error_messages={
            "required": "请描述您看到的情况，这是处理举报最重要的信息。",
            "min_length": f"情况描述太短，请至少写{DESCRIPTION_MIN}个字，说清是什么、在哪里、什么时候。",
            "max_length": f"情况描述最多{DESCRIPTION_MAX}个字，请精简后再提交（当前%(show_value)d字）。",
        },
    )
    photos = MultiplePhotoField(label="现场照片")
    anonymous = forms.TypedChoiceField(
        label="是否匿名",
        choices=[("0", "实名举报"), ("1", "匿名举报")],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
        error_messages={"required": "请选择实名或匿名举报。", "invalid_choice": "请选择实名或匿名举报。"},
    )
    reporter_name = CleanCharField(
        label="姓名",
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": "选填"}),
        error_messages={"max_length": "姓名最多50个字。"},
    )
    reporter_phone = forms.CharField(
        label="联系电话",
        required=False,
        max_length=30,
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": "选填，便于核实情况",
            }
        ),
        error_messages={"max_length": "请填写正确的手机号码或固定电话。"},
    )

    def __init__(self, *args: Any, staged_keys: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.staged_keys = list(staged_keys or [])
        self.fields["district"].choices = district_choices()  # type: ignore[attr-defined]
        # Photos that passed their own check: attached on success, kept for the next try otherwise.
        self.checked_photos: list[tuple[UploadedFile, CleanPhoto]] = []
        now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        self.fields["occurred_at"].widget.attrs["max"] = now
        self.fields["photos"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"

    # ------------------------------------------------------------------------------- fields
    def clean_district(self) -> Region | None:
        code = self.cleaned_data.get("district") or ""
        if not code:
            return None
        return Region.objects.filter(code=code, level=Region.Level.DISTRICT).first()

    def clean_description(self) -> str:
        return str(self.cleaned_data["description"]).strip()

    def clean_occurred_at(self) -> dt.datetime | None:
        value: dt.datetime | None = self.cleaned_data.get("occurred_at")
        if value is not None and value > timezone.now() + dt.timedelta(minutes=10):
            raise ValidationError("发生时间不能晚于现在。", code="future")
        return value

    def _coordinate(self, name: str, limit: int) -> Decimal | None:
        raw = str(self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or not -limit <= value <= limit:
            raise ValidationError("定位信息无效，请重新点击“使用当前位置”或清除定位。", code="bad_location")
        return value.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)

    def clean_latitude(self) -> Decimal | None:
        return self._coordinate("latitude", 90)

    def clean_longitude(self) -> Decimal | None:
        return self._coordinate("longitude", 180)

    def clean_photos(self) -> list[UploadedFile]:
        uploads: list[UploadedFile] = self.cleaned_data.get("photos") or []
        kept = len(self.staged_keys) - len(self.removed_staged)
        if kept + len(uploads) > MAX_PHOTOS:
            raise ValidationError(
                f"最多上传{MAX_PHOTOS}张照片，您一共选择了{kept + len(uploads)}张，请删去一些后重新选择。",
                code="too_many_photos",
            )
        errors: list[ValidationError] = []
        for upload in uploads:
            try:
                self.checked_photos.append((upload, photo_upload_check(upload)))
            except ValidationError as exc:
                errors.append(exc)
        if errors:
            raise ValidationError(errors)
        return uploads

    # ------------------------------------------------------------------------------- form
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        if (
            "latitude" in data
            and "longitude" in data
            and (data["latitude"] is None) != (data["longitude"] is None)
        ):
            self.add_error("latitude", "定位信息不完整，请重新点击“使用当前位置”或清除定位。")
        if data.get("anonymous"):
            # Art. 17: an anonymous report keeps no name and no phone; what was typed is ignored, not refused.
            data["reporter_name"] = ""
            data["reporter_phone"] = ""
            self.errors.pop("reporter_name", None)
            self.errors.pop("reporter_phone", None)
        else:
            data["reporter_name"] = str(data.get("reporter_name") or "").strip()
            phone = normalise_phone(str(data.get("reporter_phone") or ""))
            if phone and not (MOBILE.match(phone) or LANDLINE.match(phone)):
                self.add_error(
                    "reporter_phone",
                    ValidationError(
                        "电话号码格式不正确：请填写11位手机号码，或带区号的固定电话（如 022-23456789）。",
                        code="bad_phone",
                    ),
                )
            else:
                data["reporter_phone"] = phone
        return data

    @property
    def removed_staged(self) -> set[str]:
        if not self.is_bound:
            return set()
        return set(self.data.getlist("remove_staged")) & set(self.staged_keys)  # type: ignore[attr-defined]


class SimilarForm(forms.Form):
    """The place and party typed so far, for “already reported?” (every field optional and lenient:
    a bad value is ignored rather than refused, the report form checks it properly)."""

    district = forms.CharField(required=False, max_length=12)
    address = CleanCharField(required=False, max_length=300)
    reported_party = CleanCharField(required=False, max_length=200)
    latitude = forms.CharField(required=False, max_length=20)
    longitude = forms.CharField(required=False, max_length=20)

    def place(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        district = None
        code = str(data.get("district") or "")
        if code:
            district = Region.objects.filter(code=code, level=Region.Level.DISTRICT).first()
        lat = _lenient_coordinate(str(data.get("latitude") or ""), 90)
        lon = _lenient_coordinate(str(data.get("longitude") or ""), 180)
        if lat is None or lon is None:
            lat = lon = None
        return {
            "district": district,
            "address": str(data.get("address") or "").strip(),
            "reported_party": str(data.get("reported_party") or "").strip(),
            "latitude": lat,
            "longitude": lon,
        }

    def has_place(self) -> bool:
        place = self.place()
        return bool(
            place["reported_party"]
            or place["latitude"] is not None
            or (place["district"] and place["address"])
        )


def _lenient_coordinate(raw: str, limit: int) -> Decimal | None:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or not -limit <= value <= limit:
        return None
    return value.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)


class SupplementForm(forms.Form):
    """补充材料 (issue 14): text or photos added to the reporter's own report until it is accepted."""

    text = CleanCharField(
        label="补充说明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = MultiplePhotoField(label="补充照片")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"
        self.stored_photos: list[UploadedFile] = []

    def clean_photos(self) -> list[UploadedFile]:
        uploads: list[UploadedFile] = self.cleaned_data.get("photos") or []
        if len(uploads) > MAX_PHOTOS:
            raise ValidationError(f"一次最多补充{MAX_PHOTOS}张照片。", code="too_many_photos")
        errors: list[ValidationError] = []
        for upload in uploads:
            try:
                checked = photo_upload_check(upload)
            except ValidationError as exc:
                errors.append(exc)
            else:
                self.stored_photos.append(photo_stored(checked))
        if errors:
            raise ValidationError(errors)
        return uploads

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("text") or "").strip() and not data.get("photos") and not self.errors:
            raise ValidationError("请填写补充说明或选择照片。")
        return data


class WithdrawForm(forms.Form):
    """撤回 (issue 14): the reporter withdraws their report before it is accepted, with a reason."""

    reason = CleanCharField(label="撤回理由", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
