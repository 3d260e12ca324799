"""Email rendering (pure): one event, one reader, one language -> subject, text and HTML.

Templates live in ``notifications/templates/`` (one tree for every language) and follow
Wagtail's naming: ``<event>_subject.txt``, ``<event>.txt`` and ``<event>.html``; their text
is English marked with ``{% trans %}``/``_()`` and translated through the gettext catalogues
(``jinja2.ext.i18n``), dates through Babel. The HTML part is
autoescaped, the text part is not, and both use ``StrictUndefined``. What people typed
(titles, bodies, names) only ever reaches a template as data, so ``{{ 7*7 }}`` in a
title stays those eight characters.

The renderer, not the template, decides whether an item's body may appear: while the
item is in a state the caller marks as confidential (a confidentiality review), the
body is dropped before any template sees it (:func:`include_body`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from workflow.core.definition import Definition
from workflow.core.errors import ConfigurationError, InvalidInput
from workflow.core.i18n import LANGUAGES, catalogue, translator
from workflow.core.markup import render_body

EVENTS = (
    "new_task",
    "reminder_upcoming",
    "reminder_due_today",
    "reminder_overdue",
    "escalation",
    "periodic_update",
    "digest",
)
"""Every event that has templates; an event's name is part of each outbox row."""

DUE_EVENTS = frozenset({"reminder_upcoming", "reminder_due_today", "reminder_overdue", "escalation"})
"""Events about a deadline: their item must have a due date."""

CONFIDENTIALITY_ROLE = "confidentiality_reviewer"
BODY_LIMIT = 2000
"""Characters of an item's body shown in an email; the link leads to the rest."""

HTML_LANG = {"zh": "zh-CN", "en": "en"}


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered email: a one-line subject (no CR/LF), a plain-text and an HTML part."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class ItemSummary:
    """What an email may say about an item; labels are already in the reader's language."""

    reference: str
    title: str
    state: str
    """The stored state name: decides, with the caller's confidential states, whether the body is shown."""
    state_label: str
    due_on: dt.date | None = None
    body: str = ""
    """Shown only where :func:`include_body` allows it, cut at :data:`BODY_LIMIT` characters."""
    body_cut: bool = False
    """The body was cut to what an email shows before it came here (read back from an outbox row)."""


@dataclass(frozen=True)
class ActionLink:
    """A link that records a decision (``clear``, ``sign_off``...), made by the caller."""

    label: str
    url: str

    def __post_init__(self) -> None:
        check_web_url(self.url)


@dataclass(frozen=True)
class LateStep:
    """One step of an escalation's chain: who had the item, in which state, due when."""

    person: str
    state_label: str
    due_on: dt.date
    done_on: dt.date | None = None
    """When the step was finally done (late); None while it is still waiting."""


def include_body(state: str, confidential_states: Collection[str]) -> bool:
    """May an email show the body of an item in ``state``? Never while it is under confidentiality review."""
    if isinstance(confidential_states, str):  # "in" would test substrings
        raise TypeError("confidential_states is a collection of state names, not one string")
    return state not in confidential_states


def email_body(item: ItemSummary, confidential_states: Collection[str]) -> tuple[str, bool]:
    """What an email may show of the item's body, and whether it was cut: nothing under review."""
    if not include_body(item.state, confidential_states):
        return "", False
    if item.body_cut:
        return item.body, True
    text = item.body.strip()
    return text[:BODY_LIMIT], len(text) > BODY_LIMIT


def confidential_states_of(definition: Definition) -> frozenset[str]:
    """The states of a definition in which the confidentiality reviewer acts: the body is not yet cleared there."""
    return frozenset(name for name, state in definition.states.items() if CONFIDENTIALITY_ROLE in state.roles)


def header_safe(value: str) -> str:
    """One line for a mail header: every line break and run of whitespace becomes one space."""
    return " ".join(value.split())


def item_url(base_url: str, reference: str) -> str:
    """The item's page in the web interface."""
    return f"{base_url.rstrip('/')}/items/{quote(reference, safe='')}"


class Renderer:
    """One template environment per language, built once: Jinja compiles and caches each template on first use.

    An environment holds its language's catalogue (``install_gettext_translations``), so a
    language is never switched under a render running in another thread.
    """

    def __init__(self) -> None:
        self.environments = {lang: _environment(lang) for lang in LANGUAGES}

    def render(
        self,
        event: str,
        *,
        recipient_name: str,
        base_url: str,
        today: dt.date,
        confidential_states: Collection[str],
        lang: str = "zh",
        item: ItemSummary | None = None,
        items: Sequence[ItemSummary] = (),
        actions: Sequence[ActionLink] = (),
        late_chain: Sequence[LateStep] = (),
    ) -> RenderedMessage:
        """Render ``event`` for one reader; see :func:`render`."""
        if event not in EVENTS:
            raise InvalidInput("mail.unknown_event", event=event, allowed=", ".join(EVENTS))
        if lang not in LANGUAGES:
            raise ConfigurationError("config.bad_lang", value=lang)
        check_web_url(base_url)
        if event == "digest":
            if not items:
                raise InvalidInput("mail.empty_digest")
        elif item is None:
            raise InvalidInput("mail.item_required", event=event)
        elif item.due_on is None and event in DUE_EVENTS:
            raise InvalidInput("mail.due_required", event=event, reference=item.reference)
        context: dict[str, Any] = {
            "lang": lang,
            "html_lang": HTML_LANG[lang],
            "recipient_name": recipient_name,
            "base_url": base_url.rstrip("/"),
            "today": today,
            "item": None if item is None else _item_context(item, base_url, today, confidential_states),
            "items": [_item_context(i, base_url, today, confidential_states, body=False) for i in _by_urgency(items)],
            "actions": list(actions),
            "late_chain": list(late_chain),
        }
        context["overdue_count"] = sum(1 for entry in context["items"] if entry["overdue"])
        return self.render_event(lang, event, context)

    def render_event(self, lang: str, event: str, context: Mapping[str, Any]) -> RenderedMessage:
        """The three templates of ``event`` (subject, text, HTML) rendered with ``context``; the subject header-safe."""
        subject = self._template(lang, f"{event}_subject.txt").render(context)
        return RenderedMessage(
            subject=header_safe(subject),
            text=self._template(lang, f"{event}.txt").render(context),
            html=self._template(lang, f"{event}.html").render(context),
        )

    def _template(self, lang: str, name: str) -> Template:
        return self.environments[lang].get_template(name)


def translated_environment(loader: BaseLoader, lang: str, **options: Any) -> Environment:
    """A Jinja environment whose templates speak ``lang``: ``{% trans %}``, ``_()`` and ``ngettext()``
    read its gettext catalogue (``jinja2.ext.i18n``, newstyle: placeholders ``%(name)s``, escaped
    in HTML). One per language, so a language is never switched under a render in another thread.
    Shared by the emails and the web pages; ``.html`` is autoescaped, ``.txt`` is not."""
    environment = Environment(
        loader=loader,
        autoescape=select_autoescape(enabled_extensions=("html",), disabled_extensions=("txt",), default=True),
        auto_reload=False,  # templates ship with the package: no stat() of each file on every render
        extensions=["jinja2.ext.i18n"],
        **options,
    )
    environment.install_gettext_translations(catalogue(lang), newstyle=True)  # type: ignore[attr-defined]
    # An item's Markdown body, rendered and sanitised in its one home (``workflow.core.markup``).
    environment.filters["markdown"] = lambda source: Markup(render_body(source or ""))
    return environment


def _environment(lang: str) -> Environment:
    environment = translated_environment(
        PackageLoader("notifications", "templates"), lang,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )  # fmt: skip
    environment.filters["day"] = lambda day: format_day(day, lang)
    return environment


@cache
def default_renderer() -> Renderer:
    return Renderer()


def render(
    event: str,
    *,
    recipient_name: str,
    base_url: str,
    today: dt.date,
    confidential_states: Collection[str],
    lang: str = "zh",
    item: ItemSummary | None = None,
    items: Sequence[ItemSummary] = (),
    actions: Sequence[ActionLink] = (),
    late_chain: Sequence[LateStep] = (),
) -> RenderedMessage:
    """Render one email of ``event`` (one of :data:`EVENTS`) for one reader.

    ``item`` is required for every event but ``digest``, which lists ``items`` instead
    (overdue first, then by due date). ``today`` is the office's date: it decides what is
    overdue. ``confidential_states`` are the states in which the body must not appear
    (:func:`confidential_states_of` gives them for a definition). ``actions`` are links
    that record a decision, shown where the email asks for one; may be empty.
    """
    return default_renderer().render(
        event,
        recipient_name=recipient_name,
        base_url=base_url,
        today=today,
        confidential_states=confidential_states,
        lang=lang,
        item=item,
        items=items,
        actions=actions,
        late_chain=late_chain,
    )


def format_day(day: dt.date, lang: str) -> str:
    """A date with its weekday as the reader's language writes it (Babel): ``2026年3月9日星期一``,
    ``Monday, March 9, 2026``."""
    return translator(lang).date(day, "full")


def _item_context(
    item: ItemSummary, base_url: str, today: dt.date, confidential_states: Collection[str], *, body: bool = True
) -> dict[str, Any]:
    shown = body and include_body(item.state, confidential_states)
    text, truncated = email_body(item, confidential_states) if shown else ("", False)
    return {
        "reference": header_safe(item.reference),
        "title": header_safe(item.title),
        "state_label": header_safe(item.state_label),
        "due_on": item.due_on,
        "due_iso": item.due_on.isoformat() if item.due_on else "",
        "overdue": item.due_on is not None and item.due_on < today,
        "body": text,
        "body_truncated": truncated,
        "body_withheld": body and not shown,
        "url": item_url(base_url, item.reference),
    }


def _by_urgency(items: Sequence[ItemSummary]) -> list[ItemSummary]:
    """Earliest due first, so overdue items lead; items without a due date last."""
    far = dt.date.max
    return sorted(items, key=lambda i: (i.due_on or far, i.reference))


def check_web_url(url: str) -> None:
    """Refuses anything but an absolute http(s) URL on one line: links in emails are only ever these."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in "\r\n\t "):
        raise ConfigurationError("config.bad_web_url", url=url)


class LinkSigner(Protocol):
    """Makes the URL of a one-decision action link (see ``workflow.tokens``); signed when the email is made."""

    def action_url(self, base_url: str, user: str, item_id: int, trigger: str, version: int) -> str: ...


def action_links(
    signer: LinkSigner | None,
    base_url: str,
    user: str,
    item_id: int,
    version: int,
    triggers: Sequence[str],
    lang: str,
    definition: Definition,
) -> list[ActionLink]:
    """One signed link per decision this person may take; none without a signer (no secret configured)."""
    if signer is None:
        return []
    return [
        ActionLink(
            definition.trigger_label(trigger, lang), signer.action_url(base_url, user, item_id, trigger, version)
        )
        for trigger in triggers
    ]


class ActionLinker(Protocol):
    """Makes the action links of a deferred email when it is sent (see ``workflow.worker.links``)."""

    def links(self, base_url: str, acting: Mapping[str, Any], lang: str) -> list[ActionLink]: ...


def render_context(context: Mapping[str, Any], linker: ActionLinker | None = None) -> RenderedMessage:
    """Render an email from the plain context written with its outbox row (see :func:`deferred_context`).

    Its action links are made now, by ``linker``, for the decisions the recipient may take now.
    """
    item = context.get("item")
    acting = context.get("acting")
    actions = linker.links(context["base_url"], acting, context["lang"]) if linker and acting else []
    return render(
        context["event"],
        recipient_name=context["recipient_name"],
        base_url=context["base_url"],
        today=dt.date.fromisoformat(context["today"]),
        confidential_states=frozenset(context["confidential_states"]),
        lang=context["lang"],
        item=_summary_from(item) if item else None,
        actions=actions,
    )


def deferred_context(
    event: str,
    *,
    recipient_name: str,
    base_url: str,
    today: dt.date,
    confidential_states: Collection[str],
    lang: str,
    item: ItemSummary,
    acting: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """JSON-ready arguments of :func:`render`: written inside a transaction, rendered by the sender.

    ``acting`` ({user, roles, stands_in_for, item_id, version}) asks for action links, made when it is sent.
    The item's body is kept only as far as the email may show it: none under confidentiality review.

    Rendering costs about 150 µs a message; a transition only writes this small record.
    """
    check_web_url(base_url)
    body, cut = email_body(item, confidential_states)
    return {
        "event": event,
        "recipient_name": recipient_name,
        "base_url": base_url,
        "today": today.isoformat(),
        "confidential_states": sorted(confidential_states),
        "lang": lang,
        "item": {
            "reference": item.reference, "title": item.title, "state": item.state, "state_label": item.state_label,
            "due_on": item.due_on.isoformat() if item.due_on else None, "body": body, "body_cut": cut,
        },
        "acting": dict(acting) if acting else None,
    }  # fmt: skip


def _summary_from(data: Mapping[str, Any]) -> ItemSummary:
    due = data.get("due_on")
    return ItemSummary(
        reference=data["reference"],
        title=data["title"],
        state=data["state"],
        state_label=data["state_label"],
        due_on=dt.date.fromisoformat(due) if due else None,
        body=data.get("body", ""),
        body_cut=bool(data.get("body_cut")),
    )
