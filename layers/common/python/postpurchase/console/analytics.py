"""The console's analytics page: `/console/{m}/analytics?days=30`.

ONE Query (storage/stats.py `read`: the day range of the merchant's STATS partition), the pure
report (analytics/report.py), and the template console/analytics.html, which draws the charts
with analytics/charts.py: every word and its formatting is the template's and Babel's.
Days are UTC days, the last one today.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable, Mapping

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent

from ..analytics import charts
from ..analytics.counters import DAY_BUCKETS
from ..analytics.report import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, Report, build, day_range
from ..errors import InvalidInput
from .handlers import PageResponse, Request, _html, _staff, _to_signin
from .rendering import Staff, _format, _frame, _render, _url

DAY_CHOICES = (7, 30, 90)


def parse_days(value: str | None) -> int:
    """The `days` query parameter: a whole number of days 1..90 (absent: 30)."""
    if value is None or value == "":
        return DEFAULT_DAYS
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 3 or not MIN_DAYS <= int(text) <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from {MIN_DAYS} to {MAX_DAYS}", field="days")
    return int(text)


def page(request: Request) -> PageResponse:
    from ..analytics.counters import utc_day
    from ..services import stats

    signed_in = _staff(request)
    if signed_in is None:
        return _to_signin(request)
    staff, cookie = signed_in
    days = parse_days(request.query.get("days"))
    first, last = day_range(utc_day(request.now), days)
    report = build(stats().read(request.merchant_id, first, last), first, last)
    return _html(200, render_analytics, staff, report=report, days=days, cookie=cookie)


class _Numbers:
    """The page's number and date formatting (Babel, the console language's locale)."""

    def __init__(self, staff: Staff) -> None:
        self.fmt = _format(staff)
        self.locale = self.fmt.locale

    def number(self, value: float) -> str:
        return self.fmt.number(value)

    def percent(self, value: float | None) -> str | None:
        if value is None:
            return None
        # The locale's own pattern (the sign before the number in Turkish), with one optional decimal.
        pattern = re.sub(r"0(?![0-9#.,])", "0.#", self.locale.percent_formats[None].pattern, count=1)
        return format_percent(value, format=pattern, locale=self.locale)

    def day(self, value: date) -> str:
        return format_skeleton("MMMd", value, locale=self.locale)

    def mean(self, value: float | None) -> str | None:
        return None if value is None else format_decimal(value, format="0.0", locale=self.locale)


def render_analytics(staff: Staff, *, nonce: str, report: Report, days: int) -> str:
    numbers = _Numbers(staff)
    listing = f"{staff.base}/analytics"
    data: dict[str, Any] = {
        **_frame(staff, nonce),
        "page": "analytics",
        "days": days,
        "choices": [{"days": n, "href": _url(listing, [("days", str(n))]), "current": n == days} for n in DAY_CHOICES],
        "first": numbers.fmt.day(report.first), "last": numbers.fmt.day(report.last),
        "report": report,
        "day_labels": [numbers.day(day) for day in report.days],
        "n": numbers.number, "pct": numbers.percent, "mean": numbers.mean,
        "charts": charts,
        "over_days": DAY_BUCKETS[-1],  # a duration past the histogram's last bucket
        "texts": {"orders": [numbers.number(v) for v in report.orders],
                  "issued": [numbers.number(v) for v in report.points_issued],
                  "redeemed": [numbers.number(v) for v in report.points_redeemed],
                  "trend": [numbers.mean(v) or "" for v in report.rating_trend]},
        "bars": _Bars,
        "orders_total": sum(report.orders),
        "ratings_total": sum(report.stars.values()),
        "rating_mean": _mean_rating(report),
        "issued_total": sum(report.points_issued), "redeemed_total": sum(report.points_redeemed),
    }
    return _render("console/analytics.html", staff, data)


class _Bars:
    """Horizontal bars from the report's rows and the template's words for them."""

    @staticmethod
    def on_time(carriers: list, pct: Callable[[float | None], str | None]) -> list[charts.Bar]:
        return [charts.Bar(row.carrier, row.on_time, pct(row.on_time) or "") for row in carriers
                if row.on_time is not None]

    @staticmethod
    def returned(rows: list, names: Mapping[str, str], n: Callable[[float], str],
                 pct: Callable[[float | None], str | None]) -> list[charts.Bar]:
        return [charts.Bar(names.get(row.name, row.name), row.units,
                           f"{n(row.units)} · {pct(row.rate)}" if row.rate is not None else n(row.units))
                for row in rows]

    @staticmethod
    def emails(rows: list, names: Mapping[str, str], n: Callable[[float], str]) -> list[charts.Bar]:
        return [charts.Bar(names.get(row.kind, row.kind), row.sent, n(row.sent)) for row in rows if row.sent]

    @staticmethod
    def stars(stars: Mapping[int, int], names: Mapping[int, str], n: Callable[[float], str]) -> list[charts.Bar]:
        return [charts.Bar(names.get(star, str(star)), stars.get(star, 0), n(stars.get(star, 0)))
                for star in sorted(stars, reverse=True)]


def _mean_rating(report: Report) -> float | None:
    answers = sum(report.stars.values())
    return sum(star * n for star, n in report.stars.items()) / answers if answers > 0 else None
