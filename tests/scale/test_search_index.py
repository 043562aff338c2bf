"""The workbench's search of the reported party at scale: ``selectors.party_contains`` finds what a plain
case-insensitive contains-search finds, and on PostgreSQL its condition is the one the GIN index of
character pairs (migration 0006) answers, so a province's million names are not scanned."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from django.test import Client

from eco12369.cases.models import Case
from eco12369.cases.selectors import (
    cases_matching_text,
    pair_statistics_forget,
    party_contains,
    text_share,
)
from eco12369.orgs.models import User

pytestmark = pytest.mark.django_db

PARTIES = ["天津市宏达化工有限公司", "宏达化工厂", "鑫源印染", "Hongda Chemical Co.", "达化", ""]


@pytest.fixture
def parties(make_case: Callable[..., Case]) -> list[Case]:
    return [make_case(reported_party=name) for name in PARTIES]


@pytest.mark.parametrize(
    "text", ["宏达", "达化工", "宏", "hongda", "HONGDA chem", "印染", "化工有限", "无此名称", " 宏达 "]
)
def test_finds_what_a_contains_search_finds(parties: list[Case], text: str) -> None:
    expected = set(Case.objects.filter(reported_party__icontains=text.strip()).values_list("pk", flat=True))
    assert set(party_contains(Case.objects.all(), text).values_list("pk", flat=True)) == expected


def test_the_workbench_search_uses_it(parties: list[Case], make_user: Callable[..., User]) -> None:
    client = Client()
    client.force_login(make_user("operator"))
    body = client.get("/search/", {"reported_party": "宏达"}).content.decode()
    assert "共 2 件" in body
    assert parties[0].number in body and parties[1].number in body and parties[2].number not in body


def test_postgresql_answers_it_from_the_pairs_index(parties: list[Case]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the GIN index of character pairs is PostgreSQL's (CI runs this on PostgreSQL)")
    qs = party_contains(Case.objects.all(), "宏达化工")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: make the planner show its index
        # Nor walk the received time's index for the model's order (once autovacuum has analysed a table
        # that other tests' committed cases filled, a handful of rows make that the cheaper plan).
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_party_bigrams" in plan, plan


def test_free_text_reads_four_pairs_indexes_and_checks_each_row_by_like_alone(
    make_case: Callable[..., Case],
) -> None:
    """``?q=`` on PostgreSQL: a BitmapOr of the four fields' pairs indexes; the rows found are checked by
    the LIKEs alone, without computing each row's pairs again (about 20 µs a row, most of a common word's
    search at a million cases)."""
    if connection.vendor != "postgresql":
        pytest.skip("the GIN indexes of character pairs are PostgreSQL's (CI runs this on PostgreSQL)")
    street = make_case(address="和平区解放南路256号", reported_party="某饭店")
    said = make_case(description="解放南路上那家饭店油烟直排", reported_party="某饭店")
    make_case(address="河西区解放北路", description="解放路噪音")
    qs = cases_matching_text(Case.objects.all(), "解放南路")
    assert set(qs.values_list("pk", flat=True)) == {street.pk, said.pk}
    sql, params = qs.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of rows: make the planner show the bitmap scans it takes at scale.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    text = "\n".join(plan)
    for field in ("description", "public_summary", "party", "address"):
        assert f"case_{field}_bigrams" in text, text
    filters = [line for line in plan if line.strip().startswith("Filter:")]
    assert filters and not any("eco_bigrams" in line for line in filters), text


def test_a_district_search_asks_the_pairs_indexes_for_its_district_and_its_words_together(
    make_case: Callable[..., Case],
) -> None:
    """A district's staff search their own district (``cases_visible_to``): the pairs indexes hold each
    case's district as a token beside its pairs (migration 0016), and the search asks for the token with
    the pairs in one containment, so a word common in other districts is not read case by case to find the
    few of this one (解放南路 at ten million cases: 105,000 cases elsewhere, none in 滨海新区)."""
    if connection.vendor != "postgresql":
        pytest.skip("the GIN indexes of character pairs are PostgreSQL's (CI runs this on PostgreSQL)")
    here = make_case("和平区", address="和平区解放南路2号", description="饭店油烟直排")
    said = make_case("和平区", description="解放南路那个饭店又在排油烟", reported_party="解放南路某饭店")
    make_case("河西区", address="河西区解放南路256号", description="饭店油烟直排")
    make_case("河西区", description="解放南路上那家饭店夜里烧烤", reported_party="解放南路某烧烤")
    heping = Case.objects.filter(region_id=here.region_id)
    for opaque in (False, True):
        qs = cases_matching_text(heping, "解放南路", opaque=opaque, region=here.region_id)
        assert set(qs.values_list("pk", flat=True)) == {here.pk, said.pk}
        parties = party_contains(heping, "解放南路某", opaque=opaque, region=here.region_id)
        assert list(parties.values_list("pk", flat=True)) == [said.pk]
    # Someone who types a token finds the cases whose text holds it, not the district's cases.
    token = f"#{here.region_id}#"
    assert cases_matching_text(heping, token, region=here.region_id).count() == 0
    typed = make_case("和平区", description=f"编号{token}的井盖冒黑水")
    assert list(cases_matching_text(heping, token, region=here.region_id).values_list("pk", flat=True)) == [
        typed.pk
    ]
    # Asked for another district's token, the same words find that district's cases only.
    hexi = make_case("河西区", address="河西区解放南路1号", description="汽修喷漆").region_id
    assert cases_matching_text(heping, "汽修喷漆", region=hexi).count() == 0
    qs = cases_matching_text(heping, "解放南路", region=here.region_id)
    sql, params = qs.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        # A handful of rows, where the district's own indexes cost nothing: they are dropped for the test's
        # transaction (rolled back), and the planner shows how it asks the pairs indexes.
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'cases_case' AND indexdef LIKE '%%btree%%region_id%%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    text = "\n".join(plan)
    scans = [k for k, line in enumerate(plan) if "Bitmap Index Scan on case_" in line and "_bigrams" in line]
    assert len(scans) == 4, text
    token = f"#{here.region_id}#"
    for k in scans:  # the line after a scan is its Index Cond: the district's token with the pairs
        assert "Index Cond" in plan[k + 1] and token in plan[k + 1], text


@pytest.fixture
def fresh_statistics() -> Iterator[None]:
    """The pairs indexes' statistics are read again (they are kept by the process)."""
    pair_statistics_forget()
    yield
    pair_statistics_forget()


def _analysed_common_word(make_case: Callable[..., Case]) -> list[Case]:
    """45 cases about 排污 (one of them in the address only) among 60, newest last; then ANALYZE, which
    lists 排污 among the pairs that are common in the descriptions."""
    made = []
    for k in range(60):
        if k % 4 == 3:
            made.append(make_case(description=f"工地夜间施工噪声扰民{k}", reported_party="某工地"))
        elif k == 10:
            made.append(make_case(description="河边有人倾倒垃圾", address="排污口旁"))
        else:
            made.append(make_case(description=f"某厂偷偷排污{k}，河水发黑", reported_party=f"某厂{k}"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    return made


def _walks(queries: list[dict[str, str]]) -> list[str]:
    return [q["sql"] for q in queries if "row_number() OVER ()" in q["sql"]]


def test_a_common_word_is_found_by_walking_the_newest_cases(
    make_case: Callable[..., Case], make_user: Callable[..., User], fresh_statistics: None, monkeypatch
) -> None:
    """?q= of a word the statistics of the pairs indexes call common: the page (and the count, when a walk
    reaches the cap) come from walking the newest cases, not from the pairs indexes, which collect every
    match first; the rows and the count are those of the usual search, page after page."""
    if connection.vendor != "postgresql":
        pytest.skip("the statistics of the pairs indexes are PostgreSQL's (CI runs this on PostgreSQL)")
    from django.test.utils import CaptureQueriesContext

    from eco12369.workbench import views

    made = _analysed_common_word(make_case)
    assert (text_share("排污", using=connection.alias) or 0) > 0.5
    expected = list(
        cases_matching_text(Case.objects.all(), "排污")
        .order_by("-received_at", "-id")
        .values_list("number", flat=True)
    )
    assert len(expected) == 45 and made[10].number in expected
    client = Client()
    client.force_login(make_user("operator", district_name=None))  # the city centre: every case
    seen: list[str] = []
    url = "/search/?q=%E6%8E%92%E6%B1%A1"
    with CaptureQueriesContext(connection) as queries:
        while url:
            body = client.get(url).content.decode()
            seen += _numbers(body)
            assert "共 45 件" in body  # every page: a walk through the whole list counted them
            after = re.search(r'href="(\?[^"]*)"[^>]*rel="next"', body)
            url = "/search/" + html.unescape(after.group(1)) if after else ""
    assert seen == expected
    assert len(_walks(queries.captured_queries)) == 6  # each of the 3 pages: its rows, the count
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    # A cap below the matches: the count's walk stops at the cap.
    monkeypatch.setattr(views, "SEARCH_COUNT_CAP", 10)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/search/", {"q": "排污"}).content.decode()
    assert "共 10+ 件" in body
    assert _numbers(body) == expected[:20]
    walks = _walks(queries.captured_queries)
    assert len(walks) == 2 and walks[1].endswith("LIMIT 12")  # the cap and one more, and the last row
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]


def _numbers(body: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'class="case-link" href="/cases/([A-Z0-9]+)/"', body)))


def test_a_rare_word_is_counted_by_the_walk_through_a_short_list(
    make_case: Callable[..., Case], make_user: Callable[..., User], fresh_statistics: None
) -> None:
    """A walk that reaches the end of the list has seen every match: its count is exact, no other query."""
    if connection.vendor != "postgresql":
        pytest.skip("the statistics of the pairs indexes are PostgreSQL's (CI runs this on PostgreSQL)")
    from django.test.utils import CaptureQueriesContext

    made = _analysed_common_word(make_case)
    client = Client()
    client.force_login(make_user("operator", district_name=None))
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/search/", {"q": "排污", "reported_party": "某厂1"}).content.decode()
    expected = [c.number for c in reversed(made) if c.reported_party.startswith("某厂1")]
    assert len(expected) == 7 and "共 7 件" in body and _numbers(body) == expected
    assert len(_walks(queries.captured_queries)) == 1
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]


def test_a_word_the_statistics_misjudge_costs_one_walk_then_is_searched_by_time_slices(
    make_case: Callable[..., Case], make_user: Callable[..., User], fresh_statistics: None, monkeypatch
) -> None:
    """The statistics call 排污 common, but the newest cases do not hold it (they were analysed before):
    one bounded walk finds too few for a page, then the time slices find it (workbench/timeslices.py: the
    first slice, two days by the statistics, 63 matches at 排污's share of 60 cases a day, holds all 45 and
    the page, so the older ones are estimated from the share of the cases received in it); same rows."""
    if connection.vendor != "postgresql":
        pytest.skip("the statistics of the pairs indexes are PostgreSQL's (CI runs this on PostgreSQL)")
    from django.test.utils import CaptureQueriesContext

    from eco12369.workbench import lists

    made = _analysed_common_word(make_case)
    for k in range(45):
        make_case(description=f"餐馆油烟扰民{k}", reported_party="某饭店")
    monkeypatch.setattr(lists, "TEXT_PAGE_WALK", 60)  # of 105 cases: the 45 newest and 15 about 排污
    expected = [c.number for c in reversed(made) if "排污" in c.description + c.address][:20]
    client = Client()
    client.force_login(make_user("operator", district_name=None))
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/search/", {"q": "排污"}).content.decode()
    assert "约 45 件（按最近 2 天的 45 件推算）" in body and _numbers(body) == expected
    walks = _walks(queries.captured_queries)
    assert len(walks) == 1 and "LIMIT 60" in walks[0]
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert len([q for q in queries.captured_queries if "UNION ALL" in q["sql"]]) == 1


def test_a_common_word_too_long_to_count_by_a_walk_is_estimated(
    make_case: Callable[..., Case], make_user: Callable[..., User], fresh_statistics: None, monkeypatch
) -> None:
    """When a walk to the count's cap would read too many rows (here more than 10), the page's walk says
    the share: 21 matches in the newest 28 cases, of the 60 the statistics count, about 45. No count."""
    if connection.vendor != "postgresql":
        pytest.skip("the statistics of the pairs indexes are PostgreSQL's (CI runs this on PostgreSQL)")
    from django.test.utils import CaptureQueriesContext

    from eco12369.workbench import lists

    _analysed_common_word(make_case)
    monkeypatch.setattr(lists, "TEXT_COUNT_WALK", 10)
    client = Client()
    client.force_login(make_user("operator", district_name=None))
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/search/", {"q": "排污"}).content.decode()
    assert "约 45 件（按最近 28 件中的 21 件推算）" in body and len(_numbers(body)) == 20
    assert len(_walks(queries.captured_queries)) == 1
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    # Narrowed by another filter, the statistics do not say how many cases the list holds: at least what
    # the page's walk found (the page and one more), not counted.
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/search/", {"q": "排污", "category": "water"}).content.decode()
    assert "21 件以上" in body and len(_numbers(body)) == 20
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]


def test_the_index_is_asked_for_the_rarest_pairs_and_the_like_checks_the_whole_text(
    make_case: Callable[..., Case], fresh_statistics: None
) -> None:
    """A party of many common pairs (有限公司): the pairs index is asked for the two rarest pairs only (it
    reads the whole list of cases of each pair it is asked for); the rows found are those a contains-search
    finds, including one that holds both rare pairs but not the whole text."""
    if connection.vendor != "postgresql":
        pytest.skip("the statistics of the pairs indexes are PostgreSQL's (CI runs this on PostgreSQL)")
    for k in range(40):
        make_case(reported_party=f"天津第{k}号贸易有限公司")
    wanted = make_case(reported_party="天津宏达建材有限公司")
    make_case(reported_party="建材市场有限公司")  # 建材 and 有限公司, not the whole text
    lookalike = make_case(reported_party="某建材有限责任公司")  # 建材 and 材有, not 有限公司 in a row
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    text = "建材有限公司"
    expected = set(Case.objects.filter(reported_party__icontains=text).values_list("pk", flat=True))
    assert expected == {wanted.pk}
    qs = party_contains(Case.objects.all(), text)
    assert set(qs.values_list("pk", flat=True)) == expected
    assert lookalike.pk not in expected
    sql, params = qs.query.sql_with_params()
    asked = [p for p in params if isinstance(p, list)]
    assert len(asked) == 1 and len(asked[0]) == 2, (sql, params)
    assert not {"有限", "限公", "公司"} & set(asked[0]), asked  # in every party: never asked for
    assert set(asked[0]) <= {"建材", "材有", "有限", "限公", "公司"}
