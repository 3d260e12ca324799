"""The one exception tree of gongkai.

Every error carries a stable message key and its parameters; its text comes from the
gettext catalogues in the reader's language (:mod:`workflow.core.messages`).
"""

from __future__ import annotations

from typing import Any

from workflow.core.messages import message


class GongkaiError(Exception):
    """Something went wrong in gongkai."""

    key = "error.generic"
    exit_code = 1

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key, params)

    def render(self, lang: str = "zh") -> str:
        return message(self.key, lang, **self.params)

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


def render_error(error: GongkaiError, lang: str) -> str:
    """One line: the rule that refused, what happened last, what the user may do instead."""
    text = error.render(lang)
    if isinstance(error, DefinitionError):
        return text
    parts = [text]
    last = error.params.get("last")
    if isinstance(last, dict):
        parts.append(message("refuse.last_action", lang, **last))
    available = error.params.get("available")
    if isinstance(available, list):
        if available:
            parts.append(message("refuse.available", lang, triggers=", ".join(available)))
        else:
            parts.append(message("refuse.available_none", lang))
    return "; ".join(parts)
