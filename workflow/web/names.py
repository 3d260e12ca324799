"""People's display names on the pages: one lookup per request, and the template filters that use it.

Templates write ``{{ h.actor | person }}`` (张伟（zhang_wei）), ``{{ user.name | person_short }}`` (张伟)
and ``{{ m.recipient | recipient }}`` (an address with its person's name). The names are read with
one query the first time a page shows a person, and kept on the request, never one query per row.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from sqlalchemy import Engine
from starlette.requests import Request

from workflow.core.names import NameEntry, Names
from workflow.store.db import reading
from workflow.store.people import name_entries


def request_names(request: Request, db: Engine, lang: str) -> Names:
    """The names of this request: read once, on first use, then kept on ``request.state``."""
    names: Names | None = getattr(request.state, "names", None)
    if names is None or names.lang != lang:

        def load() -> list[NameEntry]:
            with reading(db) as conn:
                return name_entries(conn)

        names = Names(load, lang)
        request.state.names = names
    return names


def install_filters(environment: Environment) -> None:
    """``person``, ``person_short`` and ``recipient``: each reads the ``names`` the page was rendered with."""
    environment.filters["person"] = _person
    environment.filters["person_short"] = _person_short
    environment.filters["recipient"] = _recipient


def _names(context: Context) -> Names | None:
    names = context.get("names")
    return names if isinstance(names, Names) else None


@pass_context
def _person(context: Context, name: Any) -> str:
    names = _names(context)
    text = "" if name is None else str(name)
    return names.label(text) if names else text


@pass_context
def _person_short(context: Context, name: Any) -> str:
    names = _names(context)
    text = "" if name is None else str(name)
    return names.short(text) if names else text


@pass_context
def _recipient(context: Context, address: Any) -> str:
    names = _names(context)
    text = "" if address is None else str(address)
    return names.recipient(text) if names else text
