"""Who must act on an item now: the one rule behind the inbox, new-task notices, reminders,
digests and the decisions an email offers as links.

An item waits for the roles of its state that have a decision of their own to make: a
transition a person fires that moves the item on. Not in a terminal state; not a transition
the worker fires when its moment comes (``fires_at``: the item waits for the clock, even if
the office may fire it early); not an internal one (``dest: null``: logged, the item stays
where it is, like ``confirm_current`` that the worker's periodic check asks for). A person
is one of those who must act when they hold such a role on the item, in their own right or
standing in today for someone who does (:func:`acting_principal`). Pure: the people, with
whom they stand in for today, are passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from workflow.core.decisions import ItemSnapshot, Person, acting_principal, available_triggers
from workflow.core.definition import Definition, Transition


def is_persons_decision(transition: Transition) -> bool:
    """A decision a person takes (the worker fires the timed ones when their moment has come)."""
    return transition.fires_at is None


def moves_on(transition: Transition) -> bool:
    """A person's decision that takes the item out of its state: what an item waits for."""
    return is_persons_decision(transition) and transition.dest is not None


def roles_to_act(definition: Definition, state: str) -> tuple[str, ...]:
    """The roles of ``state`` that have a decision of their own to make; none in a terminal state."""
    spec = definition.states[state]
    if spec.terminal:
        return ()
    return tuple(
        role
        for role in spec.roles
        if any(t.role == role and state in t.sources and moves_on(t) for t in definition.transitions)
    )


def states_to_act(definition: Definition, roles: Collection[str] | None = None) -> frozenset[str]:
    """The states in which one of ``roles`` (any role when None) must act: where a reader looks for items."""
    return frozenset(
        state
        for state in definition.states
        if any(roles is None or role in roles for role in roles_to_act(definition, state))
    )


def acts_in_any(person: Person, roles: Collection[str], holders: Mapping[str, Sequence[str]]) -> bool:
    """Does ``person`` hold one of ``roles`` on the item, themself or standing in for someone today?"""
    return any(acting_principal(person, role, holders) is not None for role in roles)


def must_act(person: Person, definition: Definition, state: str, holders: Mapping[str, Sequence[str]]) -> bool:
    """Is the item (in ``state``, with these holders) waiting for a decision of ``person``'s?"""
    return acts_in_any(person, roles_to_act(definition, state), holders)


def roles_today(person: Person) -> frozenset[str]:
    """Every role ``person`` may act in today: their own and those of whom they stand in for."""
    return frozenset(role for p in (person, *person.stands_in_for) for role in p.roles)


def decisions_open_to(snapshot: ItemSnapshot, person: Person) -> list[str]:
    """The decisions ``person`` may take on the item now (what an email offers as links): the
    triggers the rules allow them (roles, separation of duties, quorum), none the worker fires."""
    definition = snapshot.definition
    return [
        trigger
        for trigger in available_triggers(snapshot, person)
        if (transition := definition.transitions_for(trigger, snapshot.state)) is not None
        and is_persons_decision(transition)
    ]


# ---- the same rule, as a database can ask it -------------------------------------------------------
# The inbox is paged in SQL, so "who must act" has to be asked of many items at once by the database.
# The rule stays here: :func:`holdings` says, for one person and the definition versions items are
# pinned to, which (states, role) pairs bind them and how; the store only spells that in SQL
# (``workflow.store.holders``), and tests hold the two to the same answers as :func:`must_act`.


@dataclass(frozen=True)
class Holding:
    """Items of ``definition`` at ``version`` in one of ``states`` are held by the person through
    ``role`` when the role is assigned on the item to one of the person's :func:`acting_names`, or,
    when it is assigned to nobody, if ``open`` (they, or someone they stand in for today, hold the role)."""

    definition: str
    version: str
    states: frozenset[str]
    role: str
    open: bool


def acting_names(person: Person) -> tuple[str, ...]:
    """The names whose assignment binds ``person``: their own and those of whom they stand in for today."""
    return (person.name, *(principal.name for principal in person.stands_in_for))


def holdings(person: Person, definition: Definition, roles_in_state: Mapping[str, Collection[str]]) -> list[Holding]:
    """``roles_in_state`` (state -> roles) as :class:`Holding` rows for ``person``, one per role: the
    shape :func:`holds_role` and :func:`acting_principal` give, over every state and role at once."""
    open_roles = roles_today(person)
    states_of_role: dict[str, set[str]] = {}
    for state, roles in roles_in_state.items():
        for role in roles:
            states_of_role.setdefault(role, set()).add(state)
    return [
        Holding(definition.name, definition.version, frozenset(states), role, role in open_roles)
        for role, states in sorted(states_of_role.items())
    ]


def holdings_to_act(person: Person, definitions: Iterable[Definition]) -> list[Holding]:
    """Where items wait for ``person`` (:func:`must_act`): the roles to act in each state, as holdings."""
    return [
        holding
        for definition in definitions
        for holding in holdings(person, definition, {s: roles_to_act(definition, s) for s in definition.states})
    ]
