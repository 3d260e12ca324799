"""The national format of the annual report (国办公开办函〔2021〕30号) as data, and the figures read into it.

Pure: the counted figures come in as the JSON of ``count_year(...).to_json()`` (workflow.reports.annual),
are checked here (every number a count, totals that add up, and 一 + 二 = 三(总计) + 四 in every column of
table 三) and laid out as the three statutory tables with every row and column of the format, zeros shown
as 0. The renderers (:mod:`workflow.reports.annual_render`) only draw what this module lays out, so
Markdown, HTML, DOCX and PDF cannot disagree on a label or a figure.

Labels are English source text translated through the gettext catalogues; the Chinese text is the
national format's own wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from workflow.core.errors import GongkaiError, InvalidInput
from workflow.core.i18n import N_

REQUESTERS = ("natural_person", "business", "research", "public_interest", "legal_service", "other")
"""The requester columns of table 三, in the format's order (the last five are 法人或其他组织)."""
TOTAL = "total"
RESULTS = ("upheld", "corrected", "other", "pending")
"""The results of a reconsideration or a lawsuit, as columns of table 四 (then 总计)."""

OUTCOME_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (N_("(1) Disclosed"), (("disclosed", ""),)),
    (N_("(2) Partly disclosed (a partly disclosed answer counts here only)"), (("partly_disclosed", ""),)),
    (
        N_("(3) Not disclosed"),
        (
            ("refused_state_secret", N_("1. State secrets")),
            ("refused_other_law", N_("2. Other laws and administrative regulations forbid disclosure")),
            ("refused_security_stability", N_("3. Endangers the 'three securities and one stability'")),
            ("refused_third_party", N_("4. Protects the lawful rights of third parties")),
            ("refused_internal_affairs", N_("5. One of the three kinds of internal affairs")),
            ("refused_process_info", N_("6. One of the four kinds of process information")),
            ("refused_enforcement_file", N_("7. Administrative enforcement case files")),
            ("refused_inquiry", N_("8. Administrative inquiry matters")),
        ),
    ),
    (
        N_("(4) Cannot be provided"),
        (
            ("unavailable_not_held", N_("1. The office does not hold the information")),
            ("unavailable_needs_creation", N_("2. No existing information: it would have to be made")),
            ("unavailable_still_unclear", N_("3. The application is still unclear after correction")),
        ),
    ),
    (
        N_("(5) Not processed"),
        (
            ("not_processed_petition", N_("1. Petitions, reports and complaints")),
            ("not_processed_repeated", N_("2. Repeated applications")),
            ("not_processed_publication", N_("3. Requests for published material")),
            ("not_processed_excessive", N_("4. Large numbers of repeated applications without good reason")),
            ("not_processed_confirmation", N_("5. Requests to confirm or reissue information already obtained")),
        ),
    ),
    (
        N_("(6) Other handling"),
        (
            ("other_no_correction", N_("1. No correction in time without good reason: no longer processed")),
            ("other_fee_unpaid", N_("2. Fee not paid in time as notified: no longer processed")),
            ("other", N_("3. Other")),
        ),
    ),
)
"""Table 三's rows under 三、本年度办理结果: each group with its outcome codes (domain.md section 2)."""

OUTCOMES = tuple(code for _group, rows in OUTCOME_GROUPS for code, _label in rows)

SECTION_TITLES = {
    "overall": N_("I. Overview"),
    "proactive": N_("II. Proactive disclosure of government information"),
    "applications": N_("III. Applications for government information received and handled"),
    "appeals": N_("IV. Administrative reconsideration and litigation concerning government information disclosure"),
    "problems": N_("V. Main problems and improvements"),
    "other": N_("VI. Other matters to report"),
}
SECTIONS = tuple(SECTION_TITLES)
NARRATIVE_SECTIONS = ("overall", "problems", "other")
"""Sections written by the office (its template); the other three are generated tables."""

REPORT_TITLE = N_("%(organ)s %(year)s annual report on government information disclosure work")
CHECK_LINE = N_("Check (I + II = III total + IV): %(received)s + %(carried_over)s = %(handled)s + %(carried_forward)s")

CHANNEL_LABELS = {
    "portal": N_("Portal site"),
    "notice_board": N_("Village notice boards"),
    "broadcast": N_("Village broadcast"),
    "webhook": N_("County platform"),
}


class ReportCheckFailed(GongkaiError):
    """The figures break the report's own arithmetic (一 + 二 = 三(总计) + 四, or a total): refused, nothing written."""

    key = "report.unbalanced"


@dataclass(frozen=True)
class Column:
    """One column of table 三: applications of one requester type (or all of them)."""

    received: int
    carried_over: int
    outcomes: Mapping[str, int]
    carried_forward: int

    @property
    def handled(self) -> int:
        """三、本年度办理结果（七）总计."""
        return sum(self.outcomes.values())

    @property
    def balanced(self) -> bool:
        return self.received + self.carried_over == self.handled + self.carried_forward


@dataclass(frozen=True)
class Figures:
    """What the report states, read from the counting's JSON and checked."""

    year: int
    published: int
    by_category: Mapping[str, int]
    by_channel: Mapping[str, int]
    normative: Mapping[str, int]
    """issued, repealed, in_force (行政规范性文件)."""
    regulations: Mapping[str, int]
    """issued, repealed, in_force (规章: a township makes none, so 0 unless counted)."""
    decisions: Mapping[str, int]
    """licensing, penalties, enforcement: 本年处理决定数量 (0 unless counted)."""
    fees: Decimal
    """行政事业性收费, 万元 (0 unless counted)."""
    columns: Mapping[str, Column]
    """Table 三 by requester type, and ``total``."""
    reconsiderations: Mapping[str, int]
    lawsuits_direct: Mapping[str, int]
    lawsuits_after: Mapping[str, int]
    consultations: int
    raw: Mapping[str, Any]
    """The JSON as given, for the office's template to use any further key."""

    @property
    def applications(self) -> Column:
        return self.columns[TOTAL]


def _bad(path: str, detail: str) -> InvalidInput:
    return InvalidInput("report.bad_figures", path=path, detail=detail)


def _mapping(value: Any, path: str, *, required: bool = True) -> Mapping[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        raise _bad(path, "an object is expected")
    return value


def _count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(path, f"a count (a whole number, 0 or more) is expected, not {value!r}")
    return value


def _counts(value: Any, path: str, keys: Sequence[str], *, total: bool, more: bool = False) -> dict[str, int]:
    """``keys`` read from ``value`` (absent ones are 0); a given ``total`` must add up. An unknown key is
    refused where it would be a row the table has not got (an outcome, a requester type, a result), and
    left to the office's template where ``more`` keys are welcome (``normative.filed``)."""
    given = _mapping(value, path, required=False)
    allowed = (*keys, TOTAL) if total else tuple(keys)
    for key in given:
        if key not in allowed and not more:
            raise _bad(f"{path}.{key}", f"unknown key (allowed: {', '.join(allowed)})")
    counts = {key: _count(given.get(key, 0), f"{path}.{key}") for key in keys}
    if total and TOTAL in given:
        stated = _count(given[TOTAL], f"{path}.{TOTAL}")
        if stated != sum(counts.values()):
            raise ReportCheckFailed(
                "report.total_mismatch", path=f"{path}.{TOTAL}", stated=stated, computed=sum(counts.values())
            )
    return counts


def _free_counts(value: Any, path: str) -> dict[str, int]:
    return {str(key): _count(n, f"{path}.{key}") for key, n in _mapping(value, path, required=False).items()}


def _amount(value: Any, path: str) -> Decimal:
    if isinstance(value, bool):
        raise _bad(path, f"an amount is expected, not {value!r}")
    try:
        amount = Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        raise _bad(path, f"an amount is expected, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise _bad(path, f"an amount of 0 or more is expected, not {value!r}")
    return amount


def _column(value: Any, path: str) -> Column:
    given = _mapping(value, path)
    return Column(
        received=_count(given.get("received", 0), f"{path}.received"),
        carried_over=_count(given.get("carried_over", 0), f"{path}.carried_over"),
        outcomes=_counts(given.get("outcomes"), f"{path}.outcomes", OUTCOMES, total=True),
        carried_forward=_count(given.get("carried_forward", 0), f"{path}.carried_forward"),
    )


def figures_from_json(data: Any) -> Figures:
    """The figures of ``count_year(...).to_json()``, checked; a keyed error names the first wrong place.

    ``applications.by_requester`` gives table 三 per column: ``{"natural_person": {"received": n,
    "carried_over": n, "outcomes": {code: n}, "carried_forward": n}, ...}``; the column totals must equal
    the figures of ``applications`` (absent codes and columns are 0). Optional keys beyond the counting's
    shape fill the rest of table 二: ``regulations`` ({issued, repealed, in_force}), ``decisions``
    ({licensing, penalties, enforcement}) and ``fees`` (万元).
    """
    root = _mapping(data, "figures")
    year = root.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        raise _bad("year", f"a year is expected, not {year!r}")
    proactive = _mapping(root.get("proactive"), "proactive", required=False)
    applications = _mapping(root.get("applications"), "applications", required=False)
    received = _counts(applications.get("received"), "applications.received", REQUESTERS, total=True)
    total = Column(
        received=sum(received.values()),
        carried_over=_count(applications.get("carried_over", 0), "applications.carried_over"),
        outcomes=_counts(applications.get("outcomes"), "applications.outcomes", OUTCOMES, total=True),
        carried_forward=_count(applications.get("carried_forward", 0), "applications.carried_forward"),
    )
    by_requester = _mapping(applications.get("by_requester"), "applications.by_requester", required=False)
    for key in by_requester:
        if key not in REQUESTERS:
            raise _bad(f"applications.by_requester.{key}", f"unknown requester type (allowed: {', '.join(REQUESTERS)})")
    if not by_requester and (total.received or total.carried_over or total.handled or total.carried_forward):
        raise _bad("applications.by_requester", "the per-requester figures of table 三 are missing")
    columns = {key: _column(by_requester.get(key, {}), f"applications.by_requester.{key}") for key in REQUESTERS}
    columns[TOTAL] = total
    _columns_add_up(columns, received)
    lawsuits = _mapping(root.get("lawsuits"), "lawsuits", required=False)
    table_two = {
        "normative": _counts(
            root.get("normative"), "normative", ("issued", "repealed", "in_force"), total=False, more=True
        ),
        "regulations": _counts(root.get("regulations"), "regulations", ("issued", "repealed", "in_force"), total=False),
        "decisions": _counts(
            root.get("decisions"), "decisions", ("licensing", "penalties", "enforcement"), total=False
        ),
    }
    consultations = root.get("consultations", 0)
    if isinstance(consultations, Mapping):  # {"received": n, "answered": n}: those received in the year
        consultations = consultations.get("received", consultations.get(TOTAL, 0))
    return Figures(
        year=year,
        published=_count(proactive.get("published", 0), "proactive.published"),
        by_category=_free_counts(proactive.get("by_category"), "proactive.by_category"),
        by_channel=_free_counts(proactive.get("by_channel"), "proactive.by_channel"),
        normative=table_two["normative"],
        regulations=table_two["regulations"],
        decisions=table_two["decisions"],
        fees=_amount(root.get("fees", 0), "fees"),
        columns=columns,
        reconsiderations=_counts(root.get("reconsiderations"), "reconsiderations", RESULTS, total=True),
        lawsuits_direct=_counts(lawsuits.get("direct"), "lawsuits.direct", RESULTS, total=True),
        lawsuits_after=_counts(
            lawsuits.get("after_reconsideration"), "lawsuits.after_reconsideration", RESULTS, total=True
        ),
        consultations=_count(consultations, "consultations"),
        raw=root,
    )


def _columns_add_up(columns: Mapping[str, Column], received: Mapping[str, int]) -> None:
    """Each column balances (一 + 二 = 三 + 四), and the columns add up to the totals the counting gave."""
    total = columns[TOTAL]
    for key in REQUESTERS:
        if columns[key].received != received[key]:
            raise ReportCheckFailed(
                "report.total_mismatch", path=f"applications.by_requester.{key}.received",
                stated=columns[key].received, computed=received[key],
            )  # fmt: skip
    sums = {
        "carried_over": (total.carried_over, sum(columns[k].carried_over for k in REQUESTERS)),
        "carried_forward": (total.carried_forward, sum(columns[k].carried_forward for k in REQUESTERS)),
        **{
            f"outcomes.{code}": (total.outcomes[code], sum(columns[k].outcomes[code] for k in REQUESTERS))
            for code in OUTCOMES
        },
    }
    for name, (stated, computed) in sums.items():
        if stated != computed:
            raise ReportCheckFailed(
                "report.total_mismatch", path=f"applications.{name}", stated=stated, computed=computed
            )
    for key in (*REQUESTERS, TOTAL):  # a column first: it says where the figures went wrong
        column = columns[key]
        if not column.balanced:
            raise ReportCheckFailed(
                column=key, received=column.received, carried_over=column.carried_over, handled=column.handled,
                carried_forward=column.carried_forward,
            )  # fmt: skip


# --- The tables, laid out -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A row of figures under a path of labels (outer to inner, e.g. 三、本年度办理结果 > （三）不予公开 > 1.…)."""

    labels: tuple[str, ...]
    values: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """Rows under one set of column headers; a column is a path of labels (outer to inner)."""

    corner: str
    columns: tuple[tuple[str, ...], ...]
    rows: tuple[Row, ...]
    title: str = ""


@dataclass(frozen=True)
class Table:
    """A statutory table: one or more blocks stacked (table 二 has four)."""

    key: str
    blocks: tuple[Block, ...]

    @property
    def label_depth(self) -> int:
        return max((len(row.labels) for block in self.blocks for row in block.rows), default=0)

    @property
    def value_width(self) -> int:
        return max(len(block.columns) for block in self.blocks)


def _n(value: int | Decimal) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return str(value)


def tables(figures: Figures, _: Callable[[str], str]) -> dict[str, Table]:
    """Tables 二, 三 and 四 in the reader's language (``_`` translates a label)."""
    information = _("Information")
    decided = (_("Decisions this year"),)
    two = Table(
        "proactive",
        (
            Block(
                information,
                ((_("Issued this year"),), (_("Repealed this year"),), (_("In force now"),)),
                (
                    Row((_("Rules"),), tuple(_n(figures.regulations[k]) for k in ("issued", "repealed", "in_force"))),
                    Row(
                        (_("Normative documents"),),
                        tuple(_n(figures.normative[k]) for k in ("issued", "repealed", "in_force")),
                    ),
                ),
                _("Article 20 (1)"),
            ),
            Block(
                information,
                (decided,),
                (Row((_("Administrative licensing"),), (_n(figures.decisions["licensing"]),)),),
                _("Article 20 (5)"),
            ),
            Block(
                information,
                (decided,),
                (
                    Row((_("Administrative penalties"),), (_n(figures.decisions["penalties"]),)),
                    Row((_("Administrative enforcement"),), (_n(figures.decisions["enforcement"]),)),
                ),
                _("Article 20 (6)"),
            ),
            Block(
                information,
                ((_("Fees collected this year (10,000 yuan)"),),),
                (Row((_("Administrative fees"),), (_n(figures.fees),)),),
                _("Article 20 (8)"),
            ),
        ),
    )
    organisations = _("Legal persons or other organisations")
    requester_columns = (
        (_("Natural persons"),),
        (organisations, _("Businesses")),
        (organisations, _("Research institutions")),
        (organisations, _("Public-interest organisations")),
        (organisations, _("Legal service organisations")),
        (organisations, _("Other organisations")),
        (_("Total"),),
    )
    order = (*REQUESTERS, TOTAL)
    columns = figures.columns

    def across(value: Callable[[Column], int]) -> tuple[str, ...]:
        return tuple(_n(value(columns[key])) for key in order)

    results = _("III. Results this year")
    rows = [
        Row((_("I. New applications received this year"),), across(lambda c: c.received)),
        Row((_("II. Applications carried over from last year"),), across(lambda c: c.carried_over)),
    ]
    for group, outcome_rows in OUTCOME_GROUPS:
        for code, label in outcome_rows:
            path = (results, _(group), _(label)) if label else (results, _(group))
            rows.append(Row(path, across(lambda c, code=code: c.outcomes[code])))  # type: ignore[misc]
    rows.append(Row((results, _("(7) Total")), across(lambda c: c.handled)))
    rows.append(Row((_("IV. Carried forward to next year"),), across(lambda c: c.carried_forward)))
    three = Table("applications", (Block(_("Applicants"), requester_columns, tuple(rows)),))

    result_labels = (_("Upheld"), _("Corrected"), _("Other result"), _("Pending"), _("Total"))
    reconsideration = _("Administrative reconsideration")
    litigation = _("Administrative litigation")
    direct, after = _("Sued directly without reconsideration"), _("Sued after reconsideration")
    four_columns = (
        *((reconsideration, label) for label in result_labels),
        *((litigation, direct, label) for label in result_labels),
        *((litigation, after, label) for label in result_labels),
    )
    keys = (*RESULTS, TOTAL)
    four_values = tuple(
        _n(counts[k] if k != TOTAL else sum(counts.values()))
        for counts in (figures.reconsiderations, figures.lawsuits_direct, figures.lawsuits_after)
        for k in keys
    )
    four = Table("appeals", (Block("", four_columns, (Row((), four_values),)),))
    return {"proactive": two, "applications": three, "appeals": four}


def check_line(figures: Figures, _: Callable[..., str]) -> str:
    """The check 一 + 二 = 三(总计) + 四 of the total column, as a sentence under table 三."""
    total = figures.applications
    return _(
        CHECK_LINE, received=total.received, carried_over=total.carried_over, handled=total.handled,
        carried_forward=total.carried_forward,
    )  # fmt: skip


@dataclass(frozen=True)
class GridCell:
    """One cell of a table drawn with merged cells (HTML, DOCX)."""

    text: str
    colspan: int = 1
    rowspan: int = 1
    header: bool = False
    figure: bool = False


def grid(table: Table) -> list[list[GridCell]]:
    """The table as rows of cells with spans, like the national format draws it: nested row labels share one
    cell down the rows they head, nested column labels one cell across; a block with fewer columns than the
    widest stretches its last column (table 二's single-figure blocks)."""
    depth, width = table.label_depth, table.value_width
    rows: list[list[GridCell]] = []
    for block in table.blocks:
        stretch = width - len(block.columns)
        if block.title:
            rows.append([GridCell(block.title, colspan=depth + width, header=True)])
        levels = max(len(path) for path in block.columns)
        for level in range(levels):
            cells = [GridCell(block.corner, colspan=depth, rowspan=levels, header=True)] if level == 0 and depth else []
            for i, path in enumerate(block.columns):
                prefix = path[: level + 1]
                if len(path) <= level or (i and block.columns[i - 1][: level + 1] == prefix):
                    continue
                span = 1
                while i + span < len(block.columns) and block.columns[i + span][: level + 1] == prefix:
                    span += 1
                last = i + span == len(block.columns)
                cells.append(
                    GridCell(
                        path[level], colspan=span + (stretch if last else 0),
                        rowspan=levels - level if level == len(path) - 1 else 1, header=True,
                    )
                )  # fmt: skip
            rows.append(cells)
        for r, row in enumerate(block.rows):
            cells = []
            for k, label in enumerate(row.labels):
                prefix = row.labels[: k + 1]
                if r and block.rows[r - 1].labels[: k + 1] == prefix:
                    continue
                span = 1
                while r + span < len(block.rows) and block.rows[r + span].labels[: k + 1] == prefix:
                    span += 1
                leaf = k == len(row.labels) - 1
                cells.append(GridCell(label, colspan=depth - k if leaf else 1, rowspan=1 if leaf else span))
            for i, value in enumerate(row.values):
                last = i == len(row.values) - 1
                cells.append(GridCell(value, colspan=1 + (stretch if last else 0), figure=True))
            rows.append(cells)
    return rows


def markdown_tables(table: Table, joiner: str) -> str:
    """The table as GitHub-flavoured Markdown (no merged cells): one table per block under its title in bold,
    nested column labels joined with ``joiner``, a group of rows under its label in bold, inner labels
    indented with ideographic spaces."""
    parts = []
    for block in table.blocks:
        depth = max((len(row.labels) for row in block.rows), default=0)
        if not depth and len(block.rows) == 1 and (folded := _folded(block, joiner)):
            parts.append(folded)
            continue
        header = ([block.corner] if depth else []) + [joiner.join(path) for path in block.columns]
        lines = [_md_row(header), _md_row(["---"] * (1 if depth else 0) + ["---:"] * len(block.columns))]
        previous: tuple[str, ...] = ()
        for row in block.rows:
            for k in range(len(row.labels) - 1):
                if previous[: k + 1] != row.labels[: k + 1]:
                    lines.append(_md_row(["\u3000" * k + f"**{row.labels[k]}**"] + [""] * len(block.columns)))
            labels = ["\u3000" * (len(row.labels) - 1) + row.labels[-1]] if row.labels else []
            lines.append(_md_row(labels + list(row.values)))
            previous = row.labels
        title = f"**{block.title}**\n\n" if block.title else ""
        parts.append(title + "\n".join(lines))
    return "\n\n".join(parts)


def _folded(block: Block, joiner: str) -> str | None:
    """A single row without labels (table 四) folded into rows by its outer column labels, when every group
    has the same inner labels: three short rows instead of fifteen columns."""
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for path, value in zip(block.columns, block.rows[0].values, strict=True):
        groups.setdefault(path[:-1], []).append((path[-1], value))
    leaves = {tuple(leaf for leaf, _ in cells) for cells in groups.values()}
    if len(groups) < 2 or len(leaves) != 1 or () in groups:
        return None
    header = next(iter(leaves))
    lines = [_md_row(["", *header]), _md_row(["---"] + ["---:"] * len(header))]
    lines += [_md_row([joiner.join(prefix), *(value for _, value in cells)]) for prefix, cells in groups.items()]
    return "\n".join(lines)


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
