"""What every command shares: the settings, the engine opened lazily, and errors as one line each.

Exit codes: 0 done; 1 refused by a rule, lost a race, validation or verification
failed; 2 bad usage or unknown id. Every refusal goes to stderr, one line a problem.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from sqlalchemy.engine import make_url

from notifications.settings import MailSettings
from workflow.core.definition import Definition
from workflow.core.errors import ConfigurationError, GongkaiError, InvalidInput, render_error
from workflow.core.i18n import Translator, translator
from workflow.core.messages import message
from workflow.core.personnel import Account
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.store.db import normalise_url
from workflow.store.faults import DRIVER_ERRORS, database_error
from workflow.wiring import open_engine

F = TypeVar("F", bound=Callable[..., Any])


class Shell:
    """What every command needs: the settings read at start, and lazily the database and engine."""

    def __init__(self, settings: Settings, mail: MailSettings) -> None:
        self.settings = settings
        self.mail = mail
        self._engine: WorkflowEngine | None = None

    @property
    def lang(self) -> str:
        return self.settings.lang

    @property
    def tr(self) -> Translator:
        """Text, plurals and dates in the user's language (``shell.tr._("...")``)."""
        return translator(self.lang)

    def t(self, key: str, **params: Any) -> str:
        """A keyed message (an error's, an audit fault's) in the user's language."""
        return message(key, self.lang, **params)

    @property
    def engine(self) -> WorkflowEngine:
        if self._engine is None:
            require_initialised(self.settings)
            self._engine = open_engine(self.settings, mail=self.mail)
        return self._engine

    def fail(self, error: GongkaiError) -> NoReturn:
        for line in render_error(error, self.lang).splitlines():
            click.echo(line, err=True)
        sys.exit(error.exit_code)


@contextmanager
def handled(shell: Shell) -> Iterator[None]:
    try:
        yield
    except GongkaiError as error:
        shell.fail(error)
    except DRIVER_ERRORS as error:
        # One clean line: busy or a lost race (exit 1), an unusable database (exit 2).
        shell.fail(database_error(error))


def require_initialised(settings: Settings) -> None:
    """A missing SQLite file means 'gongkai init' was not run; do not leave an empty one behind."""
    url = make_url(normalise_url(settings.database_url))
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        raise ConfigurationError("config.not_initialised", database=url.database)


pass_shell = click.make_pass_decorator(Shell)


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("input.bad_date", value=value) from None


def iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def state_label(definition: Definition, state: str, lang: str) -> str:
    spec = definition.states.get(state)
    return spec.label.in_lang(lang) if spec else state


def operator(actor: str | None) -> str | Account:
    """Who makes a people change: the person named by ``--as``, else the operating-system account."""
    if actor is not None:
        return actor
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        account = f"uid{os.getuid()}"
    return Account(account)
