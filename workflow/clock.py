"""The wall clock, in one place: the shells read it and hand ``now`` to everything below.

The pure core never reads a clock; the engine takes a :data:`Clock` so that a worker pass
run ``--at`` a moment, or a test, decides as of that moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fixed(moment: dt.datetime) -> Clock:
    """A clock that always reads ``moment`` (one worker pass as of ``--at``)."""
    return lambda: moment
