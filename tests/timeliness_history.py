"""A small constructed history for the timeliness report, moved through the real chains (issue 11 item 4).

Office time is Asia/Shanghai; every step is at 10:00 office time unless said. April 2026: the
Tomb-sweeping holiday is Sat 4 to Mon 6, so Thu 2 and Fri 3 are followed by Tue 7.

=====  ====  ======================================  ===========================================
item   cat.  steps (office dates)                    working days
=====  ====  ======================================  ===========================================
A      03    created+submitted Wed 1 (drafter_a);    review 3 (2, 3, 7) in 5;
             cleared Tue 7 (reviewer_a);             sign-off 1 in 3;
             signed Wed 8 01:30 (= Tue 7 17:30 UTC)  publication 4 in 20
             by leader_a
B      03    created+submitted Thu 2 (drafter_b);    review 5 in 5 (due Fri 10, on time);
             cleared Fri 10 (reviewer_a);            sign-off 4 in 3: due Wed 15, 1 day late;
             signed Thu 16 (leader_b)                publication 9 in 20
C      07    created+submitted Fri 3 (drafter_a);    review 7 in 5: due Mon 13, 2 days late;
             cleared Wed 15 (reviewer_b);            sign-off 1 in 3;
             signed Thu 16 (leader_a)                publication 8 in 20
R      -     application received Wed 1, created     received 0 in 1; reply review 1 in 2;
             and registered Thu 2 (office_a); third  reply sign-off 1 in 2; statutory reply:
             party consulted Fri 3 to Fri 10 (4      (1, 15] has 9 working days, 4 of them
             working days paused); reply drafted     paused: 5 in 20
             Mon 13, cleared Tue 14 (reviewer_a),
             signed Wed 15 (leader_a)
=====  ====  ======================================  ===========================================

Confidentiality review (3, 5, 7): median 5, p90 7, 2 of 3 in time. Leadership sign-off (1, 4, 1):
median 1, p90 4, 2 of 3. Publication (4, 9, 8): median 8, p90 9, 3 of 3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.conftest import FrozenClock
from workflow.engine import WorkflowEngine

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An April 2026 moment in office time, as UTC."""
    return dt.datetime(2026, 4, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def build(engine: WorkflowEngine, clock: FrozenClock, make_item: Callable[..., int]) -> dict[str, int]:
    """The four items of the module's table; their ids by letter."""

    def step(moment: dt.datetime, item: int, trigger: str, actor: str, **kwargs: object) -> None:
        clock.now = moment
        engine.fire(item, trigger, actor, **kwargs)  # type: ignore[arg-type]

    clock.now = at(1)
    a = make_item(title="甲 防汛安排", actor="drafter_a", category="03")
    step(at(1), a, "submit", "drafter_a")
    clock.now = at(2)
    b = make_item(title="乙 预算公开", actor="drafter_b", category="03")
    step(at(2), b, "submit", "drafter_b")
    fields = {"requester": "王五", "requester_type": "natural_person", "channel": "online", "received_on": "2026-04-01"}
    r = make_item("disclosure_request", title="申请公开村道工程合同", fields=fields)
    step(at(2), r, "register", "office_a")
    clock.now = at(3)
    c = make_item(title="丙 应急预案", actor="drafter_a", category="07")
    step(at(3), c, "submit", "drafter_a")
    step(at(3), r, "consult_third_party", "office_a")
    step(at(7), a, "clear", "reviewer_a")
    step(at(8, 1, 30), a, "sign_off", "leader_a")
    step(at(10), b, "clear", "reviewer_a")
    step(at(10), r, "third_party_replied", "office_a")
    step(at(13), r, "draft_reply", "office_a", fields={"outcome": "disclosed"})
    step(at(14), r, "clear", "reviewer_a")
    step(at(15), c, "clear", "reviewer_b")
    step(at(15), r, "sign_off", "leader_a")
    step(at(16), b, "sign_off", "leader_b")
    step(at(16), c, "sign_off", "leader_a")
    return {"A": a, "B": b, "C": c, "R": r}
