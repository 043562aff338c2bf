"""Tianjin's city and its 16 districts (codes and names): plain data without Django, read by the
reference data loader (``tianjin``) and by the duplicate scorer, which runs without a database."""

from __future__ import annotations

CITY = ("120000", "天津市")
DISTRICTS: list[tuple[str, str]] = [
    ("120101", "和平区"),
    ("120102", "河东区"),
    ("120103", "河西区"),
    ("120104", "南开区"),
    ("120105", "河北区"),
    ("120106", "红桥区"),
    ("120110", "东丽区"),
    ("120111", "西青区"),
    ("120112", "津南区"),
    ("120113", "北辰区"),
    ("120114", "武清区"),
    ("120115", "宝坻区"),
    ("120116", "滨海新区"),
    ("120117", "宁河区"),
    ("120118", "静海区"),
    ("120119", "蓟州区"),
]
