"""The hotline form (made for speed: the fields in the order a caller tells them) and the import upload."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from eco12369.cases.models import Category, Kind, Source
from eco12369.cases.photos import MAX_REPORT_PHOTOS, MultiplePhotoField, photo_stored, photo_upload_check
from eco12369.orgs.geo import region_at
from eco12369.orgs.models import Region

from .services import Call

MAX_ATTACHMENTS = MAX_REPORT_PHOTOS
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


def _now_local() -> str:
    return f"{timezone.localtime():%Y-%m-%dT%H:%M}"


def region_named_in(text: str) -> Region | None:
    """The district a typed address names (“西青区张家窝镇…”, “滨海新区…”, “南开鞍山西道”): the longest
    district name, or its name without 区/新区, found in the text."""
    best: tuple[int, Region] | None = None
    for region in Region.objects.filter(level=Region.Level.DISTRICT):
        for name in {region.name, region.name.removesuffix("新区").removesuffix("区")}:
            if len(name) >= 2 and name in text and (best is None or len(name) > best[0]):
                best = (len(name), region)
    return best[1] if best else None


class CallForm(forms.Form):
    received_at = forms.DateTimeField(
        label="来电时间",
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    phone = forms.CharField(
        label="来电号码",
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off", "autofocus": True}),
    )
    name = forms.CharField(label="来电人姓名", required=False, max_length=50)
    anonymous = forms.BooleanField(label="匿名（不记录姓名和号码）", required=False)
    kind = forms.ChoiceField(label="类型", choices=Kind.choices, initial=Kind.REPORT)
    description = forms.CharField(label="反映内容", max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))
    category = forms.ChoiceField(label="污染类别", choices=Category.choices, initial=Category.OTHER)
    category_touched = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reported_party = forms.CharField(label="被举报对象", required=False, max_length=200)
    address = forms.CharField(label="地址", required=False, max_length=300)
    district = forms.ModelChoiceField(
        label="所在区",
        queryset=Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"),
        required=False,
        empty_label="按地址或地图判断",
    )
    latitude = forms.DecimalField(required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput)
    longitude = forms.DecimalField(required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput)
    occurred_at = forms.DateTimeField(
        label="发生时间",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    attachments = MultiplePhotoField(label="附件（照片）")

    def __init__(self, *args: Any, home: Region | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_at"].initial = _now_local()
        if home is not None:
            self.fields["district"].initial = home.pk
        self.fields["attachments"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"
        self.cleaned_photos: list[UploadedFile] = []

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("attachments") or []
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(f"最多{MAX_ATTACHMENTS}张照片。")
        # The portal's check (cases.photos): content judged, metadata removed, a random name.
        cleaned = [photo_stored(photo_upload_check(upload)) for upload in files]
        self.cleaned_photos = cleaned
        return cleaned

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lng = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lng is None):
            raise forms.ValidationError("地图位置不完整，请重新在地图上点选。")
        return data

    def district_resolved(self) -> Region | None:
        """The district chosen, else the one the map point lies in (the outlines), else one the address names."""
        data = self.cleaned_data
        district: Region | None = data.get("district")
        if district is None and data.get("latitude") is not None:
            district = region_at(data["latitude"], data["longitude"])
        if district is None and data.get("address"):
            district = region_named_in(data["address"])
        return district

    def call(self) -> Call:
        data = self.cleaned_data
        received: dt.datetime = data["received_at"]
        lat: Decimal | None = data.get("latitude")
        return Call(
            phone=data.get("phone", ""),
            name=data.get("name", ""),
            anonymous=bool(data.get("anonymous")),
            description=data["description"],
            received_at=received,
            kind=data["kind"],
            category=data["category"],
            reported_party=data.get("reported_party", ""),
            address=data.get("address", ""),
            district=self.district_resolved(),
            latitude=lat,
            longitude=data.get("longitude"),
            occurred_at=data.get("occurred_at"),
            attachments=self.cleaned_photos,
        )


class CandidateForm(forms.Form):
    """The fields the "already reported?" look-up reads while the operator types."""

    reported_party = forms.CharField(required=False, max_length=200)
    address = forms.CharField(required=False, max_length=300)
    district = forms.ModelChoiceField(
        queryset=Region.objects.filter(level=Region.Level.DISTRICT), required=False
    )
    latitude = forms.DecimalField(required=False, max_digits=9, decimal_places=6)
    longitude = forms.DecimalField(required=False, max_digits=9, decimal_places=6)


class ImportForm(forms.Form):
    source = forms.ChoiceField(label="转办来源", choices=Source.choices)
    file = forms.FileField(label="文件（.xlsx 或 .csv）")


class RepliesExportForm(forms.Form):
    source = forms.ChoiceField(label="转办来源", choices=Source.choices)
    since = forms.DateField(label="转办日期自", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="至", widget=forms.DateInput(attrs={"type": "date"}))
