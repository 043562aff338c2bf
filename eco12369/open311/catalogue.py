"""Our kinds × pollution categories as Open311 services, with attribute definitions."""

from __future__ import annotations

from dataclasses import dataclass

from eco12369.cases.models import Category, Kind


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    kind: str
    category: str
    group: str
    keywords: str

    @property
    def metadata(self) -> bool:
        return self.kind == Kind.REPORT


SERVICES: list[Service] = [
    Service(
        "report_air",
        "大气污染举报",
        "工业企业超标排放大气污染物，如冒黑烟、刺鼻异味等（第六条第一项）。",
        Kind.REPORT,
        Category.AIR,
        "举报",
        "黑烟,废气,异味",
    ),
    Service(
        "report_water",
        "水污染举报",
        "工业企业超标排放水污染物，如排黑水等（第六条第二项）。",
        Kind.REPORT,
        Category.WATER,
        "举报",
        "黑水,废水,排污",
    ),
    Service(
        "report_noise",
        "噪声污染举报",
        "工业企业在生产经营过程中超标排放噪声（第六条第三项）。",
        Kind.REPORT,
        Category.NOISE,
        "举报",
        "噪声,噪音",
    ),
    Service(
        "report_hazardous_waste",
        "危险废物举报",
        "非法排放、转移、倾倒、处置危险废物，如倒黑渣等（第六条第四项）。",
        Kind.REPORT,
        Category.HAZARDOUS_WASTE,
        "举报",
        "危废,黑渣,倾倒",
    ),
    Service(
        "report_other", "其他环境问题举报", "其他环境污染问题。", Kind.REPORT, Category.OTHER, "举报", "其他"
    ),
    Service(
        "consultation",
        "环保咨询",
        "环境保护相关咨询。",
        Kind.CONSULTATION,
        Category.OTHER,
        "咨询建议",
        "咨询",
    ),
    Service(
        "suggestion",
        "环保建议",
        "对环境保护工作的意见和建议。",
        Kind.SUGGESTION,
        Category.OTHER,
        "咨询建议",
        "建议",
    ),
    Service("other", "其他事项", "其他事项。", Kind.OTHER, Category.OTHER, "咨询建议", "其他"),
]
BY_CODE = {s.code: s for s in SERVICES}


def service_for(kind: str, category: str) -> Service:
    if kind == Kind.REPORT:
        return BY_CODE.get(f"report_{category}", BY_CODE["report_other"])
    return BY_CODE.get(kind, BY_CODE["other"])
