"""The integrity drills (issue 12): each drill has a short variant (run by ``make test``) and the issue's full
size behind the ``soak`` marker (``make soak``). Each prints its figures (``pytest -rA`` shows them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AUDIT_KEY, DEFINITIONS, OFFICE
from workflow.clock import utc_now
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.people import add_user
from workflow.wiring import initialise


def sizes(short: Any, full: Any) -> list[Any]:
    """Parametrise a drill: the short variant, and the full one marked ``soak``."""
    return [pytest.param(short, id="short"), pytest.param(full, id="soak", marks=pytest.mark.soak)]


def figure(drill: str, **values: Any) -> None:
    """One line of figures of a drill, printed (pytest -rA or -s shows it)."""
    print(f"[drill] {drill}: " + ", ".join(f"{name}={value}" for name, value in values.items()))


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """A migrated SQLite file with the test office's people: for the drills that are about SQLite alone."""
    url = f"sqlite:///{tmp_path / 'drill.db'}"
    settings = Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    db = make_engine(url)
    initialise(settings, db)
    with db.begin() as conn:
        for name, roles in OFFICE:
            add_user(conn, name, f"{name}@town.example.gov.cn", roles, utc_now())
    db.dispose()
    return settings
