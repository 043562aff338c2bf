"""Oversight by the city centre (Art. 14, 18): duplicate candidates, spot checks, assessment weights.

Supervision orders live in the cases app (``cases.SupervisionOrder``) because they sit on the case's
timeline; this app lists them and calls ``case_supervise`` / ``case_answer_supervision``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from eco12369.cases.models import Case
from eco12369.orgs.models import Region

from .duplicate_scoring import DUPLICATE_THRESHOLD
from .periods import period_parse


class CaseFingerprint(models.Model):
    """What the duplicate finder looks cases up by, in indexed columns: the normalised reported party, the
    street of the address and the ~1 km grid cell of the coordinates, each with the time of receipt.
    Written with the case (post_save)."""

    case = models.OneToOneField(Case, primary_key=True, on_delete=models.CASCADE, related_name="fingerprint")
    party_key = models.CharField(_("被举报对象（规范化）"), max_length=100, blank=True)
    street_key = models.CharField(_("街道（规范化）"), max_length=60, blank=True)
    geo_cell = models.CharField(_("网格"), max_length=24, blank=True)
    received_at = models.DateTimeField(_("接收时间"))
    # Computed once by the finder (``tokenized``): jieba content words, space-separated, and the pollution
    # concepts (``duplicate_scoring.CONCEPTS`` keys), comma-separated, and the coarse problems
    # (``duplicate_scoring.PROBLEMS`` keys, the intake category's included), comma-separated.
    tokens = models.TextField(_("分词"), blank=True)
    concepts = models.CharField(_("污染问题"), max_length=200, blank=True)
    problems = models.CharField(_("污染类型"), max_length=100, blank=True)
    tokenized = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("举报件特征")
        verbose_name_plural = _("举报件特征")
        indexes = [
            models.Index(fields=["party_key", "received_at"], name="fingerprint_party_received"),
            models.Index(fields=["geo_cell", "received_at"], name="fingerprint_cell_received"),
            models.Index(fields=["street_key", "received_at"], name="fingerprint_street_received"),
            # Repeated reports: one month of fingerprints grouped by party, read from the index alone.
            models.Index(fields=["received_at", "party_key"], name="fingerprint_received_party"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.party_key} {self.geo_cell}"


class CaseGram(models.Model):
    """One character bigram of a case's normalised party or address (``duplicate_scoring.lookup_grams``):
    the duplicate finder looks up the earlier cases sharing the most bigrams within its window, so two
    reporters naming one party differently (大邱庄某轧钢厂 / 大邱庄轧钢厂) are still compared. Written with
    the fingerprint."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    gram = models.CharField(_("字串"), max_length=4)
    received_at = models.DateTimeField(_("接收时间"))

    class Meta:
        verbose_name = _("举报件查重字串")
        verbose_name_plural = _("举报件查重字串")
        indexes = [models.Index(fields=["gram", "received_at", "case"], name="case_gram_received")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.gram}"


class DuplicateCandidate(models.Model):
    """An earlier case that may report the same matter as ``case``, with the detector's scores: a duplicate
    of an open case, or a repeat (重复举报) of a case closed at most 12 months before (Art. 14)."""

    class Kind(models.TextChoices):
        DUPLICATE = "duplicate", _("疑似重复（原件未办结）")
        REPEAT = "repeat", _("办结后再次举报")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="duplicate_candidates")
    candidate = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(
        _("类型"), max_length=10, choices=Kind.choices, default=Kind.DUPLICATE, db_default=Kind.DUPLICATE
    )
    score = models.FloatField(_("相似度"))
    party_score = models.FloatField(_("被举报对象相似度"), null=True, blank=True)
    place_score = models.FloatField(_("地点相似度"), null=True, blank=True)
    text_score = models.FloatField(_("内容相似度"))
    problem_score = models.FloatField(_("问题类型相似度"), null=True, blank=True)
    distance_m = models.FloatField(_("距离（米）"), null=True, blank=True)
    days = models.FloatField(_("间隔天数"), null=True, blank=True)
    found_at = models.DateTimeField(_("发现时间"))

    class Meta:
        verbose_name = _("疑似重复举报")
        verbose_name_plural = _("疑似重复举报")
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "candidate"], name="duplicate_candidate_unique")
        ]
        indexes = [
            models.Index(fields=["case", "-score"], name="duplicate_case_score"),
            models.Index(fields=["kind", "found_at"], name="duplicate_kind_found"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}≈{self.candidate_id} {self.score:.2f}"

    @property
    def likely(self) -> bool:
        return self.score >= DUPLICATE_THRESHOLD

    @property
    def reasons(self) -> list[tuple[str, str]]:
        """Why the finder links the two cases, component by component, for the operator."""
        out = []
        if self.party_score is None:
            out.append(("被举报对象", "一方未写明名称（匿名、只写行业或地址），不作比较"))
        elif self.party_score >= 0.9:
            out.append(("被举报对象", f"名称相同或一方包含另一方（{self.party_score:.2f}）"))
        else:
            out.append(
                (
                    "被举报对象",
                    f"名称{'相近' if self.party_score >= 0.5 else '不同'}（{self.party_score:.2f}）",
                )
            )
        if self.distance_m is not None:
            out.append(("地点", f"相距约{self.distance_m:.0f}米"))
        elif self.place_score is None:
            out.append(("地点", "一方没有地址，不作比较"))
        else:
            out.append(
                (
                    "地点",
                    f"地址{'相同或相近' if self.place_score >= 0.8 else '不同'}（{self.place_score:.2f}）",
                )
            )
        if self.problem_score is None:
            out.append(("问题", "一方没有写明污染类型"))
        else:
            label = "相同" if self.problem_score >= 1 else "部分相同" if self.problem_score > 0 else "不同"
            out.append(("问题", f"反映的污染类型{label}"))
        out.append(("内容", f"举报内容相似度{self.text_score:.2f}"))
        if self.days is not None:
            when = "原件办结后再次举报，" if self.kind == self.Kind.REPEAT else ""
            out.append(("时间", f"{when}与原件相隔{self.days:.0f}天"))
        return out


class SpotCheck(models.Model):
    """抽查 (Art. 14): a seeded, stratified random sample of one month's closed cases."""

    month = models.DateField(_("月份"), unique=True)  # the first day of the month
    seed = models.BigIntegerField(_("随机种子"))
    per_district = models.PositiveSmallIntegerField(_("每区抽查件数"))
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drawn_at = models.DateTimeField(_("抽取时间"))
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("抽查")
        verbose_name_plural = _("抽查")
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y年%m月}抽查"


class SpotCheckItem(models.Model):
    """One sampled case, scored on the checklist. ``auto`` keeps what the platform computed; the fields hold
    the final values (a reviewer may change them, with a note). None: the item does not apply."""

    CHECKS = ("on_time", "reply_complete", "evidence", "reporter_informed")

    spot_check = models.ForeignKey(SpotCheck, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="spot_check_items")
    region = models.ForeignKey(Region, verbose_name=_("所属区"), on_delete=models.PROTECT, related_name="+")
    on_time = models.BooleanField(_("按期办结"), null=True)
    reply_complete = models.BooleanField(_("答复意见要素齐全"), null=True)
    evidence = models.BooleanField(_("有调查取证材料"), null=True)
    reporter_informed = models.BooleanField(_("已告知举报人"), null=True)
    auto = models.JSONField(_("系统核查结果"), default=dict)
    score = models.FloatField(_("得分"), null=True)
    note = models.TextField(_("抽查意见"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("抽查结果")
        verbose_name_plural = _("抽查结果")
        ordering = ["region__code", "case__number"]
        constraints = [models.UniqueConstraint(fields=["spot_check", "case"], name="spot_check_item_unique")]
        indexes = [models.Index(fields=["spot_check", "region"], name="spot_item_check_region")]

    def __str__(self) -> str:
        return f"{self.spot_check} {self.case_id}"


class AssessmentScheme(models.Model):
    """考核 (Art. 14): the weights of the district assessment, one per indicator of
    ``assessment.INDICATORS`` (the satisfaction rate's too, issue #7). The newest row is in force; a change
    is a new row, so earlier rankings can be explained. Each weight is 0–100, not all 0; they need not sum
    to 100 (the total divides by the weights of the indicators measured)."""

    name = models.CharField(_("名称"), max_length=100, default="区级举报办理考核")
    w_confirm_on_time = models.PositiveSmallIntegerField(_("按期确认率权重"), default=20)
    w_close_on_time = models.PositiveSmallIntegerField(_("按期办结率权重"), default=25)
    w_extension = models.PositiveSmallIntegerField(_("未延期率权重"), default=10)
    w_spot_check = models.PositiveSmallIntegerField(_("抽查得分权重"), default=20)
    w_supervision = models.PositiveSmallIntegerField(_("督办按期回复率权重"), default=15)
    w_repeat = models.PositiveSmallIntegerField(_("非重复举报率权重"), default=10)
    w_satisfaction = models.PositiveSmallIntegerField(_("满意度权重"), default=10)
    repeat_threshold = models.PositiveSmallIntegerField(_("重复举报认定次数"), default=3)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("考核权重")
        verbose_name_plural = _("考核权重")
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name

    WEIGHT_FIELDS = (
        "w_confirm_on_time",
        "w_close_on_time",
        "w_extension",
        "w_spot_check",
        "w_supervision",
        "w_repeat",
        "w_satisfaction",
    )

    def weights(self) -> dict[str, int]:
        """The weights by indicator key of ``assessment.INDICATORS`` (the satisfaction one included)."""
        return {name.removeprefix("w_"): getattr(self, name) for name in self.WEIGHT_FIELDS}


class GuidanceNotice(models.Model):
    """业务指导通知 (Art. 14): guidance the city centre publishes to the district bureaus. ``recipients`` are
    the bureaus it is addressed to, written at publication (all district bureaus when none was chosen)."""

    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    to_all = models.BooleanField(_("发送全部区"), default=True)
    recipients = models.ManyToManyField(
        "orgs.Agency", verbose_name=_("接收单位"), related_name="guidance_notices"
    )
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("发布时间"), db_index=True)

    class Meta:
        verbose_name = _("业务指导通知")
        verbose_name_plural = _("业务指导通知")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title


class GuidanceNoticeRead(models.Model):
    """The first time one user opened a notice; ``agency`` is the user's bureau then (read receipts per
    bureau)."""

    notice = models.ForeignKey(GuidanceNotice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey("orgs.Agency", on_delete=models.PROTECT, related_name="guidance_reads")
    read_at = models.DateTimeField(_("首次阅读时间"))

    class Meta:
        verbose_name = _("通知阅读记录")
        verbose_name_plural = _("通知阅读记录")
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="guidance_read_unique")]
        indexes = [models.Index(fields=["notice", "agency"], name="guidance_read_notice_agency")]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.user_id} {self.read_at:%Y-%m-%d %H:%M}"


class StaffMerit(models.Model):
    """表彰和惩处 (Art. 18): a commendation or a penalty/criticism of one member of staff for their work in a
    period, recorded by the head of the person's agency or the city centre's head. Kept next to the
    performance figures it rests on (``performance``); never edited, a correction is a new record."""

    class Kind(models.TextChoices):
        COMMENDATION = "commendation", _("表彰")
        CRITICISM = "criticism", _("通报批评")
        PENALTY = "penalty", _("惩处")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("工作人员"), on_delete=models.PROTECT, related_name="merits"
    )
    agency = models.ForeignKey(
        "orgs.Agency", verbose_name=_("所在机构"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    reason = models.TextField(_("事由"))
    # A ``periods.Period`` key: 2026-05, 2026-Q2, 2026, 2026-05-01..2026-05-15.
    period = models.CharField(_("所涉期间"), max_length=30)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("记录时间"))

    class Meta:
        verbose_name = _("表彰与惩处")
        verbose_name_plural = _("表彰与惩处")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["person", "-recorded_at"], name="merit_person_recorded")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind} {self.period}"

    @property
    def period_label(self) -> str:
        return period_parse(self.period).label
