"""The catalogues: complete in both languages, up to date with the code, compiled; plurals read right."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.checkers import python_format
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from workflow.core import i18n
from workflow.core.errors import DefinitionError, render_error
from workflow.core.messages import TEXT_BY_KEY, message
from workflow.core.validation import Problem

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "Nn_": (1, 2)}  # as `make messages` passes -k Nn_:1,2


def _po(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as file:
        return read_po(file, locale=lang)


def _extracted() -> set[str | tuple[str, str]]:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str | tuple[str, str]] = set()
    for _file, _line, text, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        found.add(text if isinstance(text, str) else (text[0], text[1]))
    return found


@pytest.fixture(scope="module")
def extracted() -> set[str | tuple[str, str]]:
    return _extracted()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_marked_text_has_a_translation(lang: str, extracted: set[str | tuple[str, str]]) -> None:
    catalog = _po(lang)
    missing = []
    for msgid in extracted:
        entry = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        strings = () if entry is None else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(msgid)
    assert not missing, f"{lang}: no translation for {missing} (run 'make messages' and fill in the .po)"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_catalogue_holds_nothing_the_code_no_longer_says(lang: str, extracted: set[str | tuple[str, str]]) -> None:
    ids = {m.id for m in _po(lang) if m.id}
    assert not ids - extracted, f"{lang}: obsolete entries {ids - extracted} (run 'make messages')"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_translations_keep_their_placeholders(lang: str) -> None:
    catalog = _po(lang)
    for entry in catalog:
        if entry.id and entry.python_format:
            python_format(catalog, entry)  # raises TranslationError on a lost or renamed %(name)s


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_compiled_catalogue_is_the_source_catalogue(lang: str) -> None:
    folder = i18n.LOCALE_DIR / lang / "LC_MESSAGES"
    with (folder / f"{i18n.DOMAIN}.mo").open("rb") as file:
        compiled = read_mo(file)
    source = _po(lang)
    assert _pairs(compiled) == _pairs(source), "the .mo is older than the .po: run 'make compile-messages'"


def _pairs(catalog: Catalog) -> dict[object, object]:
    def norm(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {norm(m.id): norm(m.string) for m in catalog if m.id}


def test_every_keyed_message_is_translated() -> None:
    for key in TEXT_BY_KEY:
        zh, en = message(key, "zh", count=2), message(key, "en", count=2)
        assert zh != en, key


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 problem in the definitions"), (2, "2 problems in the definitions")],
)
def test_english_plurals_of_an_error(count: int, expected: str) -> None:
    error = DefinitionError([Problem("x.yaml", n + 1, "definition.not_mapping") for n in range(count)])
    assert message(error.key, "en", **error.params) == expected
    assert message(error.key, "zh", **error.params) == f"流程定义有 {count} 处错误"


def test_plurals_by_count() -> None:
    en, zh = i18n.translator("en"), i18n.translator("zh")
    assert en.ngettext("%(num)s working day", "%(num)s working days", 1) == "1 working day"
    assert en.ngettext("%(num)s working day", "%(num)s working days", 0) == "0 working days"
    assert zh.ngettext("%(num)s working day", "%(num)s working days", 2) == "2 个工作日"
    assert message("audit.verified", "en", count=1) == "1 entry verified"
    assert message("audit.verified", "en", count=7) == "7 entries verified"


def test_a_refusal_lists_what_may_be_done_instead() -> None:
    from workflow.core.errors import NotPermitted

    refusal = NotPermitted("refuse.role", person="li", role="leader", trigger="sign_off", available=[])
    assert render_error(refusal, "en") == (
        "li does not hold the role 'leader' on this item, required for 'sign_off'; there is nothing you may fire now"
    )
    assert "你现在没有可执行的操作" in render_error(refusal, "zh")


def test_dates_and_weekdays_through_babel() -> None:
    import datetime as dt

    day = dt.date(2026, 10, 6)
    assert i18n.translator("zh").date(day) == "2026年10月6日"
    assert i18n.translator("en").date(day) == "October 6, 2026"
    assert i18n.translator("zh").weekday(day) == "星期二"
    assert i18n.translator("en").weekday(day) == "Tuesday"


def test_an_absent_placeholder_stays_visible() -> None:
    assert message("refuse.role", "en", person="li") == (
        "li does not hold the role '%(role)s' on this item, required for '%(trigger)s'"
    )


def test_a_missing_catalogue_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(i18n.CatalogueMissing, match="make install"):
            i18n.catalogue("zh")
    finally:
        monkeypatch.undo()
        i18n.catalogue.cache_clear()


# ---- one mechanism: no translation written inline any more -------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
INLINE_CHOICE = re.compile(
    r"""\bif\s+(?:en|(?:\w+\.)*lang\s*==\s*["'](?:en|zh)["'])\s+else\s+f?["']"""  # "..." if en else "..."
    r"""|\ben\s*=\s*(?:\w+\.)*lang\s*==\s*["']en["']"""  # en = shell.lang == "en"
)


def test_no_module_chooses_its_text_by_language_inline() -> None:
    """User text is English source in the catalogues; a ``"..." if en else "..."`` would bypass them."""
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for folder in ("workflow", "notifications")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for text in [path.read_text(encoding="utf-8")]
        for match in INLINE_CHOICE.finditer(text)
    ]
    assert not found, "text chosen by language inline (use the catalogues):\n" + "\n".join(found)


def test_the_guard_recognises_the_inline_forms() -> None:
    for inline in ('"states:" if lang == "en" else "状态:"', 'x = ("a" if en\n else "b")', 'en = shell.lang == "en"'):
        assert INLINE_CHOICE.search(inline), inline
    assert not INLINE_CHOICE.search('return self.en if lang == "en" else self.zh')  # a YAML label's own pick


def test_the_web_pages_have_no_word_table_of_their_own() -> None:
    assert not (ROOT / "workflow" / "web" / "text.py").exists()
    templates = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "workflow/web/templates").glob("*.html"))
    assert not re.search(r"\bt\(['\"]", templates), "a template still calls t('key')"


def test_a_working_day_count_explained_in_each_language() -> None:
    from workflow.cli.calendar import explain_count
    from workflow.core.calendar import WorkingCalendar

    counted = WorkingCalendar().count(dt.date(2026, 9, 30), 2)  # into the National Day holiday
    english, chinese = explain_count(counted, "en"), explain_count(counted, "zh")
    assert english[0] == "2026-09-30  start, not counted" and chinese[0] == "2026-09-30  起算日, 不计入"
    assert english[1].startswith("2026-10-01 Thu  skipped") and "public holiday" in english[1]
    assert chinese[1].startswith("2026-10-01 周四  跳过") and "法定节假日" in chinese[1]
    assert "counted 2/2" in english[-1] and "计入 2/2" in chinese[-1]
