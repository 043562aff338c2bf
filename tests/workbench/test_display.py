"""Masking of reporter data and the Chinese time-left texts."""

from __future__ import annotations

import datetime as dt

import pytest

from eco12369.cases.deadlines import time_left
from eco12369.cases.privacy import mask_name, mask_phone

NOW = dt.datetime(2025, 3, 3, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "李*"), ("", ""), ("  王五 ", "王*")]
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),  # a mobile: the first three and the last four
        ("022-23456789", "022*****6789"),  # a landline with its area code: eleven digits
        ("23456789", "****6789"),  # a landline without: half hidden (was 234*6789, seven shown)
        ("2345-6789", "*****6789"),
        ("2345678", "****678"),  # at least four digits hidden
        ("123456789", "*****6789"),  # never more than the last four shown
        ("12369", "****9"),  # was ***69: two of five shown, only three hidden
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(days=3, hours=5, minutes=10), "剩余3天5小时"),
        (dt.timedelta(days=2), "剩余2天"),
        (dt.timedelta(hours=5, minutes=20), "剩余5小时20分钟"),
        (dt.timedelta(minutes=45), "剩余45分钟"),
        (dt.timedelta(seconds=20), "剩余不足1分钟"),
        (-dt.timedelta(days=2, hours=3), "已超期2天"),
        (-dt.timedelta(hours=3, minutes=30), "已超期3小时"),
        (-dt.timedelta(minutes=5), "已超期5分钟"),
    ],
)
def test_time_left(delta: dt.timedelta, text: str) -> None:
    assert time_left(NOW + delta, NOW) == text
