"""The annual report's figures (政府信息公开工作年度报告, national format of 2021), counted from the data.

Pure: :func:`count_year` takes the rows :func:`workflow.store.annual_rows.annual_rows` read and the office's
time zone, and gives :class:`AnnualFigures`. Every figure is the list of the items behind it, so the numbers
and ``--explain`` can never disagree.

When an item counts (office time, whatever year it was created in):
- proactive disclosure: the year of its first publication; by channel, the channels its publication was sent
  to (``publish`` jobs written that year, whatever they came to);
- normative documents: issued in the year first published, repealed in the year of the move into
  ``repealed``, in force when published by the end of the year and not repealed, expired or withdrawn by then;
- applications: received in the year of ``received_on``; handled (table 三's outcomes) in the year of
  the move into ``answered``; carried over = received before the year and not answered by its start; carried
  forward = received by its end and not answered by then;
- reconsiderations and lawsuits: the year of ``filed_on``, with the result recorded by the end of the year
  (else 尚未审结, pending);
- consultations: received in the year of ``received_on``, answered in the year of the move into ``answered``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection

from workflow.core.office import CHANNELS, NO_CATALOG
from workflow.store.annual_rows import AnnualRows, CaseRow, annual_rows

REQUESTER_TYPES = ("natural_person", "business", "research", "public_interest", "legal_service", "other")
"""Table 三's columns: 自然人, then 法人或其他组织 (商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他)."""
OUTCOMES = (
    "disclosed", "partly_disclosed",
    "refused_state_secret", "refused_other_law", "refused_security_stability", "refused_third_party",
    "refused_internal_affairs", "refused_process_info", "refused_enforcement_file", "refused_inquiry",
    "unavailable_not_held", "unavailable_needs_creation", "unavailable_still_unclear",
    "not_processed_petition", "not_processed_repeated", "not_processed_publication", "not_processed_excessive",
    "not_processed_confirmation",
    "other_no_correction", "other_fee_unpaid", "other",
)  # fmt: skip
"""Table 三's outcome rows, in its order (domain.md section 2; the choices of ``disclosure_request.outcome``)."""
RESULTS = ("upheld", "corrected", "other", "pending")
"""Table 四's columns before 总计: 结果维持, 结果纠正, 其他结果, 尚未审结."""
ROUTES = ("direct", "after_reconsideration")
NORMATIVE = "normative_document"
ENDED = ("repealed", "expired", "withdrawn")

Path = tuple[str, ...]


class Check(NamedTuple):
    """一 + 二 = 三(总计) + 四 of table 三."""

    received: int
    carried_over: int
    handled: int
    carried_forward: int

    @property
    def holds(self) -> bool:
        return self.received + self.carried_over == self.handled + self.carried_forward


@dataclass
class _Tally:
    """Figure path -> the references behind it, in the order they were counted."""

    refs: dict[Path, list[str]] = field(default_factory=dict)

    def zero(self, *paths: Path) -> None:
        for path in paths:
            self.refs.setdefault(path, [])

    def add(self, path: Path, reference: str) -> None:
        self.refs.setdefault(path, []).append(reference)


@dataclass(frozen=True)
class AnnualFigures:
    """The figures of one year; :meth:`to_json` gives them nested, :meth:`explain` the items behind each."""

    year: int
    refs: Mapping[Path, tuple[str, ...]]
    problems: tuple[str, ...] = ()
    """What the data does not let the counting decide (a lawsuit without its route...): named, never guessed."""

    def count(self, *path: str) -> int:
        return len(self.refs[path])

    def check(self) -> Check:
        return Check(
            received=self.count("applications", "received", "total"),
            carried_over=self.count("applications", "carried_over"),
            handled=self.count("applications", "outcomes", "total"),
            carried_forward=self.count("applications", "carried_forward"),
        )

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"year": self.year}
        for path, references in self.refs.items():
            node = document
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = len(references)
        check = self.check()
        document["check"] = {**check._asdict(), "holds": check.holds}
        document["problems"] = list(self.problems)
        return document

    def explain(self) -> dict[str, list[str]]:
        """Every figure (dotted path, as in :meth:`to_json`) -> the references of the items it counts."""
        return {".".join(path): list(references) for path, references in self.refs.items()}


@dataclass(frozen=True)
class _Year:
    year: int
    zone: dt.tzinfo

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, 12, 31)

    def local(self, moment: dt.datetime) -> dt.date:
        """The office day of a UTC instant (23:30 UTC on 31 December is 1 January in Shanghai)."""
        return moment.astimezone(self.zone).date()

    def contains(self, day: dt.date | None) -> bool:
        return day is not None and self.first_day <= day <= self.last_day


def year_bounds(year: int, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The year in office time, as UTC instants ``[start, end)``."""
    start = dt.datetime(year, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=zone).astimezone(dt.UTC)
    return start, end


def count_year(
    rows: AnnualRows, year: int, zone: dt.tzinfo, *, categories: Sequence[str], channels: Sequence[str] = CHANNELS
) -> AnnualFigures:
    """The figures of ``year`` (office time in ``zone``) from ``rows``; ``categories`` are the catalogue codes
    (each shown, with 0 when nothing was published there)."""
    tally = _Tally()
    problems: list[str] = []
    span = _Year(year, zone)
    # the office day each item first entered each counted state (the audit log's moves, oldest first)
    entered: dict[tuple[int, str], dt.date] = {}
    for move in rows.moves:
        entered.setdefault((move.item_id, move.to_state), span.local(move.at))

    _proactive(rows, tally, span, categories, channels)
    _normative(rows, tally, span, entered)
    by_kind: dict[str, list[CaseRow]] = {}
    for case in rows.cases:
        by_kind.setdefault(case.definition, []).append(case)
    _applications(by_kind.get("disclosure_request", []), tally, problems, entered, span)
    _appeals(by_kind.get("appeal", []), tally, problems, entered, span)
    _consultations(by_kind.get("consultation", []), tally, problems, entered, span)
    return AnnualFigures(
        year=year, refs={path: tuple(references) for path, references in tally.refs.items()}, problems=tuple(problems)
    )


def _proactive(
    rows: AnnualRows, tally: _Tally, span: _Year, categories: Sequence[str], channels: Sequence[str]
) -> None:
    tally.zero(("proactive", "published"))
    tally.zero(*(("proactive", "by_category", code) for code in categories))
    tally.zero(*(("proactive", "by_channel", channel) for channel in channels))
    counted: dict[int, str] = {}
    for row in rows.publications:
        if not span.contains(span.local(row.first_published_at)):
            continue
        counted[row.item_id] = row.reference
        tally.add(("proactive", "published"), row.reference)
        tally.add(("proactive", "by_category", row.category or NO_CATALOG), row.reference)
        tally.add(("proactive", "by_definition", row.definition), row.reference)
        for subject in dict.fromkeys(row.subjects):
            tally.add(("proactive", "by_subject", subject), row.reference)
    sent: set[tuple[int, str]] = set()
    for job in rows.channels:
        if job.item_id in counted and (job.item_id, job.channel) not in sent:
            sent.add((job.item_id, job.channel))
            tally.add(("proactive", "by_channel", job.channel), counted[job.item_id])
            if job.status != "done":
                tally.add(("proactive", "channel_jobs_not_done", job.channel), counted[job.item_id])


def _normative(rows: AnnualRows, tally: _Tally, span: _Year, entered: Mapping[tuple[int, str], dt.date]) -> None:
    """Table 二, 行政规范性文件: issued, repealed, in force at the year's end; and filed for the record (备案)."""
    tally.zero(*(("normative", key) for key in ("issued", "repealed", "in_force", "filed")))
    for row in rows.publications:
        if row.definition != NORMATIVE:
            continue
        if span.contains(span.local(row.first_published_at)):
            tally.add(("normative", "issued"), row.reference)
        ended = [entered[(row.item_id, state)] for state in ENDED if (row.item_id, state) in entered]
        if not any(day <= span.last_day for day in ended):
            tally.add(("normative", "in_force"), row.reference)
    counted: set[tuple[int, str]] = set()
    for move in rows.moves:  # each document once per event, on the day it first happened
        if move.definition != NORMATIVE or move.to_state not in ("repealed", "filed"):
            continue
        if (move.item_id, move.to_state) not in counted and span.contains(entered[(move.item_id, move.to_state)]):
            counted.add((move.item_id, move.to_state))
            tally.add(("normative", move.to_state), rows.references.get(move.item_id, str(move.item_id)))


def _date_field(case: CaseRow, name: str, problems: list[str]) -> dt.date | None:
    value = case.fields.get(name)
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{case.reference}: {name} is not a date ({value!r}); not counted")
        return None


def _applications(
    cases: Iterable[CaseRow],
    tally: _Tally,
    problems: list[str],
    entered: Mapping[tuple[int, str], dt.date],
    span: _Year,
) -> None:
    """Table 三: received per requester column, carried over, outcomes, carried forward (and per column)."""
    first_day, last_day = span.first_day, span.last_day
    columns = (*REQUESTER_TYPES, "total")
    rows_of_table = ("received", "carried_over", "carried_forward")
    tally.zero(*(("applications", "received", column) for column in columns))
    tally.zero(("applications", "carried_over"))
    tally.zero(*(("applications", "outcomes", outcome) for outcome in (*OUTCOMES, "total")))
    tally.zero(("applications", "carried_forward"))
    for column in REQUESTER_TYPES:
        tally.zero(*(("applications", "by_requester", column, row) for row in rows_of_table))
        tally.zero(*(("applications", "by_requester", column, "outcomes", o) for o in (*OUTCOMES, "total")))
    for case in cases:
        received = _date_field(case, "received_on", problems)
        if received is None or received > last_day:
            continue
        column = str(case.fields.get("requester_type"))
        if column not in REQUESTER_TYPES:
            problems.append(f"{case.reference}: unknown requester_type {column!r}; counted under other")
            column = "other"
        answered = entered.get((case.item_id, "answered"))
        mine = ("applications", "by_requester", column)
        ref = case.reference
        if received >= first_day:
            tally.add(("applications", "received", column), ref)
            tally.add(("applications", "received", "total"), ref)
            tally.add((*mine, "received"), ref)
        elif answered is None or answered >= first_day:
            tally.add(("applications", "carried_over"), ref)
            tally.add((*mine, "carried_over"), ref)
        if answered is not None and first_day <= answered <= last_day:
            outcome = str(case.fields.get("outcome"))
            if outcome not in OUTCOMES:
                problems.append(f"{case.reference}: unknown outcome {outcome!r}; counted under other")
                outcome = "other"
            for path in (("applications", "outcomes"), (*mine, "outcomes")):
                tally.add((*path, outcome), ref)
                tally.add((*path, "total"), ref)
        elif answered is None or answered > last_day:
            tally.add(("applications", "carried_forward"), ref)
            tally.add((*mine, "carried_forward"), ref)


def _appeals(
    cases: Iterable[CaseRow],
    tally: _Tally,
    problems: list[str],
    entered: Mapping[tuple[int, str], dt.date],
    span: _Year,
) -> None:
    """Table 四: reconsiderations, and lawsuits brought directly or after a reconsideration."""
    blocks: tuple[Path, ...] = (
        ("reconsiderations",),
        *(("lawsuits", route) for route in ROUTES),
    )
    for columns in blocks:
        tally.zero(*((*columns, result) for result in (*RESULTS, "total")))
    for case in cases:
        if not span.contains(_date_field(case, "filed_on", problems)):
            continue
        kind, route = case.fields.get("kind"), case.fields.get("route")
        if kind == "reconsideration":
            block: Path = ("reconsiderations",)
        elif kind == "lawsuit" and route in ROUTES:
            block = ("lawsuits", str(route))
        else:
            problems.append(
                f"{case.reference}: a lawsuit needs its route (direct or after_reconsideration); not counted"
            )
            continue
        decided = entered.get((case.item_id, "decided"))
        result = str(case.fields.get("result")) if decided is not None and decided <= span.last_day else "pending"
        if result not in RESULTS:
            problems.append(f"{case.reference}: unknown result {result!r}; counted under other")
            result = "other"
        tally.add((*block, result), case.reference)
        tally.add((*block, "total"), case.reference)


def _consultations(
    cases: Iterable[CaseRow],
    tally: _Tally,
    problems: list[str],
    entered: Mapping[tuple[int, str], dt.date],
    span: _Year,
) -> None:
    tally.zero(("consultations", "received"), ("consultations", "answered"))
    for case in cases:
        if span.contains(_date_field(case, "received_on", problems)):
            tally.add(("consultations", "received"), case.reference)
        if span.contains(entered.get((case.item_id, "answered"))):
            tally.add(("consultations", "answered"), case.reference)


def read_year(conn: Connection, year: int, zone: dt.tzinfo, categories: Sequence[str]) -> AnnualFigures:
    """Read the rows of ``year`` on ``conn`` and count them (the one place this module touches the store)."""
    start, end = year_bounds(year, zone)
    return count_year(annual_rows(conn, start, end), year, zone, categories=categories)
