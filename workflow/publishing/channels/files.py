"""What the file-writing channels (notice board, broadcast) share: their templates, their folder, atomic writes."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from notifications.render import translated_environment
from workflow.core.i18n import translator
from workflow.core.publication import PUBLISH, PublicItem


@cache
def environment(lang: str) -> Environment:
    """The channels' templates (``workflow/publishing/templates/channels``) in ``lang``: autoescaped HTML,
    plain text not, undefined names an error; ``day`` formats a moment's office date."""
    env = translated_environment(
        PackageLoader("workflow.publishing", "templates/channels"), lang,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )  # fmt: skip
    env.filters["day"] = lambda day: translator(lang).date(day, "long")
    return env


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename: a reader sees the
    old file or the new one, never half of one, and a retry simply replaces it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def safe_part(text: str) -> str:
    """A folder or file name from office data (a village, a reference): no separators, no leading dot."""
    cleaned = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in text).strip().lstrip(".")
    return cleaned or "_"


def not_to_print(event: str, item: PublicItem) -> str | None:
    """Why a board or the broadcast has nothing to do for this job, or None when it has."""
    if event != PUBLISH:
        return f"nothing to do for a {event} event (only publications are posted and read out)"
    if not item.current:
        return f"not done: the item is {item.status} since {item.status_at.isoformat(timespec='minutes')}"
    return None


def office_day(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    return moment.astimezone(zone).date()
