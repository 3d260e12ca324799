"""The pure core of an assignment: may this person hand this role on this item to that person?

An assignment binds a role on one item to one person (``holders``). It is refused, naming the rule,
when the assigner does not hold a role the definition lets assign (``assigned_by``), when the
assignee lacks the role, and when separation of duties would forbid the assignee what the role is
for: the definition's separation guards (``not_same_actor_as``) of every transition the assignee
would then fire are evaluated against them, given the item's holders and past actions. So the
drafter is never made the item's confidentiality reviewer, leaving nobody who may clear it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.definition import Definition
from workflow.core.errors import InvalidInput, NotFound, NotPermitted, TransitionNotAllowed
from workflow.core.guards import FireContext, check_separation

ASSIGN_TRIGGER = "assign"


@dataclass(frozen=True)
class Assignment:
    state: str
    role: str
    """The role handed on."""
    assignee: str
    holders: dict[str, list[str]]
    """The item's holders after the assignment."""
    acting_role: str
    """The assigner's role that allows it (one of the definition's ``assigned_by``)."""
    details: dict[str, Any]


def acting_roles(definition: Definition) -> set[str]:
    """The roles that act somewhere in the definition: the roles an item can have holders for."""
    return {t.role for t in definition.transitions} | {r for s in definition.states.values() for r in s.roles}


def decide_assign(
    snapshot: ItemSnapshot, role: str, assignee_name: str, assignee: Person | None, assigner: Person
) -> Assignment:
    """Rules in order: the item is open, the assigner may assign, the role acts here, the assignee
    exists and holds it, and separation of duties allows it."""
    definition = snapshot.definition
    if definition.states[snapshot.state].terminal:
        raise TransitionNotAllowed("refuse.assign_terminal", state=snapshot.state)
    acting_role = next((r for r in definition.assigned_by if r in assigner.roles), None)
    if acting_role is None:
        raise NotPermitted("refuse.assign_role", person=assigner.name, roles=", ".join(definition.assigned_by))
    roles_here = acting_roles(definition)
    if role not in roles_here:
        raise InvalidInput(
            "input.role_not_in_definition", role=role, definition=definition.name, allowed=", ".join(sorted(roles_here))
        )
    if assignee is None:
        raise NotFound("notfound.user", name=assignee_name)
    if role not in assignee.roles:
        raise InvalidInput("input.assignee_lacks_role", person=assignee.name, role=role)
    holders = {key: list(names) for key, names in snapshot.holders.items()}
    previous = holders.get(role, [])
    if previous == [assignee.name]:
        raise InvalidInput("input.already_assigned", person=assignee.name, role=role)
    holders[role] = [assignee.name]
    _check_separation(snapshot, role, assignee.name, holders)
    return Assignment(
        state=snapshot.state,
        role=role,
        assignee=assignee.name,
        holders=holders,
        acting_role=acting_role,
        details={"role": role, "to": assignee.name, "from": previous},
    )


def _check_separation(snapshot: ItemSnapshot, role: str, assignee: str, holders: Mapping[str, Sequence[str]]) -> None:
    """Every transition the assignee would fire on this item once assigned must let them, as far as
    separation of duties goes (comments, fields and states are for when they act)."""
    frozen_holders = {key: tuple(names) for key, names in holders.items()}
    acted = {trigger: tuple((p[0], p[1]) for p in pairs) for trigger, pairs in snapshot.acted.items()}
    for transition in snapshot.definition.transitions:
        if transition.role != role and assignee not in frozen_holders.get(transition.role, ()):
            continue
        ctx = FireContext(
            definition=snapshot.definition,
            transition=transition,
            actor=assignee,
            principal=assignee,
            comment=None,
            given_fields={},
            item_fields=snapshot.fields,
            holders=frozen_holders,
            acted=acted,
        )
        refusal = check_separation(ctx)
        if refusal is None:
            continue
        clash = refusal.params.get("role") if refusal.key == "refuse.separation_role" else refusal.params.get("other")
        kind = "role" if refusal.key == "refuse.separation_role" else "trigger"
        raise NotPermitted(
            f"refuse.assign_separation_{kind}",
            person=assignee,
            role=role,
            other=clash,
            trigger=transition.trigger,
        )


def assignable_roles(snapshot: ItemSnapshot, assigner: Person) -> list[str]:
    """The roles ``assigner`` may hand on this item now (sorted): every role that acts in the definition,
    while the item is open and the assigner holds one of its ``assigned_by`` roles; else none."""
    definition = snapshot.definition
    if definition.states[snapshot.state].terminal or not set(definition.assigned_by) & assigner.roles:
        return []
    return sorted(acting_roles(definition))


def eligible_assignees(snapshot: ItemSnapshot, role: str, candidates: Sequence[Person], assigner: Person) -> list[str]:
    """The names among ``candidates`` (active people) to whom ``assigner`` may hand ``role`` on this item:
    exactly those :func:`decide_assign` would accept, asked of it for each (the same rule, one home)."""
    eligible = []
    for candidate in candidates:
        try:
            decide_assign(snapshot, role, candidate.name, candidate, assigner)
        except (InvalidInput, NotFound, NotPermitted, TransitionNotAllowed):
            continue
        eligible.append(candidate.name)
    return eligible
