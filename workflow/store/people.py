"""People, their roles, and the substitutes they name while away: the tables' reads and writes.

The rules of who may change what live in :mod:`workflow.core.personnel`; the engine asks them and
writes the change here together with its audit row. Call the writers only from the engine (tests
and benchmarks seed their people with ``add_user``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from workflow.core.decisions import Person
from workflow.core.errors import InvalidInput, NotFound
from workflow.core.names import NameEntry
from workflow.core.personnel import SYSTEM_ACTOR as SYSTEM_ACTOR  # the worker's actor name, where it always was
from workflow.core.personnel import PersonRecord, check_display_name, check_new_person, check_period
from workflow.store.hot import HotPath
from workflow.store.models import Delegation, User, UserRole

users = cast(Table, User.__table__)
user_roles = cast(Table, UserRole.__table__)
delegations = cast(Table, Delegation.__table__)


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    email: str
    roles: tuple[str, ...]
    active: bool
    display_name: str | None = None
    digest: bool = False


@dataclass(frozen=True)
class DelegationInfo:
    id: int
    principal: str
    substitute: str
    starts_on: dt.date
    ends_on: dt.date


def add_user(
    conn: Connection, name: str, email: str, roles: list[str], now: dt.datetime, display_name: str | None = None
) -> UserInfo:
    unique_roles = list(check_new_person(name, email, roles))
    shown = None if display_name is None else check_display_name(display_name)
    if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
        raise InvalidInput("input.user_exists", name=name)
    try:
        user_id = conn.execute(
            insert(users)
            .values(name=name, email=email, active=True, created_at=now, display_name=shown)
            .returning(users.c.id)
        ).scalar_one()
    except IntegrityError:
        raise InvalidInput("input.user_exists", name=name) from None
    conn.execute(insert(user_roles), [{"user_id": user_id, "role": role} for role in unique_roles])
    return UserInfo(user_id, name, email, tuple(unique_roles), True, shown)


def list_users(conn: Connection) -> list[UserInfo]:
    """Everyone, active or not, by login name; their roles in name order."""
    rows = conn.execute(
        select(
            users.c.id, users.c.name, users.c.email, users.c.active, users.c.display_name, users.c.digest,
            user_roles.c.role,
        )
        .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
        .order_by(users.c.name, user_roles.c.role)
    ).all()  # fmt: skip
    found: dict[int, UserInfo] = {}
    for row in rows:
        info = found.get(row.id)
        roles = (info.roles if info else ()) + ((row.role,) if row.role else ())
        found[row.id] = UserInfo(
            row.id, row.name, row.email, roles, bool(row.active), row.display_name, bool(row.digest)
        )
    return list(found.values())


def name_entries(conn: Connection) -> list[NameEntry]:
    """Every person's login name, address and display name: one query, for :class:`workflow.core.names.Names`."""
    # On the driver's cursor (store.hot): every page showing a person runs this, ~0.1 ms less than through Core.
    return [NameEntry(*row) for row in HotPath(conn.dialect.name).people_names(conn)]


def get_user(conn: Connection, name: str) -> UserInfo:
    for info in _user_rows(conn, name):
        return info
    raise NotFound("notfound.user", name=name)


_USER_ROWS = (
    select(users.c.id, users.c.email, users.c.active, user_roles.c.role)
    .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
    .where(users.c.name == bindparam("name"))
)
"""A person with their roles; built once (every signed-in page asks it: building it cost more than running it)."""

_principal = users.alias("principal")
_PRINCIPALS_TODAY = (
    select(_principal.c.name, user_roles.c.role)
    .select_from(
        delegations.join(_principal, _principal.c.id == delegations.c.principal_id).outerjoin(
            user_roles, user_roles.c.user_id == _principal.c.id
        )
    )
    .where(
        and_(
            delegations.c.substitute_id == bindparam("substitute"),
            delegations.c.starts_on <= bindparam("today"),
            delegations.c.ends_on >= bindparam("today"),
            _principal.c.active.is_(True),
        )
    )
    .order_by(_principal.c.name)
)
"""Whom a person stands in for today, with those people's roles."""


def _user_rows(conn: Connection, name: str) -> list[UserInfo]:
    rows = conn.execute(_USER_ROWS, {"name": name}).all()
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
        rows = conn.execute(_PRINCIPALS_TODAY, {"substitute": info.id, "today": today}).all()
        roles_of: dict[str, set[str]] = {}
        for row in rows:
            roles_of.setdefault(row.name, set()).update({row.role} if row.role else set())
        stands_in_for = tuple(Person(n, frozenset(r)) for n, r in roles_of.items())
    return Person(name, frozenset(info.roles), stands_in_for)


def delegate(
    conn: Connection, principal: str, substitute: str, starts_on: dt.date, ends_on: dt.date, now: dt.datetime
) -> DelegationInfo:
    check_period(principal, substitute, starts_on, ends_on)
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


def email_owner(conn: Connection, address: str) -> str | None:
    """Who has this address (in any case), active or not: the login name, or None."""
    found = conn.execute(select(users.c.name).where(func.lower(users.c.email) == address.strip().lower())).first()
    return None if found is None else str(found.name)


def person_record(conn: Connection, name: str) -> PersonRecord | None:
    """The person as stored (active or not), or None when there is no such person."""
    rows = conn.execute(
        select(users.c.email, users.c.active, users.c.digest, users.c.display_name, user_roles.c.role)
        .select_from(users.outerjoin(user_roles, user_roles.c.user_id == users.c.id))
        .where(users.c.name == name)
    ).all()
    if not rows:
        return None
    roles = frozenset(row.role for row in rows if row.role)
    first = rows[0]
    return PersonRecord(name, first.email, roles, bool(first.active), bool(first.digest), first.display_name)


def set_display_name(conn: Connection, name: str, display_name: str) -> None:
    info = get_user(conn, name)
    conn.execute(update(users).where(users.c.id == info.id).values(display_name=display_name))


def change_roles(conn: Connection, name: str, granted: tuple[str, ...], removed: tuple[str, ...]) -> None:
    info = get_user(conn, name)
    if granted:
        conn.execute(insert(user_roles), [{"user_id": info.id, "role": role} for role in granted])
    if removed:
        conn.execute(delete(user_roles).where(user_roles.c.user_id == info.id, user_roles.c.role.in_(removed)))


def set_active(conn: Connection, name: str, active: bool) -> None:
    info = get_user(conn, name)
    conn.execute(update(users).where(users.c.id == info.id).values(active=active))


def find_person(conn: Connection, name: str, today: dt.date) -> Person | None:
    """The active person by their own roles, or None when there is no such active person."""
    try:
        return load_person(conn, name, today, with_substitutions=False)
    except NotFound:
        return None


def active_role_holders(conn: Connection, role: str) -> list[Any]:
    """The active people holding ``role`` (name, email, display_name), by name: who a daily notice goes to."""
    return list(
        conn.execute(
            select(users.c.name, users.c.email, users.c.display_name)
            .join(user_roles, user_roles.c.user_id == users.c.id)
            .where(user_roles.c.role == role, users.c.active.is_(True))
            .order_by(users.c.name)
        ).all()
    )
