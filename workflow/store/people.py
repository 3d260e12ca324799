"""People, their roles, and the substitutes they name while away."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Table, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from workflow.core.decisions import Person
from workflow.core.errors import InvalidInput, NotFound
from workflow.core.roles import ROLES
from workflow.store.models import Delegation, User, UserRole

users = cast(Table, User.__table__)
user_roles = cast(Table, UserRole.__table__)
delegations = cast(Table, Delegation.__table__)

SYSTEM_ACTOR = "system"
"""The actor of the audit rows the worker writes (timed transitions); no person may take the name."""
USER_NAME = re.compile(r"^[^\s@]{1,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    email: str
    roles: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class DelegationInfo:
    id: int
    principal: str
    substitute: str
    starts_on: dt.date
    ends_on: dt.date


def add_user(conn: Connection, name: str, email: str, roles: list[str], now: dt.datetime) -> UserInfo:
    if not USER_NAME.match(name):
        raise InvalidInput("input.bad_user_name", name=name)
    if name.lower() == SYSTEM_ACTOR:
        raise InvalidInput("input.reserved_user_name", name=name)
    if not EMAIL.match(email):
        raise InvalidInput("input.bad_email", email=email)
    if not roles:
        raise InvalidInput("input.no_roles", allowed=", ".join(ROLES))
    for role in roles:
        if role not in ROLES:
            raise InvalidInput("input.unknown_role", role=role, allowed=", ".join(ROLES))
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise InvalidInput("input.user_exists", name=name)
    try:
        user_id = conn.execute(
            insert(users).values(name=name, email=email, active=True, created_at=now).returning(users.c.id)
        ).scalar_one()
    except IntegrityError:
        raise InvalidInput("input.user_exists", name=name) from None
    unique_roles = list(dict.fromkeys(roles))
    conn.execute(insert(user_roles), [{"user_id": user_id, "role": role} for role in unique_roles])
    return UserInfo(user_id, name, email, tuple(unique_roles), True)


def list_users(conn: Connection) -> list[UserInfo]:
    rows = conn.execute(
        select(users.c.id, users.c.name, users.c.email, users.c.active, user_roles.c.role)
        .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
        .order_by(users.c.name, user_roles.c.role)
    ).all()
    found: dict[int, UserInfo] = {}
    for row in rows:
        info = found.get(row.id)
        roles = (info.roles if info else ()) + ((row.role,) if row.role else ())
        found[row.id] = UserInfo(row.id, row.name, row.email, roles, row.active)
    return list(found.values())


def get_user(conn: Connection, name: str) -> UserInfo:
    for info in _user_rows(conn, name):
        return info
    raise NotFound("notfound.user", name=name)


def _user_rows(conn: Connection, name: str) -> list[UserInfo]:
    rows = conn.execute(
        select(users.c.id, users.c.email, users.c.active, user_roles.c.role)
        .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
        .where(users.c.name == name)
    ).all()
    if not rows:
        return []
    roles = tuple(row.role for row in rows if row.role)
    return [UserInfo(rows[0].id, name, rows[0].email, roles, rows[0].active)]


def load_person(conn: Connection, name: str, today: dt.date, with_substitutions: bool) -> Person:
    """The acting person; with their principals for today when asked (a second query)."""
    info = get_user(conn, name)
    if not info.active:
        raise NotFound("notfound.user", name=name)
    stands_in_for: tuple[Person, ...] = ()
    if with_substitutions:
        principal = users.alias("principal")
        rows = conn.execute(
            select(principal.c.name, user_roles.c.role)
            .select_from(
                delegations.join(principal, principal.c.id == delegations.c.principal_id).outerjoin(
                    user_roles, user_roles.c.user_id == principal.c.id
                )
            )
            .where(
                and_(
                    delegations.c.substitute_id == info.id,
                    delegations.c.starts_on <= today,
                    delegations.c.ends_on >= today,
                    principal.c.active.is_(True),
                )
            )
            .order_by(principal.c.name)
        ).all()
        roles_of: dict[str, set[str]] = {}
        for row in rows:
            roles_of.setdefault(row.name, set()).update({row.role} if row.role else set())
        stands_in_for = tuple(Person(n, frozenset(r)) for n, r in roles_of.items())
    return Person(name, frozenset(info.roles), stands_in_for)


def delegate(
    conn: Connection, principal: str, substitute: str, starts_on: dt.date, ends_on: dt.date, now: dt.datetime
) -> DelegationInfo:
    if principal == substitute:
        raise InvalidInput("input.delegate_self", name=principal)
    if ends_on < starts_on:
        raise InvalidInput("input.delegate_period", starts=starts_on.isoformat(), ends=ends_on.isoformat())
    principal_info = get_user(conn, principal)
    substitute_info = get_user(conn, substitute)
    delegation_id = conn.execute(
        insert(delegations)
        .values(
            principal_id=principal_info.id,
            substitute_id=substitute_info.id,
            starts_on=starts_on,
            ends_on=ends_on,
            created_at=now,
        )
        .returning(delegations.c.id)
    ).scalar_one()
    return DelegationInfo(delegation_id, principal, substitute, starts_on, ends_on)


def list_delegations(conn: Connection) -> list[DelegationInfo]:
    principal = users.alias("principal")
    substitute = users.alias("substitute")
    rows = conn.execute(
        select(
            delegations.c.id,
            principal.c.name.label("p"),
            substitute.c.name.label("s"),
            delegations.c.starts_on,
            delegations.c.ends_on,
        )
        .select_from(
            delegations.join(principal, principal.c.id == delegations.c.principal_id).join(
                substitute, substitute.c.id == delegations.c.substitute_id
            )
        )
        .order_by(delegations.c.starts_on, delegations.c.id)
    ).all()
    return [DelegationInfo(r.id, r.p, r.s, r.starts_on, r.ends_on) for r in rows]


def set_digest(conn: Connection, name: str, digest: bool) -> None:
    """A person's choice: one daily digest, or single notices and reminders."""
    info = get_user(conn, name)
    conn.execute(update(users).where(users.c.id == info.id).values(digest=digest))
