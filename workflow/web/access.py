"""Who may see what on the web pages: pure rules over a person, a definition and an item's holders.

A person sees the items on which they hold a role (in their own right or standing in for
someone); auditors and administrators see all, read-only. Before an item is published
only those who write, review and sign it read its body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workflow.core.decisions import Person, acting_principal
from workflow.core.definition import Definition

READ_ALL_ROLES = frozenset({"auditor", "admin"})
BODY_ROLES = frozenset({"drafter", "confidentiality_reviewer", "legal_reviewer", "leader"})
PUBLISHED_STATES = frozenset({"published", "filed", "withdrawn", "repealed"})
OUTBOX_ROLES = frozenset({"office", "admin"})
AUDIT_ROLES = frozenset({"auditor", "admin"})
REPORT_ROLES = frozenset({"leader", "auditor", "admin"})
"""Who reads the office's reports (timeliness for the assessment, 考核): leaders and those who audit."""
ADMIN_ROLES = frozenset({"admin"})
"""Who keeps the list of people and reads the security log."""


def definition_roles(definition: Definition) -> frozenset[str]:
    roles = {definition.creator_role}
    for state in definition.states.values():
        roles.update(state.roles)
    roles.update(transition.role for transition in definition.transitions)
    return frozenset(roles)


def roles_on_item(person: Person, definition: Definition, holders: Mapping[str, Sequence[str]]) -> frozenset[str]:
    return frozenset(
        role for role in definition_roles(definition) if acting_principal(person, role, holders) is not None
    )


def may_see(person: Person, definition: Definition, holders: Mapping[str, Sequence[str]]) -> bool:
    return bool(person.roles & READ_ALL_ROLES) or bool(roles_on_item(person, definition, holders))


def may_read_body(person: Person, definition: Definition, holders: Mapping[str, Sequence[str]], state: str) -> bool:
    if state in PUBLISHED_STATES:
        return may_see(person, definition, holders)
    return bool(roles_on_item(person, definition, holders) & (BODY_ROLES | {definition.creator_role}))
