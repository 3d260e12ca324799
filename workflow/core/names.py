"""How a person is named to a reader: 张伟（zhang_wei）, or just 张伟, or the login name.

The login name (``zhang_wei``) is what the audit chain, the JSON output and the links keep; a
display name (张伟) is what an office knows its people by. Wherever a person is shown, the
label comes from here: ``label`` where both matter (a history, an audit page), ``short`` where
the login name adds nothing (a greeting). A person without a display name shows the login name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from workflow.core.i18n import N_, translator

LABEL = N_("%(display_name)s (%(name)s)")
"""A display name with the login name after it: 张伟（zhang_wei） in Chinese, 张伟 (zhang_wei) in English."""


class NameEntry(NamedTuple):
    """One person as the lookup needs them (``store.people.name_entries`` reads them)."""

    name: str
    email: str
    display_name: str | None


def person_label(name: str, display_name: str | None, lang: str) -> str:
    """``display_name (name)`` in the reader's language, or the name alone when there is no display name."""
    if not display_name or display_name == name:
        return name
    return translator(lang)._(LABEL, display_name=display_name, name=name)


class Names:
    """Display names read once, on first use (one query through ``load``), then looked up by login name.

    Made for one request, one command or one pass of the worker: a name changed meanwhile shows on
    the next one. Names it does not know (``cli:root``, ``system``, someone removed) show as given.
    """

    def __init__(self, load: Callable[[], Iterable[NameEntry]], lang: str) -> None:
        self._load = load
        self.lang = lang
        self._display: dict[str, str] | None = None
        self._by_email: dict[str, str] = {}

    def _names(self) -> dict[str, str]:
        if self._display is None:
            entries = list(self._load())
            self._display = {e.name: e.display_name for e in entries if e.display_name}
            self._by_email = {e.email.lower(): e.name for e in entries}
        return self._display

    def display_name(self, name: str) -> str | None:
        return self._names().get(name)

    def label(self, name: str | None) -> str:
        """张伟（zhang_wei）; the login name when there is no display name; empty for no one."""
        if not name:
            return ""
        return person_label(name, self._names().get(name), self.lang)

    def short(self, name: str | None) -> str:
        """张伟 alone, where the login name adds nothing (a greeting, the signed-in person)."""
        if not name:
            return ""
        return self._names().get(name) or name

    def login_name(self, text: str) -> str:
        """The login name someone typed, or the login name of the one person shown by the display name typed."""
        display = self._names()
        if text in display:
            return text
        found = [name for name, shown in display.items() if shown == text]
        return found[0] if len(found) == 1 else text

    def recipient(self, address: str) -> str:
        """An email address with the label of the person it belongs to: 张伟（zhang_wei） <a@b>."""
        self._names()
        name = self._by_email.get(address.lower())
        return f"{self.label(name)} <{address}>" if name else address
