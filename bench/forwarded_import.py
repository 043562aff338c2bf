"""The forwarded-cases import, measured (issue 14: 10,000 rows in under 60 s).

    .venv/bin/python bench/forwarded_import.py                 # 10,000 rows into a fresh SQLite database
    .venv/bin/python bench/forwarded_import.py --rows 2000     # another size
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eco_bench_import .venv/bin/python bench/forwarded_import.py
        # PostgreSQL: an empty database created beforehand (createdb); it is migrated and left, drop it after

A file of ``--rows`` forwarded rows (the 12345 hotline's columns: varied districts, categories, date formats,
anonymous and named reporters, about 2% bad rows) is read (the preview) and imported by the real services
(``hotline.services.import_preview`` and ``import_run``, the work the Huey job does), in a fresh database
with Tianjin's districts. Huey is not run at once: the duplicate detector's task per new case is queued, as
in production. Prints the time of each step and the rows per second; a second import of the same file
(nothing to create) is timed too.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DISTRICTS = ["和平区", "河东区", "河西区", "南开区", "河北区", "红桥区", "东丽区", "西青区", "津南区", "北辰区",
             "武清区", "宝坻区", "滨海新区", "宁河区", "静海区", "蓟州区", "", "南开"]  # fmt: skip
CATEGORIES = ["环境保护-大气污染", "环境保护-噪声扰民", "水污染", "扬尘", "油烟", "危险废物", "其它问题", ""]
PARTIES = ["某某化工有限公司", "XX建筑工地", "***饭店", "某汽修厂", "天津某塑料制品厂", "某混凝土搅拌站", ""]
TEXTS = [
    "晚上十点以后还在施工，噪音很大，影响休息。",
    "厂里烟囱冒黑烟，气味刺鼻，窗户都不敢开。",
    "排污口往河里放黄水，河面有泡沫。",
    "饭店油烟直排居民楼，呛得难受！！",
    "料场没苫盖，大风天粉尘满天飞",
    "有人往沟里倒废机油，地上一片黑。",
]
HEADER = "来源编号,转办时间,举报类型,来源类别,所在区,被举报对象,地址,经度,纬度,发生时间,举报内容,举报人姓名,举报人电话,是否匿名"


def make_file(rows: int, seed: int = 14) -> bytes:
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(rows):
        day, hour, minute = rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
        when = rng.choice(
            [f"2026-11-{day:02d} {hour:02d}:{minute:02d}", f"2026/11/{day} {hour}:{minute:02d}",
             f"2026年11月{day}日 {hour}时{minute}分", f"202611{day:02d}{hour:02d}{minute:02d}00"]
        )  # fmt: skip
        if i % 50 == 7:
            when = "上周五"  # about 2% bad rows
        anonymous = rng.random() < 0.3
        name = "" if anonymous else rng.choice(["王女士", "李先生", "赵**", "刘师傅"])
        phone = "" if anonymous else f"139{rng.randint(10000000, 99999999)}"
        district = rng.choice(DISTRICTS)
        lines.append(
            ",".join(
                [
                    f"12345-TJ-202611-{i:06d}",
                    when,
                    rng.choice(["投诉", "举报", "咨询"]),
                    rng.choice(CATEGORIES),
                    district,
                    rng.choice(PARTIES),
                    f"{district}某某路{rng.randint(1, 999)}号",
                    "",
                    "",
                    "",
                    rng.choice(TEXTS),
                    name,
                    phone,
                    "是" if anonymous else "否",
                ]
            )
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="eco-bench-import-"))
    os.environ["ECO_VAR_DIR"] = str(scratch)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch / 'db.sqlite3'}")
    os.environ["ECO_HUEY_IMMEDIATE"] = "0"  # tasks queued, as in production
    os.environ["DJANGO_SETTINGS_MODULE"] = "eco12369.settings_test"  # throwaway keys, nothing else changed
    import django

    django.setup()
    from django.core.management import call_command

    from eco12369.cases.models import Case
    from eco12369.hotline.services import import_confirm, import_preview, import_run
    from eco12369.orgs.services import staff_create
    from eco12369.orgs.tianjin import tianjin_load

    call_command("migrate", verbosity=0)
    tianjin_load()
    from eco12369.orgs.models import Agency

    centre = staff_create(
        username="bench_import",
        password="Bench-import-1!",
        agency=Agency.objects.get(kind=Agency.Kind.CITY_CENTRE),
        roles=("operator",),
    )
    data = make_file(args.rows)
    print(
        f"file: {args.rows} rows, {len(data) / 1024:.0f} KB, database {os.environ['DATABASE_URL'].split(':')[0]}"
    )

    start = time.perf_counter()
    batch, rows = import_preview(actor=centre, source="hotline_12345", name="bench.csv", data=data)
    preview = time.perf_counter() - start
    print(f"preview: {preview:.1f} s ({len(rows)} rows, {batch.valid} to import, {batch.failed} with errors)")

    import_confirm(actor=centre, batch=batch)
    start = time.perf_counter()
    done = import_run(batch_id=batch.pk)
    run = time.perf_counter() - start
    total = preview + run
    print(f"import: {run:.1f} s ({done.created} created, {done.skipped} skipped, {done.failed} errors)")
    print(f"upload to done: {total:.1f} s = {args.rows / total:.0f} rows/s (goal: 10,000 rows in under 60 s)")
    assert Case.objects.count() == done.created

    batch2, _ = import_preview(actor=centre, source="hotline_12345", name="bench.csv", data=data)
    import_confirm(actor=centre, batch=batch2)
    start = time.perf_counter()
    again = import_run(batch_id=batch2.pk)
    print(f"re-import: {time.perf_counter() - start:.1f} s, {again.created} created, {again.skipped} skipped")


if __name__ == "__main__":
    main()
