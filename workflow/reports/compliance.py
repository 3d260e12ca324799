"""The compliance check: every departure from the declared chains that the stored data shows.

The rules are pure functions over plain rows (:mod:`workflow.store.compliance_rows`): an item's
stored row and its audit history, the chain's people changes replayed, the pinned definition
versions and the office calendar go in; findings come out, each naming the item, the rule (a stable
code and a sentence in Chinese or English) and the audit entries involved. Nothing here trusts the
engine to have written the rows: an item updated by hand, a row inserted with plain SQL or a person
given a role in the tables alone is read as it is stored, and judged against the log and the
definitions.

:func:`check_database` is the only function that reads (through the store, in bounded batches).
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from workflow.core.assignment import ASSIGN_TRIGGER
from workflow.core.authoring import CREATE_TRIGGER, EDIT_TRIGGER
from workflow.core.calendar import WorkingCalendar
from workflow.core.chain import content_hash
from workflow.core.deadlines import Event, item_deadlines
from workflow.core.definition import Definition
from workflow.core.i18n import N_, Nn_, translator
from workflow.core.office import publishes
from workflow.core.personnel import ACCOUNT_PREFIX, ADMIN, AS_ACCOUNT, AS_SELF, SYSTEM_ACTOR
from workflow.core.publication import CHANNEL_RETRY_TRIGGER, CHANNEL_TRIGGER
from workflow.store.compliance_rows import (
    ItemHistory,
    Step,
    StoredPerson,
    item_histories,
    orphan_steps,
    people_steps,
    stored_people,
)

# ---- the rules: stable codes (JSON, emails and the worker's memory compare them) -------------------

STATE_UNEXPLAINED = "state_unexplained"
NOT_CLEARED = "publication_not_cleared"
SAME_PERSON = "cleared_and_signed_by_same_person"
DRAFTER_CLEARED = "drafter_cleared_own"
ROLE_NOT_HELD = "role_not_held"
STEP_NOT_ALLOWED = "step_not_allowed"
DEADLINE_MISSED = "deadline_missed"
REFUSAL_WITHOUT_REASON = "refusal_without_reason"
PERSON_UNEXPLAINED = "person_unexplained"

RULES: dict[str, str] = {
    STATE_UNEXPLAINED: N_("The stored item is what its audit log leaves it"),
    NOT_CLEARED: N_("Published only after a confidentiality review cleared the same content"),
    SAME_PERSON: N_("The one who clears is not the one who signs off"),
    DRAFTER_CLEARED: N_("Nobody clears their own draft"),
    ROLE_NOT_HELD: N_("Each step by someone who held the role then (or stood in for a holder)"),
    STEP_NOT_ALLOWED: N_("Each step a transition of the item's pinned definition version"),
    DEADLINE_MISSED: N_("Time limits kept"),
    REFUSAL_WITHOUT_REASON: N_("A refusal gives its reason"),
    PERSON_UNEXPLAINED: N_("A person's stored roles are what the audit log leaves them"),
}
"""Each rule's code and what it asks, in English source (translated by the catalogues)."""

TEXTS: dict[str, str | tuple[str, str]] = {
    "state": N_("the item is stored in state %(stored)s, but its audit log leaves it in %(logged)s"),
    "version": N_("the item is stored at version %(stored)s, but its audit log records %(logged)s changes"),
    "content": N_("the item's stored content hash %(stored)s is not the one its last audit entry records (%(logged)s)"),
    "text": N_("the item's stored text does not hash to its content hash %(stored)s: it was changed by hand"),
    "gap": N_("entry #%(seq)s starts from state %(stored)s, but the entry before left the item in %(logged)s"),
    "no_create": N_("the audit log has no creation entry for the item"),
    "missing": N_("the audit log names this item, but the items table no longer holds it"),
    "pinned": N_("the item is pinned to definition version %(stored)s, but entry #%(seq)s records %(logged)s"),
    "not_cleared": N_("published at entry #%(seq)s with content %(hash)s, which no confidentiality review cleared"),
    "same_person": N_("%(person)s cleared it (entry #%(cleared)s) and signed it off (entry #%(signed)s)"),
    "drafter_cleared": N_("%(person)s cleared it (entry #%(cleared)s) after drafting it (entry #%(drafted)s)"),
    "role_not_held": N_("%(person)s did not hold the role %(role)s at entry #%(seq)s (%(trigger)s)"),
    "not_a_person": N_("%(person)s was no person of the audit log at entry #%(seq)s (%(trigger)s)"),
    "inactive": N_("%(person)s was deactivated at entry #%(seq)s (%(trigger)s)"),
    "not_delegated": N_(
        "%(actor)s acted for %(principal)s at entry #%(seq)s (%(trigger)s) without a substitution for %(day)s"
    ),
    "system_untimed": N_("the system fired %(trigger)s at entry #%(seq)s, which is not a timed transition"),
    "account_on_item": N_("the account %(person)s acted on the item at entry #%(seq)s (%(trigger)s)"),
    "not_allowed": N_(
        "entry #%(seq)s (%(trigger)s: %(from_state)s -> %(to_state)s as %(role)s) is not a transition of "
        "definition version %(version)s"
    ),
    "version_missing": N_("entry #%(seq)s names definition version %(version)s of %(definition)s, which is not stored"),
    "late": Nn_(
        "%(deadline)s was due on %(due)s and met on %(met)s: %(num)s working day late",
        "%(deadline)s was due on %(due)s and met on %(met)s: %(num)s working days late",
    ),
    "overdue": Nn_(
        "%(deadline)s was due on %(due)s and is still open on %(met)s: %(num)s working day late",
        "%(deadline)s was due on %(due)s and is still open on %(met)s: %(num)s working days late",
    ),
    "withhold_no_reason": N_("%(trigger)s at entry #%(seq)s gives no reason (no comment)"),
    "refusal_no_reason": N_(
        "answered at entry #%(answered)s with the refusal %(outcome)s, set at entry #%(seq)s without a reason"
    ),
    "person_roles": N_("%(person)s is stored with roles %(stored)s, but the audit log leaves them %(logged)s"),
    "person_active": N_("%(person)s is stored as active=%(stored)s, but the audit log leaves them active=%(logged)s"),
    "person_unknown": N_("%(person)s is stored, but the audit log never added them"),
}
"""What one finding says, by variant; ``%(num)s`` texts have a plural form."""

SIGN_OFF_TRIGGERS = frozenset({"sign_off", "schedule"})
CLEAR_TRIGGER = "clear"
DRAFT_TRIGGERS = frozenset({"submit", "draft_reply"})
WITHHOLD_TRIGGER = "withhold"
REFUSAL_PREFIX = "refused_"
REASON_FIELDS = ("reason", "refusal_reason")
UNVERSIONED = frozenset({CHANNEL_TRIGGER, CHANNEL_RETRY_TRIGGER})
"""Audit rows about an item that do not change it (a channel's work): the item's version stays."""
STAYS = frozenset({EDIT_TRIGGER, ASSIGN_TRIGGER, CHANNEL_TRIGGER, CHANNEL_RETRY_TRIGGER})
"""Engine actions that are no transition: the item stays in its state."""


@dataclass(frozen=True)
class Finding:
    """One departure: what it is about, the rule, the entries involved and the day it happened (office time)."""

    code: str
    variant: str
    subject: str
    """The item's reference, or ``person NAME`` for a people change."""
    item_id: int | None
    seqs: tuple[int, ...]
    on: dt.date
    params: Mapping[str, Any] = field(default_factory=dict)
    identity: str = ""
    """What makes it the same finding on the next run, beside code and subject (default: the entries)."""

    @property
    def key(self) -> str:
        """Stable across runs: the worker tells the auditors of each finding once."""
        raw = f"{self.code}|{self.subject}|{self.identity or ','.join(map(str, self.seqs))}"
        return f"compliance:{hashlib.sha256(raw.encode('utf-8')).hexdigest()[:40]}"

    def message(self, lang: str) -> str:
        t = translator(lang)
        params = {key: (value.get(lang, value.get("zh")) if isinstance(value, dict) else value)
                  for key, value in self.params.items()}  # fmt: skip
        text = TEXTS[self.variant]
        if isinstance(text, tuple):
            return t.ngettext(text[0], text[1], int(params.get("num") or 0), **params)
        return t._(text, **params)

    def rule(self, lang: str) -> str:
        return translator(lang)._(RULES[self.code])

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.subject,
            "item_id": self.item_id,
            "rule": self.code,
            "rule_text": {lang: self.rule(lang) for lang in ("zh", "en")},
            "message": {lang: self.message(lang) for lang in ("zh", "en")},
            "entries": list(self.seqs),
            "on": self.on.isoformat(),
            "key": self.key,
            "details": {k: v for k, v in self.params.items() if not isinstance(v, dict)},
        }


# ---- people replayed from the chain ------------------------------------------------------------------


@dataclass(frozen=True)
class PersonState:
    roles: frozenset[str]
    active: bool


@dataclass(frozen=True)
class Substitution:
    seq: int
    principal: str
    substitute: str
    starts_on: dt.date
    ends_on: dt.date


class PeopleTimeline:
    """Who held which roles after each people change of the chain, and the substitutions named."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self._seqs: dict[str, list[int]] = {}
        self._states: dict[str, list[PersonState]] = {}
        self.substitutions: list[Substitution] = []
        self.steps: list[Step] = []
        for step in steps:
            self.steps.append(step)
            self._replay(step)

    def _replay(self, step: Step) -> None:
        name = step.person
        if name is None:
            return
        before = self.now(name)
        details = step.details
        state: PersonState | None = None
        if step.trigger == "person.add":
            state = PersonState(frozenset(str(r) for r in details.get("roles", ())), True)
        elif before is None:
            return
        elif step.trigger == "person.roles":
            if isinstance(details.get("roles"), list):
                roles = frozenset(str(r) for r in details["roles"])
            else:
                roles = (before.roles | set(details.get("granted", ()))) - set(details.get("removed", ()))
            state = PersonState(roles, before.active)
        elif step.trigger in ("person.deactivate", "person.activate"):
            state = PersonState(before.roles, step.trigger == "person.activate")
        elif step.trigger == "person.delegate":
            try:
                starts = dt.date.fromisoformat(str(details["from"]))
                ends = dt.date.fromisoformat(str(details["until"]))
            except (KeyError, ValueError):
                return
            self.substitutions.append(Substitution(step.seq, name, str(details.get("substitute")), starts, ends))
        if state is not None:
            self._seqs.setdefault(name, []).append(step.seq)
            self._states.setdefault(name, []).append(state)

    def now(self, name: str) -> PersonState | None:
        states = self._states.get(name)
        return states[-1] if states else None

    def at(self, name: str, seq: int) -> PersonState | None:
        """The person as the chain stood just before entry ``seq``; None if not yet added."""
        seqs = self._seqs.get(name)
        if not seqs:
            return None
        index = bisect.bisect_left(seqs, seq)
        return self._states[name][index - 1] if index else None

    def stands_in(self, substitute: str, principal: str, seq: int, day: dt.date) -> Substitution | None:
        for sub in self.substitutions:
            ours = sub.seq < seq and sub.principal == principal and sub.substitute == substitute
            if ours and sub.starts_on <= day <= sub.ends_on:
                return sub
        return None

    def names(self) -> list[str]:
        return sorted(self._states)


# ---- the rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What every rule may consult besides the rows."""

    definitions: Mapping[tuple[str, str], Definition]
    people: PeopleTimeline
    calendar: WorkingCalendar
    zone: dt.tzinfo
    as_of: dt.date
    """Open deadlines are judged as of this day (the end of the range, or today)."""

    def day(self, step: Step) -> dt.date:
        return step.at.astimezone(self.zone).date()


def check_item(history: ItemHistory, ctx: Context) -> list[Finding]:
    """Every finding about one item, in the order of its entries."""
    found: list[Finding] = []
    for rule in ITEM_RULES:
        found.extend(rule(history, ctx))
    return sorted(found, key=lambda f: (f.seqs[-1] if f.seqs else 0, f.code))


def _finding(history: ItemHistory, code: str, variant: str, steps: Sequence[Step], ctx: Context,
             identity: str = "", on: dt.date | None = None, **params: Any) -> Finding:  # fmt: skip
    day = on or (ctx.day(steps[-1]) if steps else ctx.as_of)
    return Finding(code, variant, history.item.reference, history.item.id, tuple(s.seq for s in steps), day,
                   params, identity)  # fmt: skip


def state_unexplained(history: ItemHistory, ctx: Context) -> Iterator[Finding]:
    """The stored item (state, version, content hash, text, pinned version) against what its log leaves."""
    item, steps = history.item, history.steps
    if not steps:
        yield _finding(history, STATE_UNEXPLAINED, "no_create", (), ctx, identity="no_create")
        return
    if steps[0].trigger != CREATE_TRIGGER:
        yield _finding(history, STATE_UNEXPLAINED, "no_create", steps[:1], ctx, identity="no_create")
    for before, step in itertools.pairwise(steps):
        if step.from_state != before.to_state:
            yield _finding(history, STATE_UNEXPLAINED, "gap", (before, step), ctx,
                           seq=step.seq, stored=step.from_state or "-", logged=before.to_state or "-")  # fmt: skip
    for step in steps:
        if step.definition_version != item.definition_version:
            logged = (step.definition_version or "-")[:12]
            yield _finding(history, STATE_UNEXPLAINED, "pinned", (step,), ctx, identity="pinned", seq=step.seq,
                           stored=item.definition_version[:12], logged=logged)  # fmt: skip
            break
    last = steps[-1]
    if item.state != last.to_state:
        yield _finding(history, STATE_UNEXPLAINED, "state", (last,), ctx, identity=f"state:{item.state}",
                       stored=item.state, logged=last.to_state or "-")  # fmt: skip
    changes = sum(1 for step in steps if step.trigger not in UNVERSIONED)
    if item.version != changes:
        yield _finding(history, STATE_UNEXPLAINED, "version", (last,), ctx, identity=f"version:{item.version}",
                       stored=item.version, logged=changes)  # fmt: skip
    if item.content_hash != last.content_hash:
        yield _finding(history, STATE_UNEXPLAINED, "content", (last,), ctx, identity=f"content:{item.content_hash}",
                       stored=item.content_hash[:12], logged=(last.content_hash or "-")[:12])  # fmt: skip
    elif content_hash(item.title, item.body, item.category, item.fields, item.meta) != item.content_hash:
        yield _finding(history, STATE_UNEXPLAINED, "text", (last,), ctx, identity=f"text:{item.content_hash}",
                       stored=item.content_hash[:12])  # fmt: skip


def publication_not_cleared(history: ItemHistory, ctx: Context) -> Iterator[Finding]:
    """A move into ``published`` must carry the content hash a ``clear`` recorded.

    The clearance follows a decision that sets declared fields (有效期至 at sign-off, the time of a
    scheduled publication: the reviewed text is unchanged), and is lost by any other change of the
    content (an edit) and by a move back to the definition's first state (sent back, revised).
    """
    cleared: Step | None = None
    cleared_hash: str | None = None
    previous_hash: str | None = None
    for step in history.steps:
        definition = ctx.definitions.get((step.definition or "", step.definition_version or ""))
        if step.trigger == CLEAR_TRIGGER:
            cleared, cleared_hash = step, step.content_hash
        elif step.content_hash != previous_hash and cleared_hash is not None:
            declared = step.trigger not in STAYS and step.trigger != CREATE_TRIGGER and bool(step.fields)
            cleared_hash = step.content_hash if declared and previous_hash == cleared_hash else None
        if definition is not None and step.from_state != step.to_state and step.to_state == definition.initial:
            cleared, cleared_hash = None, None
        publishing = step.from_state is not None and step.to_state is not None and \
            publishes(step.from_state, step.to_state)  # fmt: skip
        if publishing and (cleared_hash is None or cleared_hash != step.content_hash):
            involved = (cleared, step) if cleared is not None else (step,)
            yield _finding(history, NOT_CLEARED, "not_cleared", involved, ctx, identity=str(step.seq),
                           seq=step.seq, hash=(step.content_hash or "-")[:12])  # fmt: skip
        previous_hash = step.content_hash


def _persons(step: Step) -> set[str]:
    return {step.actor} | ({step.on_behalf_of} if step.on_behalf_of else set())


def separation_of_duties(history: ItemHistory, ctx: Context) -> Iterator[Finding]:
    """Whoever cleared an item did not sign it off, nor draft it (created it or submitted it)."""
    creator: Step | None = None
    drafted: Step | None = None
    cleared: Step | None = None
    for step in history.steps:
        definition = ctx.definitions.get((step.definition or "", step.definition_version or ""))
        if step.trigger == CREATE_TRIGGER:
            creator = step if definition is None or definition.assign_creator else None
        elif step.trigger in DRAFT_TRIGGERS:
            drafted, cleared = step, None
        elif step.trigger == CLEAR_TRIGGER:
            cleared = step
            for earlier in (creator, drafted):
                if earlier is not None and (same := _persons(earlier) & _persons(step)):
                    person = sorted(same)[0]
                    yield _finding(history, DRAFTER_CLEARED, "drafter_cleared", (earlier, step), ctx,
                                   person=person, cleared=step.seq, drafted=earlier.seq)  # fmt: skip
                    break
        elif step.trigger in SIGN_OFF_TRIGGERS and cleared is not None and (same := _persons(cleared) & _persons(step)):
            yield _finding(history, SAME_PERSON, "same_person", (cleared, step), ctx,
                           person=sorted(same)[0], cleared=cleared.seq, signed=step.seq)  # fmt: skip


def role_not_held(history: ItemHistory, ctx: Context) -> Iterator[Finding]:
    """Each step by a person who held its role at that entry, or a substitute for a holder on that day."""
    for step in history.steps:
        if step.trigger in UNVERSIONED:
            continue
        definition = ctx.definitions.get((step.definition or "", step.definition_version or ""))
        params: dict[str, Any] = {"seq": step.seq, "trigger": step.trigger}
        if step.actor == SYSTEM_ACTOR:
            transition = definition.transitions_for(step.trigger, step.from_state or "") if definition else None
            if transition is not None and transition.fires_at is None:
                yield _finding(history, ROLE_NOT_HELD, "system_untimed", (step,), ctx, **params)
            continue
        if step.actor.startswith(ACCOUNT_PREFIX):
            yield _finding(history, ROLE_NOT_HELD, "account_on_item", (step,), ctx, person=step.actor, **params)
            continue
        problem = _authority(ctx, step, step.role)
        if problem is not None:
            variant, extra = problem
            yield _finding(history, ROLE_NOT_HELD, variant, (step,), ctx, **params, **extra)


def _authority(ctx: Context, step: Step, role: str) -> tuple[str, dict[str, Any]] | None:
    """Why the step's actor could not act in ``role`` then, or None when they could."""
    principal = step.principal
    held = ctx.people.at(principal, step.seq)
    if held is None:
        return "not_a_person", {"person": principal}
    if role not in held.roles:
        return "role_not_held", {"person": principal, "role": role}
    if step.on_behalf_of and step.on_behalf_of != step.actor:
        actor = ctx.people.at(step.actor, step.seq)
        if actor is None:
            return "not_a_person", {"person": step.actor}
        if not actor.active:
            return "inactive", {"person": step.actor}
        day = ctx.day(step)
        if ctx.people.stands_in(step.actor, principal, step.seq, day) is None:
            return "not_delegated", {"actor": step.actor, "principal": principal, "day": day.isoformat()}
    elif not held.active:
        return "inactive", {"person": principal}
    return None


def step_not_allowed(history: ItemHistory, ctx: Context) -> Iterator[Finding]:
    """Each entry a move the item's pinned definition version declares (or an engine action that stays)."""
    for step in history.steps:
        key = (step.definition or "", step.definition_version or "")
        definition = ctx.definitions.get(key)
        if definition is None:
            yield _finding(history, STEP_NOT_ALLOWED, "version_missing", (step,), ctx, identity=f"version:{key}",
                           seq=step.seq, version=key[1][:12], definition=key[0])  # fmt: skip
            return
        if not _allowed(definition, step):
            yield _finding(history, STEP_NOT_ALLOWED, "not_allowed", (step,), ctx, seq=step.seq, trigger=step.trigger,
                           from_state=step.from_state or "-", to_state=step.to_state or "-", role=step.role,
                           version=definition.version[:12])  # fmt: skip


def _allowed(definition: Definition, step: Step) -> bool:
    if step.trigger == CREATE_TRIGGER:
        return step.from_state is None and step.to_state == definition.initial and step.role == definition.creator_role
    if step.to_state not in definition.states:
        return False
    if step.trigger in STAYS:
        if step.from_state != step.to_state:
            return False
        return step.trigger != EDIT_TRIGGER or definition.states[step.to_state or ""].editable
    transition = definition.transitions_for(step.trigger, step.from_state or "")
    if transition is None or transition.role != step.role:
        return False
    if step.to_state == (transition.dest or step.from_state):
        return True
    return "quorum" in step.details and step.to_state == step.from_state  # a vote short of the quorum


def deadline_missed(history: ItemHistory, ctx: Context) -> Iterator[Finding]:
    """Every deadline of the definition, recomputed from the audit history (not from the stored deadline
    rows, which a hand could change): met late, or still open past its due day on ``ctx.as_of``."""
    steps = history.steps
    if not steps or steps[0].trigger != CREATE_TRIGGER:
        return
    definition = ctx.definitions.get((steps[0].definition or "", steps[0].definition_version or ""))
    if definition is None:
        return
    fields: dict[str, Any] = {}
    for step in steps:
        fields.update(step.fields)
    state_policies = {f"state:{spec.policy.start_state}" for spec in definition.deadlines}
    events = [Event(ctx.day(s), s.trigger, s.from_state, s.to_state or "") for s in steps]
    try:
        found = item_deadlines(definition, steps[-1].to_state or "", events, fields, ctx.calendar, ctx.as_of)
    except ValueError:
        found = []  # a start date that does not parse: the definition's own field check reports it
    for deadline in found:
        status, policy = deadline.status, deadline.policy
        if policy.name in state_policies or status.due is None:
            continue
        label = {"zh": deadline.label_zh, "en": deadline.label_en}
        if status.status == "met_late" and status.met_on is not None:
            done = [s for s in steps if ctx.day(s) == status.met_on and s.from_state != s.to_state] or [steps[-1]]
            yield _late(history, ctx, label, policy.name, status.due, status.met_on, done[-1:], "late")
        elif status.status in ("running", "paused") and ctx.as_of > status.due:
            yield _late(history, ctx, label, policy.name, status.due, ctx.as_of, steps[-1:], "overdue")
    yield from _state_visits(history, definition, ctx)


def _state_visits(history: ItemHistory, definition: Definition, ctx: Context) -> Iterator[Finding]:
    """Each stay in a state with a deadline of its own, entered and left (or still there) late."""
    specs = {spec.policy.start_state: spec for spec in definition.deadlines
             if spec.policy.name == f"state:{spec.policy.start_state}"}  # fmt: skip
    entered: Step | None = None
    for step in (*history.steps, None):
        if step is not None and step.from_state == step.to_state:
            continue
        if entered is not None and (spec := specs.get(entered.to_state)) is not None:
            start = ctx.day(entered)
            policy = spec.policy
            due = (start + dt.timedelta(days=policy.working_days) if policy.calendar_days
                   else ctx.calendar.add_working_days(start, policy.working_days))  # fmt: skip
            left = ctx.day(step) if step is not None else ctx.as_of
            if left > due:
                label = {"zh": spec.label.zh, "en": spec.label.en}
                involved = (entered, step) if step is not None else (entered,)
                yield _late(history, ctx, label, policy.name, due, left, involved, "late" if step else "overdue",
                            identity=f"{policy.name}:{entered.seq}")  # fmt: skip
        entered = step


def _late(history: ItemHistory, ctx: Context, label: dict[str, str], kind: str, due: dt.date, done: dt.date,
          steps: Sequence[Step], variant: str, identity: str = "") -> Finding:  # fmt: skip
    days = working_days_after(ctx.calendar, due, done)
    return _finding(history, DEADLINE_MISSED, variant, steps, ctx, identity=identity or f"{kind}:{due.isoformat()}",
                    on=min(done, due + dt.timedelta(days=1)) if variant == "overdue" else done,
                    deadline=label, kind=kind, due=due.isoformat(), met=done.isoformat(), num=days)  # fmt: skip


def working_days_after(calendar: WorkingCalendar, due: dt.date, done: dt.date) -> int:
    """Working days after ``due`` up to and including ``done``: how late a step was."""
    days, day = 0, due
    while day < done:
        day += dt.timedelta(days=1)
        days += calendar.is_working_day(day)
    return days


def refusal_without_reason(history: ItemHistory, ctx: Context) -> Iterator[Finding]:
    """``withhold`` with no comment; an application answered with a refusal whose entry gave no reason."""
    fields: dict[str, Any] = {}
    outcome: Step | None = None
    reasoned = False
    for step in history.steps:
        fields.update(step.fields)
        if step.trigger == WITHHOLD_TRIGGER and not (step.comment or "").strip():
            yield _finding(history, REFUSAL_WITHOUT_REASON, "withhold_no_reason", (step,), ctx,
                           seq=step.seq, trigger=step.trigger)  # fmt: skip
        if "outcome" in step.fields:
            outcome = step
            reasoned = bool((step.comment or "").strip()) or any(
                str(fields.get(f) or "").strip() for f in REASON_FIELDS
            )
        elif outcome is not None and any(str(step.fields.get(f) or "").strip() for f in REASON_FIELDS):
            reasoned = True
        definition = ctx.definitions.get((step.definition or "", step.definition_version or ""))
        terminal = definition is not None and step.to_state in definition.states and \
            definition.states[step.to_state or ""].terminal  # fmt: skip
        if terminal and step.from_state != step.to_state and outcome is not None and not reasoned:
            value = str(fields.get("outcome") or "")
            if value.startswith(REFUSAL_PREFIX):
                yield _finding(history, REFUSAL_WITHOUT_REASON, "refusal_no_reason", (outcome, step), ctx,
                               seq=outcome.seq, answered=step.seq, outcome=value)  # fmt: skip


ITEM_RULES: tuple[Callable[[ItemHistory, Context], Iterator[Finding]], ...] = (
    state_unexplained,
    publication_not_cleared,
    separation_of_duties,
    role_not_held,
    step_not_allowed,
    deadline_missed,
    refusal_without_reason,
)


def check_orphans(orphans: Mapping[int, Sequence[Step]], ctx: Context) -> Iterator[Finding]:
    """Audit rows of an item the items table no longer holds."""
    for item_id, steps in orphans.items():
        if not steps:
            continue
        reference = str(steps[0].details.get("reference") or f"#{item_id}")
        yield Finding(STATE_UNEXPLAINED, "missing", reference, item_id, tuple(s.seq for s in steps[-1:]),
                      ctx.day(steps[-1]), {}, "missing")  # fmt: skip


def check_people(stored: Iterable[StoredPerson], ctx: Context) -> Iterator[Finding]:
    """People changes by someone without the authority, and people stored unlike the log leaves them."""
    for step in ctx.people.steps:
        subject = f"person {step.person or '-'}"
        problem: tuple[str, dict[str, Any]] | None = None
        if step.role == AS_ACCOUNT:
            if not step.actor.startswith(ACCOUNT_PREFIX):
                problem = ("role_not_held", {"person": step.actor, "role": AS_ACCOUNT})
        elif step.role == AS_SELF:
            if step.actor != step.person:
                problem = ("role_not_held", {"person": step.actor, "role": AS_SELF})
        else:
            problem = _authority(ctx, step, ADMIN)
        if problem is not None:
            variant, extra = problem
            yield Finding(ROLE_NOT_HELD, variant, subject, None, (step.seq,), ctx.day(step),
                          {"seq": step.seq, "trigger": step.trigger, **extra})  # fmt: skip
    last_day = ctx.day(ctx.people.steps[-1]) if ctx.people.steps else ctx.as_of
    for person in stored:
        logged = ctx.people.now(person.name)
        subject = f"person {person.name}"
        if logged is None:
            yield Finding(PERSON_UNEXPLAINED, "person_unknown", subject, None, (), last_day, {"person": person.name},
                          "unknown")  # fmt: skip
        elif logged.roles != person.roles:
            stored_roles, logged_roles = ", ".join(sorted(person.roles)), ", ".join(sorted(logged.roles))
            yield Finding(PERSON_UNEXPLAINED, "person_roles", subject, None, (), last_day,
                          {"person": person.name, "stored": stored_roles or "-", "logged": logged_roles or "-"},
                          f"roles:{stored_roles}")  # fmt: skip
        elif logged.active != person.active:
            yield Finding(PERSON_UNEXPLAINED, "person_active", subject, None, (), last_day,
                          {"person": person.name, "stored": person.active, "logged": logged.active},
                          f"active:{person.active}")  # fmt: skip


def in_range(finding: Finding, start: dt.date | None, end: dt.date | None) -> bool:
    return (start is None or finding.on >= start) and (end is None or finding.on <= end)


def check_database(
    db: Engine,
    definitions: Mapping[tuple[str, str], Definition],
    calendar: WorkingCalendar,
    zone: dt.tzinfo,
    today: dt.date,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Iterator[Finding]:
    """Every finding the database shows on its day within [start, end] (both optional, office dates).

    Open deadlines are judged as of ``end`` when it is given (and before ``today``), else ``today``.
    """
    as_of = min(end, today) if end is not None else today
    ctx = Context(definitions, PeopleTimeline(people_steps(db)), calendar, zone, as_of)
    people = [f for f in check_people(stored_people(db), ctx) if in_range(f, start, end)]
    yield from people
    for history in item_histories(db):
        for finding in check_item(history, ctx):
            if in_range(finding, start, end):
                yield finding
    for finding in check_orphans(orphan_steps(db), ctx):
        if in_range(finding, start, end):
            yield finding
