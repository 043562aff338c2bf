"""What ``bench/run.py`` relies on: its pre-generated WeChat requests are real, valid callback traffic (each
accepted once, reporters end up with cases), and its hand-written SQL ceiling computes the same monthly
figures as ``stats/figures.py``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from bench.run import ceiling_params, ceiling_sql, figures_agree, percentile, wechat_requests
from bench.seed import report_pool, seed
from eco12369.cases.models import Case
from eco12369.orgs.models import Region
from eco12369.stats.figures import Month, monthly_figures
from eco12369.wechat.models import InboundMessage

pytestmark = pytest.mark.django_db


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([3.0], 99) == 3.0


def test_generated_callback_requests_create_cases(tianjin: None, tmp_path: Path) -> None:
    path = tmp_path / "requests.txt"
    written = wechat_requests(path, count=10, threads=1, conf=settings.WECHAT, pool=report_pool(20, 3))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert written == len(lines) >= 10
    client = Client()
    for line in lines:
        url, body = line.split("\t", 1)
        assert "encrypt_type=aes" in url and "<Encrypt>" in body  # safe mode: nothing readable on the wire
        response = client.generic("POST", url, body.encode(), content_type="text/xml")
        assert response.status_code == 200
    assert InboundMessage.objects.count() == len(lines)  # a new MsgId and nonce each: none refused
    submitted = InboundMessage.objects.filter(content="提交").count()
    assert submitted > 0
    assert Case.objects.filter(channel="wechat_chat").count() == submitted
    # Replaying a line is answered as WeChat's retry, and writes nothing: the load tool must not wrap
    # around (it would measure retries, not messages).
    url, body = lines[0].split("\t", 1)
    assert client.generic("POST", url, body.encode(), content_type="text/xml").status_code == 200
    assert InboundMessage.objects.count() == len(lines)


def test_ceiling_sql_computes_the_same_figures(tianjin: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the ceiling is PostgreSQL SQL; CI runs this on PostgreSQL")
    result = seed(cases=1500, seed=3, years=1, progress=None)
    month = Month.of(result.end).previous()
    as_of = dt.datetime.now(dt.UTC)
    sql = ceiling_sql()
    district = Region.objects.get(name="和平区")
    for region in (district, Region.objects.get(level=Region.Level.CITY)):
        figures = monthly_figures(region=region, month=month, as_of=as_of)
        with connection.cursor() as cursor:
            cursor.execute(sql, ceiling_params(region, month, as_of))
            found = cursor.fetchone()[0]
        assert figures.headline.received > 0
        assert figures_agree(figures, found) == ""
