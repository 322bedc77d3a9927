"""Rules of the pages: who sees the portfolio, accent-insensitive search, the figures of a row."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from report_api.access import require_office
from report_api.compliance import service as compliance
from report_api.compliance.schemas import ComplianceSummary
from report_api.context import Context
from report_api.pages import repository

PAGE_SIZE = 50


def fold(text: str) -> str:
    """Lower case without Vietnamese marks (``Cái Khế`` → ``cai khe``; ``đ`` → ``d``)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


@dataclass(frozen=True)
class Row:
    id: str
    notation: str | None
    subject: str
    issuer_code: str | None
    doc_type: str | None
    issued_on: date | None
    status: str
    units: int
    overdue: int
    silent: int
    on_time: int
    rated: int
    reported: int
    due_on: date | None
    this_week: int
    """First reports in the last 7 days."""
    last_week: int
    """First reports in the 7 days before."""

    @property
    def on_time_rate(self) -> float | None:
        """On time over the units that had to answer by now; none yet when nobody had to."""
        return round(self.on_time / self.rated, 4) if self.rated else None


@dataclass(frozen=True)
class Portfolio:
    rows: list[Row]
    total: int
    page: int
    pages: int
    issuers: list[str]
    doc_types: list[str]


async def portfolio(
    session: AsyncSession,
    actor: Principal,
    ctx: Context,
    *,
    q: str,
    issuer: str | None,
    doc_type: str | None,
    status: str | None,
    since: date | None,
    page: int,
) -> Portfolio:
    """Every followed document matching the filters, one page of them with their figures."""
    require_office(actor, ctx.settings)
    filters = repository.Filters(issuer=issuer, doc_type=doc_type, status=status, since=since)
    issuers, doc_types = await repository.choices(session)
    words = fold(q).split()
    if words:
        # Vietnamese marks are folded in Python (no unaccent on SQLite): only ids and texts are read
        texts = await repository.followed_texts(session, filters)
        ids = [r.id for r in texts if all(w in fold(f"{r.notation or ''} {r.subject}") for w in words)]
        total = len(ids)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        chosen = await repository.by_ids(session, ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    else:
        total, chosen = await repository.followed_page(
            session, filters, limit=PAGE_SIZE, offset=(max(page, 1) - 1) * PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:
            page = pages
            total, chosen = await repository.followed_page(
                session, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
    figures = await repository.figures(session, [r.id for r in chosen], ctx.today(), ctx.now())
    empty: dict[str, Any] = {
        "units": 0,
        "overdue": 0,
        "silent": 0,
        "on_time": 0,
        "rated": 0,
        "reported": 0,
        "due_on": None,
        "this_week": 0,
        "last_week": 0,
    }
    rows = [Row(*r, **figures.get(r.id, empty)) for r in chosen]
    return Portfolio(rows=rows, total=total, page=page, pages=pages, issuers=issuers, doc_types=doc_types)


def by_day(moments: list[datetime], timezone: str) -> list[tuple[date, int, int]]:
    """(local day, first reports that day, running total), every day from the first to the last."""
    if not moments:
        return []
    tz = ZoneInfo(timezone)
    counts = Counter(m.astimezone(tz).date() for m in moments)
    day, last = min(counts), max(counts)
    series = []
    total = 0
    while day <= last:
        total += counts.get(day, 0)
        series.append((day, counts.get(day, 0), total))
        day += timedelta(days=1)
    return series[-60:]  # two months at most: a wider chart stops being readable


def time_chart(series: list[tuple[date, int, int]], units: int) -> dict[str, Any]:
    """Geometry of the running-total chart (inline SVG): one bar per day, the line of the running total."""
    width, height, left, bottom = 640, 180, 34, 22
    if not series:
        return {"width": width, "height": height, "bars": [], "points": "", "left": left, "bottom": bottom}
    top = max(units, series[-1][2], 1)
    step = (width - left - 8) / len(series)
    bars = []
    points = []
    for i, (day, count, total) in enumerate(series):
        x = left + i * step
        bar = (height - bottom) * count / top
        running = (height - bottom) * total / top
        bars.append(
            {
                "x": round(x + 1, 1),
                "y": round(height - bottom - bar, 1),
                "w": round(max(step - 2, 1), 1),
                "h": round(bar, 1),
                "day": day,
                "count": count,
                "total": total,
            }
        )
        points.append(f"{x + step / 2:.1f},{height - bottom - running:.1f}")
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "points": " ".join(points),
        "left": left,
        "bottom": bottom,
        "top": top,
    }


@dataclass(frozen=True)
class Dashboard:
    report: ComplianceSummary
    over_time: dict[str, Any]
    """Geometry of the chart of first reports over time (see :func:`time_chart`)."""


async def dashboard(session: AsyncSession, directive_id: str, actor: Principal, ctx: Context) -> Dashboard:
    """The Office's dashboard of a document: its compliance summary and the first reports over time."""
    require_office(actor, ctx.settings)
    report = await compliance.summary(session, directive_id, today=ctx.today(), calendar=ctx.calendar)
    series = by_day(await repository.first_reports(session, directive_id), ctx.settings.timezone)
    return Dashboard(report=report, over_time=time_chart(series, report.total))


# --- sessions ended by signing out ------------------------------------------------------------------


async def is_signed_out(session: AsyncSession, sid: str) -> bool:
    """Whether the session ``sid`` was ended by signing out (its cookie is refused from then on)."""
    return await repository.is_revoked(session, sid)


async def sign_out(session: AsyncSession, sid: str, *, expires_at: datetime, now: datetime) -> None:
    """End the session server-side: a copy of the cookie is no session any more."""
    await repository.revoke(session, sid, expires_at=expires_at, now=now)
