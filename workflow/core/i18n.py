"""The one translation mechanism: gettext catalogues compiled by Babel, one per language.

Source text is English, marked where it is written: ``_()``/``ngettext()`` on a
:class:`Translator`, ``N_()``/``Nn_()`` where text is declared before the reader's language
is known, ``{% trans %}`` in templates. ``pybabel extract`` (``make messages``) collects it;
``workflow/locale/<lang>/LC_MESSAGES/gongkai.po`` holds each language's text and
``pybabel compile`` (run by ``make install``) turns it into the ``.mo`` read here.
Placeholders are ``%(name)s``, the form ``jinja2.ext.i18n`` uses, so one catalogue
serves Python and templates alike.

Reading the compiled catalogues is this module's only I/O: package data, like the
bundled definitions.
"""

from __future__ import annotations

import datetime as dt
import gettext as stdlib_gettext
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

from babel.dates import format_date, format_datetime, get_day_names
from babel.support import Translations

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
DOMAIN = "gongkai"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def N_(message: str) -> str:
    """Marks ``message`` for extraction; it is translated later, in the reader's language."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural pair for extraction; :meth:`Translator.ngettext` picks the form later."""
    return singular, plural


class CatalogueMissing(RuntimeError):
    """A compiled catalogue is absent: the checkout was never installed or compiled."""


@cache
def catalogue(lang: str) -> Translations:
    """The compiled catalogue of ``lang`` (cached per process); fails loudly when it was never compiled."""
    if lang not in LANGUAGES:
        raise ValueError(f"no catalogue for language {lang!r} (available: {', '.join(LANGUAGES)})")
    try:
        found = stdlib_gettext.translation(DOMAIN, LOCALE_DIR, [lang], class_=Translations)
    except FileNotFoundError:
        raise CatalogueMissing(
            f"{LOCALE_DIR}/{lang}/LC_MESSAGES/{DOMAIN}.mo is missing: run 'make install' "
            f"(or 'pybabel compile -d {LOCALE_DIR} -D {DOMAIN}')"
        ) from None
    assert isinstance(found, Translations)
    return found


class _Lenient(dict[str, Any]):
    """Leaves an absent placeholder visible instead of failing: a message never hides the error it reports."""

    def __missing__(self, key: str) -> str:
        return f"%({key})s"


def fill(text: str, params: dict[str, Any]) -> str:
    """``text`` with its ``%(name)s`` placeholders filled from ``params``."""
    if not params:
        return text.replace("%%", "%")
    return text % _Lenient(params)


class Translator:
    """Text, plurals and dates in one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.catalogue = catalogue(lang)

    def _(self, message: str, /, **params: Any) -> str:
        return fill(self.catalogue.gettext(message), params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        """The form for ``n`` (``"1 problem"``, ``"2 problems"``); ``%(num)s`` is ``n`` unless given."""
        return fill(self.catalogue.ngettext(singular, plural, n), {"num": n, **params})

    def date(self, day: dt.date, fmt: str = "long") -> str:
        """A date as the reader writes it: 2026年11月3日, November 3, 2026."""
        return _formatted_date(day, fmt, self.lang)

    def datetime(self, moment: dt.datetime, fmt: str = "medium") -> str:
        """A moment in the reader's language (already in the office's time zone)."""
        return format_datetime(moment, format=fmt, locale=self.lang)

    def weekday(self, day: dt.date, width: Literal["abbreviated", "narrow", "short", "wide"] = "wide") -> str:
        """The weekday's name: 星期二, Tuesday."""
        return str(get_day_names(width, locale=self.lang)[day.weekday()])


@lru_cache(maxsize=4096)
def _formatted_date(day: dt.date, fmt: str, lang: str) -> str:
    """Babel takes about 14 µs a date; a page of 500 rows shows a few dozen distinct ones."""
    return str(format_date(day, format=fmt, locale=lang))


@cache
def translator(lang: str) -> Translator:
    """The translator of ``lang``, shared by the process."""
    return Translator(lang)
