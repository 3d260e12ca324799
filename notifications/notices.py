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
from workflow.core.decisions import ItemSnapshot, available_triggers
from workflow.core.decisions import Person as DecidingPerson
from workflow.core.definition import Definition
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
class Person:
    name: str
    email: str
    digest: bool = False
    """Wants one daily digest instead of single notices and reminders (escalations still come)."""
    roles: tuple[str, ...] = ()
    """The roles on the item for which this person was chosen."""


def people_for_roles(conn: Connection, roles: Iterable[str], holders: Mapping[str, Sequence[str]]) -> list[Person]:
    """The people who hold these roles on an item: those assigned, else everyone active with the role."""
    hot = HotPath(conn.dialect.name)
    found: dict[str, Person] = {}
    for role in roles:
        for name, email, digest in hot.people(conn, role, holders.get(role) or ()):
            known = found.get(name)
            found[name] = Person(name, email, digest, (*known.roles, role) if known else (role,))
    return list(found.values())


def decisions_for(definition: Definition, row: Any, person: Person) -> list[str]:
    """The decisions an email may offer this person as links: theirs to take now, none fired by the worker."""
    snapshot = ItemSnapshot(definition, row.state, row.fields, row.holders, row.acted)
    acting = DecidingPerson(person.name, frozenset(person.roles))
    return [
        trigger
        for trigger in available_triggers(snapshot, acting)
        if (transition := definition.transitions_for(trigger, row.state)) is not None and transition.fires_at is None
    ]


def asked_to_act(definition: Definition, state: str) -> tuple[str, ...]:
    """The state's roles that have a decision to make: not those whose only exit the worker fires (timed)."""
    return tuple(
        role
        for role in definition.states[state].roles
        if any(t.role == role and t.fires_at is None for t in definition.transitions if state in t.sources)
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

    def summary(self, definition: Definition, row: Any, due: dt.date | None) -> ItemSummary:
        state = definition.states[row.state]
        return ItemSummary(
            reference=row.reference,
            title=row.title,
            state=row.state,
            state_label=state.label.in_lang(self.lang),
            due_on=due,
            body=row.body,
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
        roles = asked_to_act(definition, row.state)
        if not roles:
            return 0
        people = [p for p in people_for_roles(conn, roles, row.holders) if p.name != actor and not p.digest]
        item = self.summary(definition, row, due)
        confidential = confidential_states_of(definition)
        hot = HotPath(conn.dialect.name)
        written = 0
        for person in people:
            # Rendered when sent: the transition writes only this small record (rendering is ~150 µs).
            # Which decisions to offer is worked out when the email is sent (workflow.worker.links), off this path.
            acting = {"user": person.name, "item_id": row.id, "version": row.version, "roles": list(person.roles)}
            context = deferred_context(
                "new_task", recipient_name=person.name, base_url=self.mail.base_url, today=today,
                confidential_states=confidential, lang=self.lang, item=item, acting=acting,
            )  # fmt: skip
            values = deferred_values(
                key=f"new_task:{row.id}:{row.version}", event="new_task", recipient=person.email,
                subject=f"{item.reference} {item.state_label}: {item.title}", context=context, now=now, item_id=row.id,
            )  # fmt: skip
            written += hot.insert_outbox(conn, values)
        return written

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
        people = [p for p in people_for_roles(conn, roles, row.holders) if kind == "escalation" or not p.digest]
        item = self.summary(definition, row, due)
        late: list[LateStep] = []
        if kind == "escalation":
            late = [*earlier_late] + [
                LateStep(person=p.name, state_label=item.state_label, due_on=due)
                for p in people_for_roles(conn, notify_roles, row.holders)
            ]
        event = REMINDER_EVENTS[kind]
        confidential = confidential_states_of(definition)
        written = 0
        for person in people:
            decisions = decisions_for(definition, row, person) if self.signer is not None else []
            actions = action_links(
                self.signer, self.mail.base_url, person.name, row.id, row.version, decisions, self.lang
            )
            message = render(
                event, recipient_name=person.name, base_url=self.mail.base_url, today=today,
                confidential_states=confidential, lang=self.lang, item=item, late_chain=late, actions=actions,
            )  # fmt: skip
            written += _enqueue(conn, key=key, event=event, recipient=person.email, message=message, now=now,
                                item_id=row.id)  # fmt: skip
        return written
