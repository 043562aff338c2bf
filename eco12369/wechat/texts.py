"""The fixed texts of the official account's chat (approved wording; Art. 6, 16, 17)."""

from __future__ import annotations

MENU_RULES_KEY = "RULES"

SCOPE = (
    "本公众号受理天津市范围内的下列环境污染举报（《天津市“12369”环保微信举报工作管理暂行规定》第六条）：\n"
    "① 工业企业超标排放大气污染物，如冒黑烟；\n"
    "② 工业企业超标排放水污染物，如排黑水；\n"
    "③ 工业企业超标排放噪声；\n"
    "④ 非法排放、转移、倾倒、处置危险废物，如倒黑渣。"
)

HOW_TO = (
    "举报方法：直接发送文字，说明被举报单位、地点、时间和污染情况；再发送现场照片（最多9张）和位置"
    "（点“+”选“位置”）；最后回复“提交”。也可点击菜单“提交举报”填写表单。\n"
    "回复“查询 编号”可查询办理进度（电话举报的，回复“查询 编号 查询码”），回复“取消”可放弃未提交的举报。"
)

WELCOME = (
    "您好，欢迎关注“12369环保举报”！\n"
    + SCOPE
    + "\n"
    + HOW_TO
    + "\n我们对举报人的个人信息严格保密。情况紧急请拨打12369环保举报热线。"
)

RULES = (
    "【举报须知】\n" + SCOPE + "\n"
    "办理时限：收到举报后2个工作日内确认；受理后60日内办结，情况复杂的经负责人批准可延长，"
    "延长不超过30日。办理结果经审核后通过本公众号答复您。\n"
    "不属于环保部门职责的事项，将答复您或移交有关部门并告知您。\n"
    "请如实反映情况；我们对举报人的个人信息严格保密（第十七条）。\n" + HOW_TO
)

HELP = "您好！" + HOW_TO + "\n点击菜单“举报须知”了解受理范围和办理时限。"

UNSUPPORTED = (
    "暂不支持链接、文件等消息。请用文字或语音描述举报内容，并发送现场照片、视频和位置，最后回复“提交”。"
)
MEDIA_MISSING = "语音或视频接收失败，请重新发送。"
VOICE_FORMAT_REFUSED = "这条语音的格式（{format}）无法保存，请重新录制语音，或改用文字描述。"
TOO_MANY_MEDIA = "每次举报最多{limit}段语音和{limit}段视频，本条未保存。请回复“提交”提交举报。"
MEDIA_REFUSED = (
    "您发送的{what}未能保存：{reason}。请重新发送（照片不超过10MB；语音不超过2MB；视频为MP4格式、不超过10MB），"
    "或用文字说明。"
)
MEDIA_LIMITS = "（语音不超过2MB，视频不超过10MB、MP4格式；超出的将无法保存。）"


def media_received(kind: str, count: int, *, recognised: bool, has_location: bool) -> str:
    """The reply to a voice message or a video added to the draft."""
    what = "语音" if kind == "voice" else "视频"
    parts = [f"已收到第{count}段{what}。"]
    if recognised:
        parts.append("语音的文字已记入举报内容。")
    elif kind == "voice":
        parts.append("请再用文字简要说明被举报单位、地点和污染情况。")
    if not has_location:
        parts.append("可发送位置（点“+”选“位置”）。")
    parts.append("全部发送后回复“提交”。" + MEDIA_LIMITS)
    return "".join(parts)


DRAFT_STARTED = (
    "已记录您的举报内容。\n请继续发送现场照片（可多张，最多9张）和所在位置（点“+”选“位置”），"
    "全部发送后回复“提交”。回复“取消”可放弃本次举报。"
)
TEXT_CUT = "举报内容最多{limit}字，您这条消息只保留了前{kept}字，其余部分未记录，请精简后补充发送。"
DRAFT_TEXT_ADDED = "已补充举报内容。发送照片、位置后，回复“提交”即可提交举报。"
NEED_TEXT = "请先用文字描述举报内容（被举报单位、地点、时间、污染情况），再回复“提交”。"
TOO_SHORT = (
    "举报内容太短（现有{count}个字，至少需要{minimum}个字），还不能提交。"
    "请补充被举报单位、地点、时间和看到、闻到或听到的污染情况，然后再回复“提交”。"
)
QUERY_HOW = (
    "没有读懂要查询的编号。请回复“查询”加编号，例如：查询 TJ20261207000008"
    "（编号在您提交举报后收到的回复里）；只回复“查询”可列出您最近的举报。"
    "电话举报的，请在编号后加上接线员告知的10位查询码，例如：查询 TJ20261207000008 K7M2Q9XW4P。"
)
OUT_OF_SCOPE = (
    "提示：{hint}。本公众号受理的是第六条所列工业企业排放大气、水污染物和噪声，以及非法处置危险废物的举报；"
    "如确属此类，请继续发送照片、位置后回复“提交”。"
)
NOTIFY_ON = "已开启办理进度通知：您的举报被受理、办结时，我们会通过微信通知您。"
NOTIFY_OFF = "您未开启办理进度通知。可随时回复“查询 编号”查看办理进度。"
CANCELLED = "已取消本次未提交的举报，已发送的内容和照片均已删除。"
IMAGE_MISSING = "照片接收失败，请重新发送。"
TOO_MANY_PHOTOS = "每次举报最多9张照片，本张未保存。请回复“提交”提交举报。"
LOCATION_INVALID = "位置信息无效，请重新发送位置。"
NOT_FOUND = "未找到编号为 {number} 的举报。请核对编号；只能查询您本人通过本公众号提交的举报。"
CODE_REFUSED = (
    "编号或查询码不正确，未能查询。请核对后重新发送“查询 编号 查询码”，例如：查询 TJ20261207000008 K7M2Q9XW4P"
    "（查询码共10位，电话登记时由接线员告知）。本小时内还可尝试{left}次。"
)
CODE_LOCKED = (
    "查询码输错次数过多，为保护举报人信息，请于{minutes}分钟后再试。如需帮助，请拨打12369环保举报热线。"
)
CODE_BOUND = "已将此举报绑定到您的微信，今后的办理进度和办理结果将通过本公众号通知您。"
CODE_BOUND_OTHER = "此举报已绑定其他微信号，办理进度通知将发至该微信号。"
MERGED_PRIVACY = "为保护举报人，这里只显示该件的公开摘要和办理状态。"
MERGED_PROMISE = "该件办结后，我们将通过本公众号告知您。"
NO_CASES = "您还没有通过本公众号提交过举报。"
RECENT_CASES = "您最近的举报：\n{lines}\n回复“查询 编号”查看详情。"


def photo_received(count: int, *, has_text: bool, has_location: bool) -> str:
    parts = [f"已收到第{count}张照片。"]
    if not has_text:
        parts.append("请用文字描述举报内容。")
    if not has_location:
        parts.append("可发送位置（点“+”选“位置”）。")
    parts.append("全部发送后回复“提交”。")
    return "".join(parts)


def location_received(label: str, district: str | None, *, has_text: bool) -> str:
    place = label or "（未提供地址）"
    where = f"，属{district}" if district else "（不在天津市范围内，将由市举报受理中心确认）"
    text = f"已记录位置：{place}{where}。"
    return text + ("确认无误后回复“提交”。" if has_text else "请用文字描述举报内容，然后回复“提交”。")


# WeChat refuses a text message whose content exceeds 2048 bytes (客服消息 errcode 45002 "content size out
# of limit"; a passive reply that long is not shown either). Every outgoing text is cut below that, on a
# character boundary, with a pointer to the H5 page, where the full text is.
TEXT_SAFE_BYTES = 2000  # below the 2048 bytes, with room for the "]]>" escaping of a passive reply
CUT_SUFFIX = "…（全文请在“我的举报”页面查看）"


def text_fit(text: str, limit: int = TEXT_SAFE_BYTES) -> str:
    """``text`` as WeChat will carry it: unchanged when it fits in ``limit`` UTF-8 bytes, else cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(CUT_SUFFIX.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore").rstrip() + CUT_SUFFIX
