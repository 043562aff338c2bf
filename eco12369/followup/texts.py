"""Fixed, approved texts of the follow-up features (what the platform tells reporters on its own)."""

from __future__ import annotations

LEVEL_CODES = {"1": "satisfied", "2": "basic", "3": "unsatisfied"}

NOT_CLOSED = "该举报尚未办结，办结后才能评价。"
DUPLICATE = "该举报已与编号 {number} 的举报合并办理，无需单独评价。"
NOT_RATEABLE = "该举报不在回访评价范围内。"
ALREADY_RATED = "您已评价过该举报的办理结果（{level}），每次办理结果只能评价一次。"
WINDOW_OVER = "评价期限已过：办结后{days}日内可以评价（截至{until}）。"
NOT_OWN = "只能评价您本人提交的举报。"
BAD_LEVEL = "请选择评价：满意、基本满意或不满意。"
COMMENT_TOO_LONG = "意见最多{max}个字。"

# What the reporter is told of the city centre's review of their unsatisfied rating: a fixed sentence per
# outcome. The reviewer's reason or note is internal (timeline, review list): nobody approved it for the
# reporter (DESIGN §3).
REVIEW_NOTICES = {
    "pending": "市举报受理中心正在复核，必要时将要求重新办理，并告知您。",
    "reopened": "您的评价已复核，案件已重新交办，办理结果将再次告知您。",
    "dismissed": "您的评价已复核，维持原办理结果。如有新的情况，欢迎再次举报。",
}

THANKS = "感谢您的评价！您对举报（编号 {number}）办理结果的评价为“{level}”。"
THANKS_UNSATISFIED = (
    "感谢您的评价！您对举报（编号 {number}）的办理结果不满意，市举报受理中心将进行复核，"
    "必要时要求重新办理，并通过本公众号告知您。"
)

# WeChat chat: 评价 <编号> 1/2/3 [意见]
CHAT_HOW = (
    "回复“评价 编号 数字 意见”评价办理结果：1 满意，2 基本满意，3 不满意，意见可不填。例如：评价 {example} 1"
)
CHAT_NONE = "您目前没有可以评价的举报。举报办结后{days}日内可以评价办理结果。"
CHAT_LIST = "您可以评价以下已办结的举报：\n{lines}\n" + CHAT_HOW
CHAT_NEED_NUMBER = "您有多件举报可以评价，请写明编号。\n{lines}\n" + CHAT_HOW
CHAT_NOT_FOUND = "未找到编号为 {number} 的举报。请核对编号；只能评价您本人通过本公众号提交的举报。"


def followed(*, number: str, status: str) -> str:
    """Told to a reporter who followed an open case instead of filing the same matter again."""
    return (
        f"您已关注举报（编号 {number}），您反映的情况已作为重复举报记入该件，当前状态：{status}。"
        "办结后我们将通过本公众号告知您，您也可在“我的举报”中查看进度。"
    )


def followed_closed(*, number: str, outcome: str) -> str:
    """Told to the followers of a case when it closes (the answer itself goes to its reporter only)."""
    return f"您关注的举报（编号 {number}）已办结（{outcome}）。如问题仍然存在，欢迎再次举报。"
