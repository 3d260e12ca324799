"""The one exception tree of gongkai.

Every error carries a message key and its parameters; the shell (CLI, web)
renders it in the user's language with :func:`workflow.core.i18n.translate`.
"""

from __future__ import annotations

from typing import Any


class GongkaiError(Exception):
    """Something went wrong in gongkai."""

    key = "error.generic"
    exit_code = 1

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key, params)

    def render(self, lang: str = "zh") -> str:
        from workflow.core.i18n import translate

        return translate(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.render("en")


class DefinitionError(GongkaiError):
    """A definition file is invalid; ``problems`` lists each ``FILE:LINE: message``."""

    key = "error.definition"

    def __init__(self, problems: list[Any]) -> None:
        super().__init__(self.key, count=len(problems))
        self.problems = problems

    def render(self, lang: str = "zh") -> str:
        return "\n".join(problem.render(lang) for problem in self.problems)


class TransitionNotAllowed(GongkaiError):
    """A rule of the definition refuses this trigger (state, guard, field)."""

    key = "error.not_allowed"


class NotPermitted(GongkaiError):
    """The actor does not hold the role, or separation of duties forbids it."""

    key = "error.not_permitted"


class Conflict(GongkaiError):
    """Someone else changed the item first; nothing was written."""

    key = "error.conflict"


class Busy(GongkaiError):
    """The database was busy past its timeout (a lock held by another writer); nothing was changed.

    Unlike a Conflict, sending the same request again a moment later will most likely work.
    """

    key = "error.busy"


class NotFound(GongkaiError):
    """An id, reference, user or definition that does not exist."""

    key = "error.not_found"
    exit_code = 2


class InvalidInput(GongkaiError):
    """Bad input from the caller: a malformed value, an unknown option value."""

    key = "error.invalid_input"
    exit_code = 2


class ConfigurationError(GongkaiError):
    """Missing or malformed configuration (environment, key, database URL)."""

    key = "error.configuration"
    exit_code = 2


class CalendarError(GongkaiError):
    """The working-day calendar has no official data for the date asked."""

    key = "error.calendar"


class AuditVerificationError(GongkaiError):
    """The audit chain does not verify."""

    key = "error.audit"
