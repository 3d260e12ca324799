"""The pure core of a fire: may this person fire this trigger on this item now?

Takes a snapshot of the item and the actor and returns a :class:`Decision`, or raises
:class:`TransitionNotAllowed` / :class:`NotPermitted` naming the rule that refused.
No database, no clock: ``today`` is an argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow.core.calendar import WorkingCalendar
from workflow.core.definition import Definition, FieldSpec, Transition
from workflow.core.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.core.guards import GUARDS, FireContext, check_guards, quorum_reached
from workflow.core.machine import compiled

ActedMap = Mapping[str, Sequence[Sequence[str]]]
UNPUBLISH_AT = "unpublish_at"
"""The field that sets 有效期至: when it passes, the worker expires the item (a ``fires_at`` transition)."""
CALLER_SUPPLIED = ("requires_comment", "requires_field")
"""Guards the caller satisfies by giving a comment or a field: not a reason to hide a trigger."""


@dataclass(frozen=True)
class Person:
    """Someone who may act: their global roles, and whom they stand in for today."""

    name: str
    roles: frozenset[str]
    stands_in_for: tuple[Person, ...] = ()


@dataclass(frozen=True)
class ItemSnapshot:
    definition: Definition
    state: str
    fields: Mapping[str, Any]
    holders: Mapping[str, Sequence[str]]
    acted: ActedMap


@dataclass(frozen=True)
class Decision:
    transition: Transition
    from_state: str
    to_state: str
    principal: str
    """Whom the actor acted for; equal to the actor unless a substitute."""
    role: str
    fields: dict[str, Any]
    """The item's fields after this fire."""
    changed_fields: dict[str, Any]
    acted: dict[str, list[list[str]]]
    details: dict[str, Any] = field(default_factory=dict)
    """What the audit row records beyond the columns: late marks, quorum votes."""
    comment: str | None = None


def holds_role(person: Person, role: str, holders: Mapping[str, Sequence[str]]) -> bool:
    """A role assigned on the item binds it to those people; otherwise anyone holding it may act."""
    assigned = holders.get(role)
    if assigned:
        return person.name in assigned
    return role in person.roles


def acting_principal(person: Person, role: str, holders: Mapping[str, Sequence[str]]) -> str | None:
    """The name in whose role ``person`` acts: themself, someone they stand in for, or None."""
    if holds_role(person, role, holders):
        return person.name
    for principal in person.stands_in_for:
        if holds_role(principal, role, holders):
            return principal.name
    return None


def parse_field_value(spec: FieldSpec, raw: Any) -> Any:
    """A field's value checked against its declaration; dates are kept as ISO text."""
    if spec.type == "choice":
        if raw not in spec.choices:
            raise TransitionNotAllowed("refuse.bad_choice", field=spec.name, value=raw, allowed=", ".join(spec.choices))
        return raw
    if spec.type == "date":
        try:
            return dt.date.fromisoformat(str(raw)).isoformat()
        except ValueError:
            raise TransitionNotAllowed("refuse.bad_date", field=spec.name, value=raw) from None
    if spec.type == "datetime":
        try:
            moment = dt.datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise TransitionNotAllowed("refuse.bad_datetime", field=spec.name, value=raw) from None
        # Without an offset it is the office's local time (see field_moment).
        return moment.isoformat(timespec="minutes")
    text = str(raw)
    if not text.strip():
        raise TransitionNotAllowed("refuse.empty_field", field=spec.name)
    return text


def field_moment(value: Any, zone: dt.tzinfo) -> dt.datetime | None:
    """A stored datetime field as an aware moment; a value without an offset is office time."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def expiry_refusal(definition: Definition, fields: Mapping[str, Any], now: dt.datetime) -> TransitionNotAllowed | None:
    """有效期至 must come after the publication: after ``now`` and after any other moment the worker fires at
    (a scheduled ``publish_at``). None when the item has no 有效期至 or it is in order.

    ``now`` is aware, in office time: a moment stored without an offset is read in its zone.
    """
    zone = now.tzinfo
    assert zone is not None
    moment = field_moment(fields.get(UNPUBLISH_AT), zone)
    if moment is None:
        return None
    value = str(fields[UNPUBLISH_AT])
    for name in _timed_fields(definition) - {UNPUBLISH_AT}:
        other = field_moment(fields.get(name), zone)
        if other is not None and other > now and moment <= other:
            return TransitionNotAllowed(
                "refuse.unpublish_before_publication", field=UNPUBLISH_AT, value=value, publish_at=fields[name]
            )
    if moment <= now:
        return TransitionNotAllowed(
            "refuse.unpublish_passed", field=UNPUBLISH_AT, value=value, now=now.isoformat(timespec="minutes")
        )
    return None


def checks_expiry(definition: Definition, from_state: str, to_state: str, changed: Collection[str]) -> bool:
    """Whether a move must have its 有效期至 in order (:func:`expiry_refusal`): when it gives 有效期至 or another
    timed moment, or enters a state the worker expires items from (a publication). Anything else (a
    withdrawal, a revision) is allowed whatever the stored moment, and the worker's own fires are never held."""
    if _timed_fields(definition) & set(changed) and UNPUBLISH_AT in _timed_fields(definition):
        return True
    return to_state != from_state and any(
        t.fires_at == UNPUBLISH_AT and to_state in t.sources for t in definition.timed_transitions
    )


def fields_taken(transition: Transition) -> tuple[str, ...]:
    """The fields a fire declares: those its ``requires_field`` guard asks for, then its ``optional_fields``."""
    guard = transition.guard("requires_field")
    params = guard.params if guard is not None else None
    required = (params,) if isinstance(params, str) else tuple(str(p) for p in params or ())
    return required + tuple(name for name in transition.optional_fields if name not in required)


def _timed_fields(definition: Definition) -> set[str]:
    return {t.fires_at for t in definition.timed_transitions if t.fires_at is not None}


def check_field(definition: Definition, name: str, raw: Any) -> Any:
    """One given field: declared by the definition, and its value as its type allows."""
    spec = definition.fields.get(name)
    if spec is None:
        raise InvalidInput(
            "input.unknown_field",
            field=name,
            definition=definition.name,
            allowed=", ".join(definition.fields) or "-",
        )
    return parse_field_value(spec, raw)


def check_given_fields(definition: Definition, given: Mapping[str, Any]) -> dict[str, Any]:
    return {name: check_field(definition, name, raw) for name, raw in given.items()}


def _context(
    snapshot: ItemSnapshot,
    transition: Transition,
    actor: str,
    principal: str,
    comment: str | None,
    given: Mapping[str, Any],
    frozen: tuple[dict[str, tuple[str, ...]], dict[str, tuple[tuple[str, str], ...]]] | None = None,
) -> FireContext:
    holders, acted = frozen or _frozen(snapshot)
    return FireContext(
        definition=snapshot.definition,
        transition=transition,
        actor=actor,
        principal=principal,
        comment=comment,
        given_fields=given,
        item_fields=snapshot.fields,
        holders=holders,
        acted=acted,
    )


def _frozen(
    snapshot: ItemSnapshot,
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[tuple[str, str], ...]]]:
    """The item's holders and past actions as tuples, as the guards read them (built once per question)."""
    return (
        {role: tuple(names) for role, names in snapshot.holders.items()},
        {trigger: tuple((p[0], p[1]) for p in pairs) for trigger, pairs in snapshot.acted.items()},
    )


def decide(
    snapshot: ItemSnapshot,
    trigger: str,
    person: Person,
    *,
    comment: str | None = None,
    given_fields: Mapping[str, Any] | None = None,
    today: dt.date,
    calendar: WorkingCalendar,
    now: dt.datetime | None = None,
) -> Decision:
    """Check every rule in order (state, role, fields, guards, moments) and say what the fire does.

    With ``now`` (aware, office time) a person's fire must leave 有效期至 in order (:func:`checks_expiry`);
    the worker's timed fires are decided without it.
    """
    definition = snapshot.definition
    machine = compiled(definition)
    to_state = machine.next_state(snapshot.state, trigger)
    transition = definition.transitions_for(trigger, snapshot.state)
    assert transition is not None  # the machine and the definition are built from one list
    principal = acting_principal(person, transition.role, snapshot.holders)
    if principal is None:
        raise NotPermitted("refuse.role", person=person.name, role=transition.role, trigger=trigger)
    given = check_given_fields(definition, given_fields or {})
    for name in sorted(_timed_fields(definition) & set(given) - set(fields_taken(transition))):
        # A moment the clock moves items at (publish_at, 有效期至) is set only by the fires that declare it.
        raise TransitionNotAllowed("refuse.field_not_taken", field=name, trigger=trigger)
    ctx = _context(snapshot, transition, person.name, principal, comment, given)
    refusal = check_guards(ctx)
    if refusal is not None:
        error = NotPermitted if refusal.permission else TransitionNotAllowed
        raise error(refusal.key, **refusal.params)

    details: dict[str, Any] = {}
    acted = {key: [list(pair) for pair in pairs] for key, pairs in snapshot.acted.items()}
    pair = [person.name, principal]
    if transition.guard("quorum") is not None:
        acted.setdefault(trigger, []).append(pair)
        votes = len({p[1] for p in acted[trigger]})
        details["quorum"] = {"votes": votes, "needed": int(transition.guard("quorum").params["count"])}  # type: ignore[union-attr]
        if not quorum_reached(ctx):
            to_state = snapshot.state
    else:
        acted[trigger] = [pair]
    if to_state != snapshot.state:
        _reset_votes_on_entry(definition, to_state, acted)
    if transition.late_after is not None:
        late = _late_mark(transition, snapshot.fields, today, calendar)
        if late:
            details["late"] = late
    fields = {**snapshot.fields, **given}
    changed = {name: value for name, value in given.items() if snapshot.fields.get(name) != value}
    if now is not None and checks_expiry(definition, snapshot.state, to_state, changed):
        out_of_order = expiry_refusal(definition, fields, now)
        if out_of_order is not None:
            raise out_of_order
    return Decision(
        transition=transition,
        from_state=snapshot.state,
        to_state=to_state,
        principal=principal,
        role=transition.role,
        fields=fields,
        changed_fields=changed,
        acted=acted,
        details=details,
        comment=comment,
    )


def _reset_votes_on_entry(definition: Definition, state: str, acted: dict[str, list[list[str]]]) -> None:
    """Entering a state afresh starts its quorum votes from zero."""
    for transition in definition.transitions:
        if state in transition.sources and transition.guard("quorum") is not None:
            acted.pop(transition.trigger, None)


def _late_mark(
    transition: Transition, fields: Mapping[str, Any], today: dt.date, calendar: WorkingCalendar
) -> dict[str, Any] | None:
    mark = transition.late_after
    assert mark is not None
    start_text = fields.get(mark.from_field)
    if not start_text:
        return None
    start = dt.date.fromisoformat(str(start_text))
    counted = calendar.count(start, mark.working_days)
    if today <= counted.due:
        return None
    late: dict[str, Any] = {
        "from_field": mark.from_field,
        "from": start.isoformat(),
        "limit": counted.due.isoformat(),
        "working_days": mark.working_days,
        "on": today.isoformat(),
        "calendar": calendar.data_version(),
    }
    if counted.missing_years:
        # Counted with weekends only for these years: the mark may be wrong, and says so.
        late["calendar_missing_years"] = list(counted.missing_years)
    return late


def available_triggers(snapshot: ItemSnapshot, person: Person) -> list[str]:
    """Triggers this person could fire now, given a comment and fields where the rule asks for them."""
    definition = snapshot.definition
    found: list[str] = []
    frozen = _frozen(snapshot)
    for trigger in compiled(definition).triggers_from(snapshot.state):
        transition = definition.transitions_for(trigger, snapshot.state)
        if transition is None:
            continue
        principal = acting_principal(person, transition.role, snapshot.holders)
        if principal is None:
            continue
        ctx = _context(snapshot, transition, person.name, principal, None, {}, frozen)
        # A comment or a field is the caller's to give; every other guard (separation of
        # duties, quorum, once only) must pass, whatever its place in the declared order.
        if all(
            GUARDS[spec.name].check(ctx, spec.params) is None
            for spec in transition.guards
            if spec.name not in CALLER_SUPPLIED
        ):
            found.append(trigger)
    return found
