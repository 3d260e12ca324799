"""The environment a test gives a command it starts: none of the caller's GONGKAI_* settings, except where
the test's own site and channel files go (tests/conftest.py points both at the test's tmp folder)."""

from __future__ import annotations

import os

KEPT = ("GONGKAI_SITE_DIR", "GONGKAI_CHANNELS_DIR")


def outside_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GONGKAI_") or k in KEPT}
