"""Analytics, pure: the counter rules, percentiles from the fixed histogram, the report a day
range of counters makes, and the SVG charts (no AWS)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from postpurchase.analytics import charts, counters as c
from postpurchase.analytics.report import build, day_range

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
DAY = T0.date()


# ------------------------------------------------------------------------------ counter rules


def test_an_order_counts_once_with_its_units_per_sku_on_its_utc_day():
    late = datetime(2026, 11, 20, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 04:30 UTC the 21st
    tally = c.order_placed("m", "1001", late, [("MUG-1", 2), ("CAP-1", 1), ("MUG-1", 1)])
    assert tally.event_key == "order#1001"
    assert tally.merged() == {(date(2026, 11, 21), "orders", "all"): 1, (date(2026, 11, 21), "sold", "MUG-1"): 3,
                              (date(2026, 11, 21), "sold", "CAP-1"): 1, (date(2026, 11, 21), "units", "all"): 4}


@pytest.mark.parametrize("hours, days, bucket", [(0, 0, "1"), (20, 1, "1"), (30, 2, "2"), (24 * 7, 7, "7"),
                                                 (24 * 8, 8, "10"), (24 * 30, 30, "30"), (24 * 31, 31, "over")])
def test_durations_are_started_days_in_fixed_buckets(hours, days, bucket):
    assert c.whole_days(T0, T0 + timedelta(hours=hours)) == days
    assert c.bucket(days) == bucket


def test_a_delivery_is_on_time_against_the_first_estimate_day():
    eta = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)
    on_time = c.parcel_delivered("m", "1", "s", "ups", shipped_at=T0, delivered_at=datetime(
        2026, 11, 23, 18, 0, tzinfo=timezone.utc), first_eta=eta).merged()
    late = c.parcel_delivered("m", "1", "s", "ups", shipped_at=T0, delivered_at=datetime(
        2026, 11, 24, 1, 0, tzinfo=timezone.utc), first_eta=eta).merged()
    unknown = c.parcel_delivered("m", "1", "s", "ups", shipped_at=T0, delivered_at=T0 + timedelta(days=1),
                                 first_eta=None).merged()
    day = date(2026, 11, 23)
    assert on_time == {(day, "delivered", "ups"): 1, (day, "delivery_days", "4#ups"): 1,
                       (day, "eta_known", "ups"): 1, (day, "on_time", "ups"): 1}
    assert (date(2026, 11, 24), "on_time", "ups") not in late and (date(2026, 11, 24), "eta_known", "ups") in late
    assert not any(metric in ("eta_known", "on_time") for _, metric, _ in unknown)


def test_every_fact_has_its_own_stable_key():
    keys = [c.parcel_shipped("m", "1", "s", "ups", T0).event_key,
            c.parcel_delivered("m", "1", "s", "ups", shipped_at=T0, delivered_at=T0, first_eta=None).event_key,
            c.parcel_exception("m", "1", "s", "ups", T0).event_key,
            c.parcel_exception("m", "1", "s", "ups", T0 + timedelta(days=1)).event_key,  # a second problem
            c.return_requested("m", "R-1", T0, [("MUG-1", "damaged", 1)]).event_key,
            c.return_refunded("m", "R-1", T0, T0).event_key,
            c.email_outcome("m", "sent", "order_confirmation", "order#1#x", T0).event_key,
            c.email_outcome("m", "bounced", "order_confirmation", "order#1#x", T0).event_key]
    assert keys[2] == keys[3]  # one parcel counts once however many problems it meets
    assert len(set(keys)) == len(keys) - 1


def test_a_changed_rating_moves_the_count_to_the_new_star_on_the_first_day():
    first = c.rating_answered("m", "1", "MUG-1", 1, 4, None, T0).merged()
    changed = c.rating_answered("m", "1", "MUG-1", 2, 2, 4, T0).merged()
    comment_only = c.rating_answered("m", "1", "MUG-1", 3, 2, 2, T0)
    assert first == {(DAY, "ratings", "4"): 1}
    assert changed == {(DAY, "ratings", "2"): 1, (DAY, "ratings", "4"): -1}
    assert comment_only.merged() == {} and comment_only.event_key == "rating#1#MUG-1#3"


def test_loyalty_entries_become_points_issued_redeemed_and_reversed():
    moved = c.points_moved([("earn", 25, T0), ("bonus", 20, T0), ("vesting", 0, T0), ("redeem", 10, T0),
                            ("reverse", 5, T0 + timedelta(days=1))])
    assert dict(c.Tally("m", "k", moved).merged()) == {(DAY, "points", "issued"): 45, (DAY, "points", "redeemed"): 10,
                                                       (DAY + timedelta(days=1), "points", "reversed"): 5}


def test_an_unknown_email_outcome_is_refused():
    with pytest.raises(ValueError):
        c.email_outcome("m", "opened", "campaign", "x", T0)


# ------------------------------------------------------------------------------ percentiles


@pytest.mark.parametrize("histogram, median, p90", [
    ({}, None, None),
    ({"3": 1}, "3", "3"),
    ({"1": 5, "2": 4, "10": 1}, "1", "2"),  # 10 parcels: the 5th is in "1", the 9th in "2"
    ({"1": 4, "2": 4, "10": 2}, "2", "10"),
    ({"5": 1, "over": 9}, "over", "over"),
    ({"2": 0, "4": 2}, "4", "4"),
])
def test_median_and_p90_come_from_the_bucket_counts(histogram, median, p90):
    assert c.percentile(histogram, 0.5) == median
    assert c.percentile(histogram, 0.9) == p90


# ------------------------------------------------------------------------------ the report


def rows_of(*tallies: c.Tally) -> list[tuple[date, str, str, int]]:
    total: dict[tuple[date, str, str], int] = {}
    for tally in tallies:
        for key, amount in tally.merged().items():
            total[key] = total.get(key, 0) + amount
    return [(*key, amount) for key, amount in total.items()]


def test_the_report_adds_up_a_day_range():
    first, last = day_range(DAY, 7)
    assert (first, last) == (DAY - timedelta(days=6), DAY)
    outside = c.order_placed("m", "old", T0 - timedelta(days=7), [("MUG-1", 9)])
    rows = rows_of(
        c.order_placed("m", "1", T0, [("MUG-1", 2), ("CAP-1", 2)]),
        c.order_placed("m", "2", T0 - timedelta(days=1), [("MUG-1", 6)]),
        outside,
        c.parcel_shipped("m", "1", "s1", "ups", T0), c.parcel_shipped("m", "2", "s2", "ups", T0),
        c.parcel_delivered("m", "1", "s1", "ups", shipped_at=T0 - timedelta(days=2), delivered_at=T0,
                           first_eta=T0 + timedelta(days=1)),
        c.parcel_delivered("m", "2", "s2", "ups", shipped_at=T0 - timedelta(days=5), delivered_at=T0,
                           first_eta=T0 - timedelta(days=2)),
        c.parcel_exception("m", "2", "s2", "ups", T0),
        c.return_requested("m", "R-1", T0, [("MUG-1", "damaged", 2)]),
        c.return_requested("m", "R-2", T0, [("CAP-1", "doesnt_fit", 1)]),
        c.return_refunded("m", "R-1", T0 - timedelta(days=3), T0),
        c.email_outcome("m", "sent", "order_confirmation", "a", T0),
        c.email_outcome("m", "sent", "order_confirmation", "b", T0),
        c.email_outcome("m", "bounced", "order_confirmation", "b", T0),
        c.email_outcome("m", "unsubscribed", "win_back", "c", T0),
        c.rating_answered("m", "1", "MUG-1", 1, 5, None, T0),
        c.rating_answered("m", "1", "CAP-1", 1, 3, None, T0 - timedelta(days=1)),
        c.Tally("m", "points", c.points_moved([("earn", 30, T0), ("redeem", 10, T0)])),
    )
    report = build(rows, first, last)
    assert report.days[0] == first and report.days[-1] == last and len(report.orders) == 7
    assert report.orders[-2:] == [1, 1] and sum(report.orders) == 2  # the old order is outside
    [ups] = report.carriers
    assert (ups.shipped, ups.delivered, ups.median_days, ups.p90_days) == (2, 2, "2", "5")
    assert ups.on_time == 0.5 and ups.exceptions == 0.5
    assert report.returns == 2 and report.return_rate == pytest.approx(3 / 10)
    assert [(r.name, r.units, r.rate) for r in report.reasons] == [("damaged", 2, 0.2), ("doesnt_fit", 1, 0.1)]
    assert [(r.name, r.units, r.rate) for r in report.skus] == [("MUG-1", 2, 0.25), ("CAP-1", 1, 0.5)]
    assert (report.refunds, report.refund_median_days, report.refund_p90_days) == (1, "3", "3")
    emails = {row.kind: (row.sent, row.bounced, row.complained, row.unsubscribed) for row in report.emails}
    assert emails == {"order_confirmation": (2, 1, 0, 0), "win_back": (0, 0, 0, 1)}
    assert report.stars == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert report.rating_trend[-2:] == [3.0, 5.0] and report.rating_trend[0] is None
    assert report.points_issued[-1] == 30 and report.points_redeemed[-1] == 10
    assert not report.empty


def test_an_empty_range_is_empty():
    report = build([], DAY - timedelta(days=29), DAY)
    assert report.empty and report.carriers == [] and report.return_rate is None and len(report.days) == 30
    assert report.refund_median_days is None and all(value is None for value in report.rating_trend)


# ------------------------------------------------------------------------------ SVG


def parse_bars(svg: str) -> list[float]:
    return [float(height) for height in re.findall(r'<rect class="bar" [^>]*height="([\d.]+)"', svg)]


def test_bars_are_one_per_value_with_proportional_heights_and_accessible_names():
    svg = charts.bars("orders", title="Orders per day", desc="Orders: 7.", empty_text="No data yet",
                      labels=["Nov 18", "Nov 19", "Nov 20"],
                      series=[charts.Series("Orders", [1, 2, 4], ["1", "2", "4"])], number=lambda v: f"<{v}>")
    heights = parse_bars(svg)
    assert len(heights) == 3
    assert heights[1] == pytest.approx(2 * heights[0]) and heights[2] == pytest.approx(4 * heights[0])
    assert svg.startswith("<svg ") and 'role="img"' in svg and 'direction="ltr"' in svg
    assert 'aria-labelledby="orders-title"' in svg and '<title id="orders-title">Orders per day</title>' in svg
    assert 'aria-describedby="orders-desc"' in svg and '<desc id="orders-desc">Orders: 7.</desc>' in svg
    assert "<title>Nov 20: 4</title>" in svg
    assert "&lt;5&gt;" in svg and "&lt;0&gt;" in svg  # the axis' ends, formatted by the caller (and escaped)
    assert "style=" not in svg and "<script" not in svg and "href" not in svg


def test_two_series_make_grouped_bars_with_a_legend():
    svg = charts.bars("points", title="Points", desc="d", empty_text="none", labels=["a", "b"],
                      series=[charts.Series("Issued", [10, 0], ["10", "0"]),
                              charts.Series("Redeemed", [5, 5], ["5", "5"])])
    heights = parse_bars(svg)
    assert len(heights) == 4 and heights[0] == pytest.approx(2 * heights[1]) and heights[2] == 0
    assert "<title>a, Issued: 10</title>" in svg and ">Redeemed</text>" in svg


@pytest.mark.parametrize("values", [[], [0, 0, 0]])
def test_no_data_shows_the_empty_text_and_no_bars(values):
    svg = charts.bars("orders", title="Orders per day", desc="None.", empty_text="No data yet",
                      labels=[str(n) for n in range(len(values))],
                      series=[charts.Series("Orders", values, [str(v) for v in values])])
    assert parse_bars(svg) == [] and ">No data yet</text>" in svg and '<title id="orders-title">' in svg
    assert ">No data yet</text>" in charts.hbars("r", title="t", desc="d", empty_text="No data yet", rows=[])
    assert ">No data yet</text>" in charts.line("l", title="t", desc="d", empty_text="No data yet", labels=["a"],
                                                values=[None], value_texts=[""], low=1, high=5, low_text="1",
                                                high_text="5")


def test_horizontal_bars_are_proportional_and_escape_their_words():
    svg = charts.hbars("reasons", title="Return reasons", desc="d", empty_text="none", rows=[
        charts.Bar("<b>Damaged</b>", 4, "4 · 40%"), charts.Bar("Doesn't fit", 1, "1 · 10%")])
    widths = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([\d.]+)"', svg)]
    assert len(widths) == 2 and widths[0] == pytest.approx(4 * widths[1])
    assert "&lt;b&gt;Damaged&lt;/b&gt;" in svg and "<b>" not in svg
    capped = charts.hbars("on-time", title="t", desc="d", empty_text="none", top=1,
                          rows=[charts.Bar("ups", 0.5, "50%")])
    [width] = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([\d.]+)"', capped)]
    assert width == pytest.approx((charts.WIDTH - 170 - 70 - charts.RIGHT) / 2)


def test_the_trend_line_breaks_on_days_without_answers():
    svg = charts.line("trend", title="t", desc="d", empty_text="none", labels=list("abcde"),
                      values=[5, 3, None, 1, None], value_texts=["5.0", "3.0", "", "1.0", ""], low=1, high=5,
                      low_text="1", high_text="5")
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 1  # a-b joined; d alone
    ys = [float(y) for y in re.findall(r'<circle [^>]*cy="([\d.]+)"', svg)]
    assert ys[0] < ys[1] < ys[2]  # 5 is highest on the page, 1 lowest
    assert "<title>b: 3.0</title>" in svg


@pytest.mark.parametrize("highest, top", [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (0.4, 0.5), (250, 500)])
def test_the_value_axis_ends_on_a_round_number(highest, top):
    assert charts.scale_top(highest) == pytest.approx(top)


# ------------------------------------------------------------------------------ the page, rendered

LANGUAGES = ("en", "id", "th", "tr", "ar", "ru")


def rendered(language: str, report) -> str:
    from postpurchase.console.analytics import render_analytics
    from postpurchase.console.rendering import Staff
    from postpurchase.messaging.requests import MerchantBranding

    staff = Staff(MerchantBranding(merchant_id="m", name="Shop", from_email="shop@example.com"), language,
                  "/console/m", "form-token", ("/console/m/analytics", [("days", "30")]), T0)
    return render_analytics(staff, nonce="n0nce-n0nce-n0nce", report=report, days=30)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_renders_in_every_language_with_its_charts(language):
    report = build(rows_of(c.order_placed("m", "1", T0, [("MUG-1", 6)]),
                           c.return_requested("m", "R-1", T0, [("MUG-1", "damaged", 1)]),
                           c.parcel_shipped("m", "1", "s", "ups", T0)), DAY - timedelta(days=29), DAY)
    page = rendered(language, report)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 8
    assert page.count('role="img"') == 8 and page.count("<desc id=") == 8
    assert ('dir="rtl"' in page) == (language == "ar")
    assert "<script" not in page and " style=" not in page
    assert 'href="/console/m/analytics?days=90"' in page and 'aria-current="page">' in page
    percent = {"en": "16.7%", "tr": "%16,7", "ru": "16,7\xa0%", "id": "16,7%", "ar": "16.7%", "th": "16.7%"}[language]
    assert percent in page  # 1 unit asked back of 6 sold, as the locale writes a percentage


def test_an_empty_page_says_no_data_yet_everywhere():
    page = rendered("en", build([], DAY - timedelta(days=6), DAY))
    assert page.count(">No data yet</text>") == 8 and "No data yet: the numbers appear here" in page


# ------------------------------------------------------------------------------ parcels (tracking rules)


def test_a_parcel_counts_its_delivery_once_and_its_first_problem_once():
    from types import SimpleNamespace

    from postpurchase.orders.models import Shipment
    from postpurchase.tracking.model import TrackingStatus as S
    from postpurchase.tracking.service import parcel_tallies
    from postpurchase.tracking.state import ShipmentTracking

    shipment = Shipment(shipment_id="s1", carrier="ups", tracking_number="1Z", created_at=T0)

    def tallies(old: S, new: S, **fields):
        tracked = SimpleNamespace(merchant_id="m", order_id="1", shipment=shipment,
                                  tracking=ShipmentTracking(status=old))
        return parcel_tallies(tracked, ShipmentTracking(status=new, **fields), T0 + timedelta(days=3))

    [delivered] = tallies(S.IN_TRANSIT, S.DELIVERED, delivered_at=T0 + timedelta(days=2),
                          original_eta=T0 + timedelta(days=1), current_eta=T0 + timedelta(days=2))
    assert delivered.event_key == "ship#1#s1#delivered"
    metrics = {metric for _, metric, _ in delivered.merged()}
    assert metrics == {"delivered", "delivery_days", "eta_known"}  # late against the FIRST estimate
    assert tallies(S.DELIVERED, S.DELIVERED) == []
    [problem] = tallies(S.IN_TRANSIT, S.EXCEPTION, status_changed_at=T0)
    assert problem.event_key == "ship#1#s1#exception"
    assert tallies(S.EXCEPTION, S.RETURNING_TO_SENDER) == []  # still the same problem
    assert tallies(S.IN_TRANSIT, S.ATTEMPT_FAILED) == [] and tallies(S.PENDING, S.IN_TRANSIT) == []
