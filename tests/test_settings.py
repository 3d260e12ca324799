"""Settings are read from the environment once, at the entry points, and checked there."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from notifications.settings import MailSettings
from tests.conftest import AUDIT_KEY, DEFINITIONS, ROOT
from tests.env import outside_env
from workflow.cli.demo import demo_settings
from workflow.clock import fixed, utc_now
from workflow.core.errors import ConfigurationError
from workflow.settings import Settings
from workflow.wiring import open_engine


def test_the_worker_interval_is_a_positive_number_of_seconds() -> None:
    assert Settings.from_env({}).worker_interval == 60
    assert Settings.from_env({"GONGKAI_WORKER_INTERVAL": " 20 "}).worker_interval == 20
    for bad in ("0", "-5", "1.5", "soon"):
        with pytest.raises(ConfigurationError) as refused:
            Settings.from_env({"GONGKAI_WORKER_INTERVAL": bad})
        assert refused.value.render("en") == (
            f"GONGKAI_WORKER_INTERVAL must be a positive whole number, not '{bad.strip()}'"
        )


def test_a_bad_interval_stops_the_worker_at_start_with_one_clear_line(tmp_path: Path) -> None:
    env = {
        **outside_env(),
        "GONGKAI_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}", "GONGKAI_WORKER_INTERVAL": "0",
        "GONGKAI_LANG": "en",
    }  # fmt: skip
    refused = subprocess.run(
        [sys.executable, str(ROOT / "run_worker.py")], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == "GONGKAI_WORKER_INTERVAL must be a positive whole number, not '0'"
    assert not (tmp_path / "never.db").exists()


def test_errors_about_settings_are_told_in_the_language_asked_for_when_it_is_one_we_speak() -> None:
    assert Settings.lang_for_errors({"GONGKAI_LANG": " EN "}) == "en"
    assert Settings.lang_for_errors({"GONGKAI_LANG": "fr"}) == "zh"
    assert Settings.lang_for_errors({}) == "zh"


def test_the_demo_uses_its_own_database_and_keys_unless_the_settings_name_them(tmp_path: Path) -> None:
    said: list[str] = []
    unnamed = Settings.from_env({"GONGKAI_AUDIT_KEY": AUDIT_KEY})
    assert not unnamed.database_named
    demo = demo_settings(unnamed, tmp_path / "demo", said.append)
    assert demo.database_url == f"sqlite:///{tmp_path / 'demo' / 'gongkai.db'}"
    assert demo.audit_key == AUDIT_KEY and demo.secret_key == (tmp_path / "demo" / "secret.key").read_text().strip()
    assert not (tmp_path / "demo" / "audit.key").exists()
    named = Settings.from_env({"GONGKAI_DATABASE_URL": "sqlite:///office.db"})
    assert named.database_named
    kept = demo_settings(named, tmp_path / "demo", said.append)
    assert kept.database_url == "sqlite:///office.db"
    assert kept.audit_key == (tmp_path / "demo" / "audit.key").read_text().strip()


def test_the_engine_dates_what_it_does_by_the_clock_it_is_given(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", definitions_dir=DEFINITIONS, audit_key=None)
    moment = dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)
    mail = MailSettings(smtp_url=None)
    assert open_engine(settings, mail=mail, clock=fixed(moment)).clock() == moment
    assert open_engine(settings, mail=mail).clock() - utc_now() < dt.timedelta(seconds=5)
