"""The inbox page (``GET /``): a view (waiting for me, items I created, items I acted on), filters and a
search, 50 items a page, all in the query string of a plain GET form (no JavaScript needed).

The query is :func:`workflow.web.queries.inbox` (a count and one page, in SQL). The labels of the
filter choices come from the stored definition versions and are kept per language and set of
versions, so a page asks the definitions nothing it asked before.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from workflow.core.definition import Definition
from workflow.core.i18n import N_, translator
from workflow.web import queries
from workflow.web.queries import VIEWS, InboxQuery
from workflow.web.shell import WebShell

SEARCH_LIMIT = 100
"""Characters of a search kept; a longer one is refused with a message."""
VIEW_TITLES = {
    "waiting": N_("Waiting for me"),
    "created": N_("Items I created"),
    "acted": N_("Items I acted on"),
}


@dataclass(frozen=True)
class Choices:
    """The filter's options in one language: (value, label) pairs."""

    definitions: list[tuple[str, str]]
    states: dict[str | None, list[tuple[str, str]]]
    """Per definition name (None: every definition) its states, labels joined where they differ."""


@dataclass(frozen=True)
class ShownRow:
    """One row of the inbox as the reader sees it: every text already in their language."""

    reference: str
    title: str
    kind: str
    step: str
    due: str
    days: str
    """Working days left or overdue, in words; empty without a due date."""
    overdue: bool
    due_today: bool


class InboxPages:
    def __init__(self, web: WebShell) -> None:
        self.web = web
        self._choices: dict[tuple[str, tuple[tuple[str, str], ...]], Choices] = {}
        self._lock = threading.Lock()

    def choices(self, definitions: Sequence[Definition], lang: str) -> Choices:
        key = (lang, tuple(sorted((d.name, d.version) for d in definitions)))
        known = self._choices.get(key)
        if known is not None:
            return known
        names: dict[str, str] = {}
        states: dict[str | None, dict[str, list[str]]] = {None: {}}
        for definition in definitions:
            names.setdefault(definition.name, definition.label.in_lang(lang))
            for state, spec in definition.states.items():
                label = spec.label.in_lang(lang)
                for key_name in (None, definition.name):
                    labels = states.setdefault(key_name, {}).setdefault(state, [])
                    if label not in labels:
                        labels.append(label)
        made = Choices(
            definitions=sorted(names.items(), key=lambda pair: pair[1]),
            states={
                name: sorted(((state, " / ".join(labels)) for state, labels in by_state.items()), key=lambda p: p[1])
                for name, by_state in states.items()
            },
        )
        with self._lock:
            self._choices[key] = made
        return made

    def shown(self, rows: Sequence[queries.InboxRow], lang: str) -> list[ShownRow]:
        """The rows in words: labels, dates and working days, each worked out once per distinct value."""
        tr = translator(lang)
        labels: dict[tuple[str, str, str], tuple[str, str]] = {}
        days: dict[int, str] = {}
        shown = []
        for row in rows:
            key = (row.definition.name, row.definition.version, row.state)
            if key not in labels:
                labels[key] = (row.definition.label.in_lang(lang), row.definition.states[row.state].label.in_lang(lang))
            left = row.days_left
            if left is not None and left not in days:
                days[left] = (
                    tr.ngettext("%(num)s working day overdue", "%(num)s working days overdue", -left) if left < 0
                    else tr._("due today") if left == 0
                    else tr.ngettext("%(num)s working day left", "%(num)s working days left", left)
                )  # fmt: skip
            kind, step = labels[key]
            shown.append(
                ShownRow(
                    row.reference, row.title, kind, step, tr.date(row.due_on, "medium") if row.due_on else "",
                    days[left] if left is not None else "", row.overdue, left == 0,
                )
            )  # fmt: skip
        return shown

    def wanted(self, request: Request, choices: Choices) -> tuple[InboxQuery, dict[str, str]]:
        """The query string as an :class:`InboxQuery`, and an error message per field it got wrong."""
        params = request.query_params
        tr = self.web.tr(request)
        errors: dict[str, str] = {}
        view = params.get("view") or "waiting"
        if view not in VIEWS:
            errors["view"] = tr._("There is no view “%(value)s”.", value=view)
            view = "waiting"
        definition = params.get("definition") or None
        if definition is not None and definition not in dict(choices.definitions):
            errors["definition"] = tr._(
                "There is no kind of item “%(value)s”: choose one from the list.", value=definition
            )
            definition = None
        state = params.get("state") or None
        if state is not None and state not in dict(choices.states.get(definition, [])):
            errors["state"] = tr._("There is no step “%(value)s” here: choose one from the list.", value=state)
            state = None
        search = params.get("q", "").strip()
        if len(search) > SEARCH_LIMIT:
            errors["q"] = tr._("The search is too long: at most %(limit)s characters.", limit=SEARCH_LIMIT)
        page_text = params.get("page") or "1"
        if not page_text.isdigit() or int(page_text) < 1:
            errors["page"] = tr._("“%(value)s” is not a page number.", value=page_text)
            page_text = "1"
        overdue = params.get("overdue") in ("1", "on")
        return InboxQuery(view, definition, state, overdue, search, int(page_text)), errors

    def page(self, request: Request) -> Response:
        web = self.web
        today = web.engine.today()
        lang = web.lang(request)
        with web.read() as conn:
            person = web.signed_in(request, conn)
            definitions = web.engine.registry.stored(conn)
            choices = self.choices(definitions, lang)
            wanted, errors = self.wanted(request, choices)
            found = None if errors else queries.inbox(web.engine, conn, person, today, wanted, definitions=definitions)
        tr = web.tr(request)
        return web.page(
            request, "inbox.html", status=400 if errors else 200, found=found, wanted=wanted, errors=errors,
            rows=self.shown(found.rows, lang) if found else [],
            choices=choices, states=choices.states.get(wanted.definition, []),
            views=[(view, tr._(VIEW_TITLES[view]), link(replace(wanted, view=view, page=1))) for view in VIEWS],
            view_title=tr._(VIEW_TITLES[wanted.view]), page_link=lambda n: link(replace(wanted, page=n)),
            page_numbers=page_numbers(found.page, found.pages) if found else [],
            clear_link=link(InboxQuery(view=wanted.view)),
            filtered=bool(wanted.definition or wanted.state or wanted.overdue or wanted.search),
        )  # fmt: skip


def link(wanted: InboxQuery) -> str:
    """The inbox's address for ``wanted``: only what differs from the defaults, in a fixed order."""
    params: list[tuple[str, str]] = []
    if wanted.view != "waiting":
        params.append(("view", wanted.view))
    if wanted.definition:
        params.append(("definition", wanted.definition))
    if wanted.state:
        params.append(("state", wanted.state))
    if wanted.overdue:
        params.append(("overdue", "1"))
    if wanted.search:
        params.append(("q", wanted.search))
    if wanted.page != 1:
        params.append(("page", str(wanted.page)))
    return "/?" + urlencode(params) if params else "/"


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """The page links to show: the first, the last, and ``around`` either side of ``page``; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers
