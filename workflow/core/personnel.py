"""The pure core of people changes: who may add a person, name them, change roles, deactivate, delegate, choose
a digest.

Each decision takes the operator (an administrator, the person themself where the rule allows, or
the operating-system account that ran the command line), the person as stored and what is asked,
and returns a frozen change saying what to write and what the audit row records; or refuses,
naming the rule. Every change becomes an item-less row of the audit chain (``person`` names whom
it is about; ``role`` says in which capacity the actor acted: ``admin``, ``self`` or ``os_account``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workflow.core.decisions import Person
from workflow.core.errors import InvalidInput, NotFound, NotPermitted
from workflow.core.roles import ROLES

SYSTEM_ACTOR = "system"
"""The actor of the audit rows the worker writes (timed transitions); no person may take the name."""
ACCOUNT_PREFIX = "cli:"
"""Actors named ``cli:ACCOUNT`` are operating-system accounts; a person's name never holds ``:``."""
USER_NAME = re.compile(r"^[^\s@:]{1,64}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DISPLAY_NAME_MAX = 64
"""Characters of a display name (``users.display_name``)."""
ADMIN = "admin"
AS_SELF = "self"
AS_ACCOUNT = "os_account"


@dataclass(frozen=True)
class Account:
    """The operating-system account that ran the command line without ``--as``: trusted like the
    database file it can open, so the first administrator can be created."""

    name: str

    @property
    def actor(self) -> str:
        return f"{ACCOUNT_PREFIX}{self.name}"


Operator = Person | Account


@dataclass(frozen=True)
class PersonRecord:
    """A person as stored."""

    name: str
    email: str
    roles: frozenset[str]
    active: bool
    digest: bool
    display_name: str | None = None


@dataclass(frozen=True)
class PeopleChange:
    """What every people change records: the audit row's trigger, actor, capacity, person and details."""

    trigger: str
    person: str
    actor: str
    role: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonAdded(PeopleChange):
    email: str = ""
    roles: tuple[str, ...] = ()
    display_name: str | None = None


@dataclass(frozen=True)
class DisplayNameSet(PeopleChange):
    display_name: str = ""


@dataclass(frozen=True)
class RolesChanged(PeopleChange):
    granted: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActiveSet(PeopleChange):
    active: bool = True


@dataclass(frozen=True)
class DelegationMade(PeopleChange):
    substitute: str = ""
    starts_on: dt.date = dt.date.min
    ends_on: dt.date = dt.date.min


@dataclass(frozen=True)
class DigestSet(PeopleChange):
    digest: bool = False


def email_address(email: str) -> str:
    """An address as it is kept and looked up: trimmed and in lower case (sign-in lowercases what is typed)."""
    return email.strip().lower()


def check_new_person(name: str, email: str, roles: Iterable[str]) -> tuple[str, ...]:
    """A new person's name, address and roles checked; their roles once each, in the order given."""
    if not USER_NAME.match(name):
        raise InvalidInput("input.bad_user_name", name=name)
    if name.lower() == SYSTEM_ACTOR:
        raise InvalidInput("input.reserved_user_name", name=name)
    if not EMAIL.match(email_address(email)):
        raise InvalidInput("input.bad_email", email=email)
    unique = tuple(dict.fromkeys(roles))
    if not unique:
        raise InvalidInput("input.no_roles", allowed=", ".join(ROLES))
    _check_roles(unique)
    return unique


def check_display_name(value: str) -> str:
    """A display name as it is kept: trimmed, not empty, at most 64 characters, no control characters
    (nor invisible format characters such as a right-to-left override, which would disguise a name)."""
    trimmed = value.strip()
    if not trimmed:
        raise InvalidInput("input.display_name_empty")
    if len(trimmed) > DISPLAY_NAME_MAX:
        raise InvalidInput("input.display_name_long", length=len(trimmed), maximum=DISPLAY_NAME_MAX)
    for position, char in enumerate(trimmed, start=1):
        if unicodedata.category(char) in ("Cc", "Cf"):
            raise InvalidInput("input.display_name_control", position=position, code=f"U+{ord(char):04X}")
    return trimmed


def check_period(principal: str, substitute: str, starts_on: dt.date, ends_on: dt.date) -> None:
    if principal == substitute:
        raise InvalidInput("input.delegate_self", name=principal)
    if ends_on < starts_on:
        raise InvalidInput("input.delegate_period", starts=starts_on.isoformat(), ends=ends_on.isoformat())


def decide_add(
    operator: Operator, name: str, email: str, roles: Iterable[str], existing: bool, display_name: str | None = None,
    email_owner: str | None = None,
) -> PersonAdded:  # fmt: skip
    """Only an administrator (or the account) adds people; a display name (张伟) is optional. ``email_owner``
    is who already has this address, if anyone: a sign-in link goes to the address, so it is one person's."""
    actor, capacity = _administrator(operator, name)
    unique = check_new_person(name, email, roles)
    email = email_address(email)
    shown = None if display_name is None else check_display_name(display_name)
    if existing:
        raise InvalidInput("input.user_exists", name=name)
    if email_owner is not None:
        raise InvalidInput("input.email_taken", email=email, owner=email_owner)
    details: dict[str, Any] = {"email": email, "roles": list(unique)}
    if shown is not None:
        details["display_name"] = shown
    return PersonAdded("person.add", name, actor, capacity, details, email=email, roles=unique, display_name=shown)


def decide_display_name(
    operator: Operator, record: PersonRecord | None, name: str, display_name: str
) -> DisplayNameSet:
    """An administrator sets the name people are shown by (张伟 for ``zhang_wei``); the audit row keeps both."""
    actor, capacity = _administrator(operator, name)
    shown = check_display_name(display_name)
    record = _existing(record, name)
    if record.display_name == shown:
        raise InvalidInput("input.display_name_unchanged", name=record.name, display_name=shown)
    details = {"display_name": shown, "previous": record.display_name}
    return DisplayNameSet("person.display_name", record.name, actor, capacity, details, display_name=shown)


def decide_roles(
    operator: Operator, record: PersonRecord | None, name: str, grant: Iterable[str], remove: Iterable[str]
) -> RolesChanged:
    """An administrator grants and removes roles; nobody grants themself one; a person keeps at least one."""
    actor, capacity = _administrator(operator, name)
    granted_asked, removed_asked = tuple(dict.fromkeys(grant)), tuple(dict.fromkeys(remove))
    _check_roles((*granted_asked, *removed_asked))
    if not granted_asked and not removed_asked:
        raise InvalidInput("input.roles_nothing_asked")
    both = set(granted_asked) & set(removed_asked)
    if both:
        raise InvalidInput("input.roles_both", roles=", ".join(sorted(both)))
    record = _existing(record, name)
    if granted_asked and isinstance(operator, Person) and operator.name == record.name:
        raise NotPermitted("refuse.self_grant", person=record.name, roles=", ".join(granted_asked))
    if ADMIN in removed_asked and ADMIN in record.roles and _is_self(operator, record.name):
        raise NotPermitted("refuse.self_admin", person=record.name)
    granted = tuple(r for r in granted_asked if r not in record.roles)
    removed = tuple(r for r in removed_asked if r in record.roles)
    if not granted and not removed:
        raise InvalidInput("input.roles_unchanged", name=record.name, roles=", ".join(sorted(record.roles)))
    after = (record.roles | set(granted)) - set(removed)
    if not after:
        raise InvalidInput("input.no_roles_left", name=record.name)
    details = {"granted": list(granted), "removed": list(removed), "roles": sorted(after)}
    return RolesChanged("person.roles", record.name, actor, capacity, details, granted=granted, removed=removed)


def decide_active(operator: Operator, record: PersonRecord | None, name: str, active: bool) -> ActiveSet:
    """An administrator deactivates a person (they keep their history, and can be activated again)."""
    actor, capacity = _administrator(operator, name)
    record = _existing(record, name)
    if not active and _is_self(operator, record.name):
        raise NotPermitted("refuse.self_admin", person=record.name)
    if record.active == active:
        raise InvalidInput("input.already_active" if active else "input.already_inactive", name=record.name)
    trigger = "person.activate" if active else "person.deactivate"
    return ActiveSet(trigger, record.name, actor, capacity, {"active": active}, active=active)


def decide_delegate(
    operator: Operator,
    principal: PersonRecord | None,
    substitute: PersonRecord | None,
    names: tuple[str, str],
    starts_on: dt.date,
    ends_on: dt.date,
) -> DelegationMade:
    """The person away, or an administrator, names an active substitute for a period (both days included)."""
    actor, capacity = _administrator_or_self(operator, names[0])
    check_period(names[0], names[1], starts_on, ends_on)
    principal = _existing(principal, names[0])
    substitute = _existing(substitute, names[1])
    if not substitute.active:
        raise InvalidInput("input.inactive_person", name=substitute.name)
    details = {"substitute": substitute.name, "from": starts_on.isoformat(), "until": ends_on.isoformat()}
    return DelegationMade(
        "person.delegate", principal.name, actor, capacity, details,
        substitute=substitute.name, starts_on=starts_on, ends_on=ends_on,
    )  # fmt: skip


def decide_digest(operator: Operator, record: PersonRecord | None, name: str, digest: bool) -> DigestSet:
    """A person chooses for themself; an administrator may choose for them."""
    actor, capacity = _administrator_or_self(operator, name)
    record = _existing(record, name)
    return DigestSet("person.digest", record.name, actor, capacity, {"digest": digest}, digest=digest)


def _administrator(operator: Operator, subject: str) -> tuple[str, str]:
    """(actor, capacity) of an operator who administers people, or the refusal."""
    if isinstance(operator, Account):
        return operator.actor, AS_ACCOUNT
    if ADMIN in operator.roles:
        return operator.name, ADMIN
    raise NotPermitted("refuse.people_admin", person=operator.name, subject=subject, role=ADMIN)


def _administrator_or_self(operator: Operator, subject: str) -> tuple[str, str]:
    if isinstance(operator, Person) and operator.name == subject and ADMIN not in operator.roles:
        return operator.name, AS_SELF
    return _administrator(operator, subject)


def _is_self(operator: Operator, name: str) -> bool:
    return isinstance(operator, Person) and operator.name == name


def _existing(record: PersonRecord | None, name: str) -> PersonRecord:
    if record is None:
        raise NotFound("notfound.user", name=name)
    return record


def _check_roles(roles: Iterable[str]) -> None:
    for role in roles:
        if role not in ROLES:
            raise InvalidInput("input.unknown_role", role=role, allowed=", ".join(ROLES))
