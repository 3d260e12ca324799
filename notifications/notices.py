"""Who is told what: new-task notices and reminders, written to the outbox in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from notifications.outbox import deferred_values, outbox_values
from notifications.render import (
    ItemSummary,
    LateStep,
    action_links,
    confidential_states_of,
    deferred_context,
    render,
)
from notifications.settings import MailSettings
from workflow.core.acting import acts_in_any, decisions_open_to, roles_to_act
from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.definition import Definition
from workflow.core.names import person_label
from workflow.store.hot import HotPath
from workflow.tokens import Tokens

REMINDER_EVENTS = {
    "upcoming": "reminder_upcoming",
    "due_today": "reminder_due_today",
    "overdue": "reminder_overdue",
    "escalation": "escalation",
    "periodic": "periodic_update",
}


@dataclass(frozen=True)
class Recipient:
    """Someone an email goes to, with the roles and substitutions for which they were chosen."""

    person: Person
    """As the core sees them: the roles on the item they were chosen for, whom they stand in for today."""
    email: str
    digest: bool = False
    """Wants one daily digest instead of single notices and reminders (escalations still come)."""
    display_name: str | None = None
    """The name the office knows them by (张伟); emails greet them by it."""

    @property
    def name(self) -> str:
        return self.person.name

    @property
    def greeting_name(self) -> str:
        """How an email addresses them: their display name, else their login name."""
        return self.display_name or self.person.name


def people_for_roles(
    conn: Connection, roles: Iterable[str], holders: Mapping[str, Sequence[str]], today: dt.date
) -> list[Recipient]:
    """The people who hold one of these roles on an item today: in their own right (those assigned,
    else everyone active with the role) or standing in for someone who does, as the inbox counts them."""
    roles = tuple(roles)
    hot = HotPath(conn.dialect.name)
    contact: dict[str, tuple[str, bool, str | None]] = {}
    own: dict[str, set[str]] = {}
    standing_in: dict[str, dict[str, set[str]]] = {}
    for role in roles:
        for name, email, digest, principal, display_name in hot.people(conn, role, holders.get(role) or (), today):
            contact[name] = (email, digest, display_name)
            if principal is None:
                own.setdefault(name, set()).add(role)
            else:
                standing_in.setdefault(name, {}).setdefault(principal, set()).add(role)
    found = []
    for name, (email, digest, display_name) in contact.items():
        principals = standing_in.get(name, {})
        person = Person(
            name, frozenset(own.get(name, ())), tuple(Person(p, frozenset(r)) for p, r in sorted(principals.items()))
        )
        if acts_in_any(person, roles, holders):
            found.append(Recipient(person, email, digest, display_name))
    return found


def decisions_for(definition: Definition, row: Any, person: Person) -> list[str]:
    """The decisions an email may offer this person as links (the core's :func:`decisions_open_to`)."""
    return decisions_open_to(ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted), person)


def acting_record(person: Person) -> dict[str, Any]:
    """Whom a deferred notice asks to act, as JSON: the links are made for them when it is sent."""
    return {
        "user": person.name,
        "roles": sorted(person.roles),
        "stands_in_for": {p.name: sorted(p.roles) for p in person.stands_in_for},
    }


def acting_person(record: Mapping[str, Any]) -> Person:
    """The person of an :func:`acting_record` (rows written before substitutes were recorded have none)."""
    standing_in = record.get("stands_in_for") or {}
    return Person(
        str(record["user"]),
        frozenset(record.get("roles") or ()),
        tuple(Person(str(name), frozenset(roles)) for name, roles in standing_in.items()),
    )


def _enqueue(conn: Connection, **values: Any) -> bool:
    """Like ``notifications.outbox.enqueue``, on the driver's cursor: this runs inside every transition."""
    return HotPath(conn.dialect.name).insert_outbox(conn, outbox_values(**values))


class Notifier:
    """Renders and enqueues emails; the engine and the worker call it inside their transactions."""

    def __init__(self, mail: MailSettings, lang: str = "zh", signer: Tokens | None = None) -> None:
        self.mail = mail
        self.lang = lang
        self.signer = signer
        """Signs action links (``GONGKAI_SECRET_KEY``); without it emails link to the item page only."""

    def summary(self, definition: Definition, row: Any, due: dt.date | None, *, body: bool = True) -> ItemSummary:
        """What an email may say of an item; ``body=False`` for lists, which never show one."""
        state = definition.states[row.state]
        return ItemSummary(
            reference=row.reference,
            title=row.title,
            state=row.state,
            state_label=state.label.in_lang(self.lang),
            due_on=due,
            body=row.body if body else "",
        )

    def new_task(
        self,
        conn: Connection,
        definition: Definition,
        row: Any,
        due: dt.date | None,
        actor: str,
        now: dt.datetime,
        today: dt.date,
    ) -> int:
        """Tell the people who must act in the item's (new) state; the actor is not told of their own act."""
        roles = roles_to_act(definition, row.state)
        if not roles:
            return 0
        people = [p for p in people_for_roles(conn, roles, row.holders, today) if p.name != actor and not p.digest]
        item = self.summary(definition, row, due)
        confidential = confidential_states_of(definition)
        rows = []
        for recipient in people:
            # Rendered when sent: the transition writes only this small record (rendering is ~150 µs).
            # Which decisions to offer is worked out when the email is sent (workflow.worker.links), off this path.
            acting = {**acting_record(recipient.person), "item_id": row.id, "version": row.version}
            context = deferred_context(
                "new_task", recipient_name=recipient.greeting_name, base_url=self.mail.base_url, today=today,
                confidential_states=confidential, lang=self.lang, item=item, acting=acting,
            )  # fmt: skip
            values = deferred_values(
                key=f"new_task:{row.id}:{row.version}", event="new_task", recipient=recipient.email,
                subject=f"{item.reference} {item.state_label}: {item.title}", context=context, now=now, item_id=row.id,
            )  # fmt: skip
            rows.append(values)
        return HotPath(conn.dialect.name).insert_outboxes(conn, rows)  # one round trip for all

    def reminder(
        self,
        conn: Connection,
        definition: Definition,
        row: Any,
        kind: str,
        key: str,
        roles: Sequence[str],
        notify_roles: Sequence[str],
        due: dt.date,
        now: dt.datetime,
        today: dt.date,
        *,
        earlier_late: Sequence[LateStep] = (),
    ) -> int:
        """One reminder to everyone holding ``roles``; an escalation names who was late, earlier steps first."""
        people = [p for p in people_for_roles(conn, roles, row.holders, today) if kind == "escalation" or not p.digest]
        item = self.summary(definition, row, due)
        late: list[LateStep] = []
        if kind == "escalation":
            late = [*earlier_late] + [
                LateStep(
                    person=person_label(p.name, p.display_name, self.lang), state_label=item.state_label, due_on=due
                )
                for p in people_for_roles(conn, notify_roles, row.holders, today)
            ]
        event = REMINDER_EVENTS[kind]
        confidential = confidential_states_of(definition)
        written = 0
        for recipient in people:
            decisions = decisions_for(definition, row, recipient.person) if self.signer is not None else []
            actions = action_links(
                self.signer, self.mail.base_url, recipient.name, row.id, row.version, decisions, self.lang, definition
            )
            message = render(
                event, recipient_name=recipient.greeting_name, base_url=self.mail.base_url, today=today,
                confidential_states=confidential, lang=self.lang, item=item, late_chain=late, actions=actions,
            )  # fmt: skip
            written += _enqueue(conn, key=key, event=event, recipient=recipient.email, message=message, now=now,
                                item_id=row.id)  # fmt: skip
        return written
