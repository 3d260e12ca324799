"""Named guards a definition may refer to. Pure: no database, no clock.

A guard looks at a :class:`FireContext` and returns ``None`` (allowed) or a
:class:`Refusal` naming the rule. Each guard also validates its own parameters
so that a definition is checked the moment it is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workflow.core.definition import Definition, Transition


@dataclass(frozen=True)
class Refusal:
    key: str
    params: Mapping[str, Any]
    permission: bool = False
    """True when the rule is about who acts (role, separation of duties)."""


@dataclass(frozen=True)
class FireContext:
    definition: Definition
    transition: Transition
    actor: str
    principal: str
    """Whom the actor stands in for; the actor themself unless a substitute."""
    comment: str | None
    given_fields: Mapping[str, str]
    item_fields: Mapping[str, Any]
    holders: Mapping[str, tuple[str, ...]]
    """The people assigned to each role on this item."""
    acted: Mapping[str, tuple[tuple[str, str], ...]]
    """For each trigger, (actor, principal) of its last firing; every vote for a quorum."""

    @property
    def persons(self) -> set[str]:
        return {self.actor, self.principal}

    def persons_who_fired(self, trigger: str) -> set[str]:
        return {person for pair in self.acted.get(trigger, ()) for person in pair}


ParamProblem = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class GuardKind:
    check: Callable[[FireContext, Any], Refusal | None]
    validate: Callable[[Any], list[ParamProblem]]
    """Checks the parameters' shape; names are checked against the definition by validation."""


def _requires_comment(ctx: FireContext, params: Any) -> Refusal | None:
    if ctx.comment is None or not ctx.comment.strip():
        return Refusal("refuse.comment_required", {"trigger": ctx.transition.trigger})
    return None


def _validate_flag(params: Any) -> list[ParamProblem]:
    if params not in (None, True):
        return [("guard.takes_no_params", {})]
    return []


def _field_names(params: Any) -> list[str]:
    return [params] if isinstance(params, str) else list(params)


def _requires_field(ctx: FireContext, params: Any) -> Refusal | None:
    for name in _field_names(params):
        value = ctx.given_fields.get(name, ctx.item_fields.get(name))
        if value is None or str(value).strip() == "":
            return Refusal("refuse.field_required", {"field": name, "trigger": ctx.transition.trigger})
    return None


def _validate_field_names(params: Any) -> list[ParamProblem]:
    if isinstance(params, str) or (isinstance(params, list) and params and all(isinstance(p, str) for p in params)):
        return []
    return [("guard.field_names", {})]


def _not_same_actor_as(ctx: FireContext, params: Any) -> Refusal | None:
    for role in params.get("roles", ()):
        clash = ctx.persons & set(ctx.holders.get(role, ()))
        if clash:
            return Refusal(
                "refuse.separation_role",
                {"person": sorted(clash)[0], "role": role, "trigger": ctx.transition.trigger},
                permission=True,
            )
    for trigger in params.get("triggers", ()):
        clash = ctx.persons & ctx.persons_who_fired(trigger)
        if clash:
            return Refusal(
                "refuse.separation_trigger",
                {"person": sorted(clash)[0], "other": trigger, "trigger": ctx.transition.trigger},
                permission=True,
            )
    return None


def _validate_not_same_actor_as(params: Any) -> list[ParamProblem]:
    from workflow.core.roles import ROLES

    if not isinstance(params, dict) or not params or set(params) - {"roles", "triggers"}:
        return [("guard.not_same_actor_as_shape", {})]
    problems: list[ParamProblem] = []
    for key, values in params.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append(("guard.not_same_actor_as_shape", {}))
            continue
        for value in values:
            if key == "roles" and value not in ROLES:
                problems.append(("definition.unknown_role", {"role": value}))
    return problems


def _quorum(ctx: FireContext, params: Any) -> Refusal | None:
    if ctx.persons & ctx.persons_who_fired(ctx.transition.trigger):
        return Refusal("refuse.already_voted", {"trigger": ctx.transition.trigger}, permission=True)
    return None


def quorum_reached(ctx: FireContext) -> bool:
    """Whether this vote, added to those already cast, reaches the transition's quorum.

    A transition without a quorum guard is always reached. Votes count once per
    principal, so a substitute's vote and their principal's are one vote.
    """
    spec = ctx.transition.guard("quorum")
    if spec is None:
        return True
    principals = {principal for _actor, principal in ctx.acted.get(ctx.transition.trigger, ())}
    return len(principals | {ctx.principal}) >= int(spec.params["count"])


def _validate_quorum(params: Any) -> list[ParamProblem]:
    count = params.get("count") if isinstance(params, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 2:
        return [("guard.quorum_count", {})]
    return []


def _once_per_item(ctx: FireContext, params: Any) -> Refusal | None:
    if ctx.acted.get(ctx.transition.trigger):
        return Refusal("refuse.once_only", {"trigger": ctx.transition.trigger})
    return None


GUARDS: dict[str, GuardKind] = {
    "requires_comment": GuardKind(_requires_comment, _validate_flag),
    "requires_field": GuardKind(_requires_field, _validate_field_names),
    "not_same_actor_as": GuardKind(_not_same_actor_as, _validate_not_same_actor_as),
    "quorum": GuardKind(_quorum, _validate_quorum),
    "once_per_item": GuardKind(_once_per_item, _validate_flag),
}


SEPARATION_GUARDS = ("not_same_actor_as",)
"""Guards about who may act given the item's other roles and past actions: an assignment must pass them."""


def check_separation(ctx: FireContext) -> Refusal | None:
    """The first separation-of-duties guard of the transition that refuses ``ctx``'s actor."""
    for spec in ctx.transition.guards:
        if spec.name in SEPARATION_GUARDS:
            refusal = GUARDS[spec.name].check(ctx, spec.params)
            if refusal is not None:
                return refusal
    return None


def check_guards(ctx: FireContext) -> Refusal | None:
    """The first guard of the transition that refuses, in declared order."""
    for spec in ctx.transition.guards:
        refusal = GUARDS[spec.name].check(ctx, spec.params)
        if refusal is not None:
            return refusal
    return None
