"""Demo guidance notices (Art. 14 业务指导) and a commendation (Art. 18 表彰), through the real services, so
the 业务指导 and 表彰与惩处 pages have something to show. Written once: nothing when notices exist."""

from __future__ import annotations

from eco12369.orgs.models import Agency, User
from eco12369.oversight.models import GuidanceNotice, StaffMerit
from eco12369.oversight.periods import previous_month
from eco12369.oversight.services import guidance_notice_mark_read, guidance_notice_publish, staff_merit_record

NOTICES = [
    (
        "关于规范微信举报件答复意见“五要素”填写的通知",
        "各区生态环境局：近期抽查发现，部分举报件答复意见中“现场检查及核实情况”“与举报人沟通答复情况”"
        "填写过于简略。请各承办部门严格按照《规定》第十条要求，逐项写明检查时间、检查人员、核实结论和"
        "沟通方式，审核人员对不完整的答复意见一律退回修改。",
        None,
    ),
    (
        "关于做好重点区域夜间施工噪声举报办理工作的通知",
        "和平区、滨海新区生态环境局：近期夜间施工噪声举报明显增多。请对重复举报的工地加强夜间巡查，"
        "第一时间赶赴现场查处（《规定》第九条），并在答复意见中写明处理措施和后续监管安排。",
        ["和平区", "滨海新区"],
    ),
]


def demo_oversight() -> int:
    """Publish the demo notices (one read by 和平区), and record one commendation; returns notices made."""
    if GuidanceNotice.objects.exists():
        return 0
    city_operator = User.objects.get(username="city_operator")
    for title, body, districts in NOTICES:
        recipients = (
            list(Agency.objects.filter(kind=Agency.Kind.DISTRICT_BUREAU, region__name__in=districts))
            if districts
            else None
        )
        notice = guidance_notice_publish(actor=city_operator, title=title, body=body, recipients=recipients)
        guidance_notice_mark_read(notice=notice, user=User.objects.get(username="heping_operator"))
    staff_merit_record(
        actor=User.objects.get(username="heping_head"),
        person=User.objects.get(username="heping_handler"),
        kind=StaffMerit.Kind.COMMENDATION,
        reason="上月承办的举报件全部按期办结，答复意见“五要素”完整，抽查得分全区第一。",
        period=previous_month().key,
    )
    return len(NOTICES)
