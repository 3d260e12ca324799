"""Action links under attack: mutated tokens (another item, person, trigger, version, expired by one second,
one character changed) are all refused through the web routes, and cookieless GET and HEAD requests (mail
scanners, link previews) on genuine links act on nothing."""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from itsdangerous.encoding import base64_decode, base64_encode

from tests.conftest import FrozenClock
from tests.reliability.conftest import figure, sizes
from tests.web_support import Web, make_web
from workflow.engine import WorkflowEngine
from workflow.settings import Settings
from workflow.tokens import ACTION_MAX_AGE

ALPHABET = string.ascii_letters + string.digits + "-_"
KINDS = ("item", "person", "trigger", "version", "expired", "character")


@pytest.fixture
def web(engine: WorkflowEngine, settings: Settings, tmp_path: Path, clock: FrozenClock) -> Web:
    return make_web(engine, settings, tmp_path / "mail", clock)


def with_claim(token: str, **changes: object) -> str:
    """The token's payload changed (as someone editing a link would), its timestamp and signature kept."""
    payload, stamp, signature = token.split(".")
    data = json.loads(base64_decode(payload))
    data.update(changes)
    encoded = base64_encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    return f"{encoded}.{stamp}.{signature}"


def signed_ago(web: Web, seconds: float, monkeypatch: pytest.MonkeyPatch, *claim: object) -> str:
    real = time.time()
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: real - seconds)
        return web.tokens.action(*claim)  # type: ignore[arg-type]


def mutate(kind: str, token: str, rng: random.Random, other_item: int, version: int) -> str:
    if kind == "item":
        return with_claim(token, i=other_item)
    if kind == "person":
        return with_claim(token, u=rng.choice(["reviewer_b", "leader_a", "drafter_a", "admin_a"]))
    if kind == "trigger":
        return with_claim(token, t=rng.choice(["send_back", "withhold", "sign_off", "submit"]))
    if kind == "version":
        return with_claim(token, v=version + rng.choice([-1, 1, 2]))
    at = rng.randrange(len(token))
    replacement = rng.choice([c for c in ALPHABET + "." if c != token[at]])
    return token[:at] + replacement + token[at + 1 :]


@pytest.mark.slow
@pytest.mark.parametrize("count", sizes(1_000, 10_000))
def test_mutated_action_links_are_all_refused(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int], monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    target, other = make_item(title="目标信息"), make_item(title="另一条信息")
    for item_id in (target, other):
        engine.fire(item_id, "submit", "drafter_a")
    version = engine.show(target).version
    genuine = web.tokens.action("reviewer_a", target, "clear", version)
    # The boundary is real: a minute inside the link's life it opens; one second past it, it is refused.
    inside = signed_ago(web, ACTION_MAX_AGE.total_seconds() - 60, monkeypatch, "reviewer_a", target, "clear", version)
    assert web.client.get(f"/act/{inside}").status_code == 200
    before = (engine.show(target).version, engine.show(other).version, web.audit_count(), web.used_count())
    csrf = web.csrf()
    rng = random.Random(count)
    statuses: dict[str, dict[int, int]] = {kind: {} for kind in KINDS}
    started = time.perf_counter()
    for n in range(count):
        kind = KINDS[n % len(KINDS)]
        if kind == "expired":
            token = signed_ago(web, ACTION_MAX_AGE.total_seconds() + 1, monkeypatch, "reviewer_a", target, "clear",
                               version)  # fmt: skip
        else:
            token = mutate(kind, genuine, rng, other, version)
        assert token != genuine
        response = web.client.post(f"/act/{token}", data={"csrf": csrf, "comment": "无涉密内容"})
        statuses[kind][response.status_code] = statuses[kind].get(response.status_code, 0) + 1
    seconds = time.perf_counter() - started
    after = (engine.show(target).version, engine.show(other).version, web.audit_count(), web.used_count())
    accepted = sum(n for by_status in statuses.values() for status, n in by_status.items() if status < 400)
    figure("mutated action links", database=engine.db.dialect.name, tokens=count, accepted=accepted,
           statuses={kind: dict(sorted(s.items())) for kind, s in statuses.items()},
           per_second=f"{count / seconds:.0f}")  # fmt: skip
    assert accepted == 0
    assert all(status in (400, 404, 410) for by_status in statuses.values() for status in by_status), statuses
    assert after == before
    # And the genuine link still decides: the drill could have seen an acceptance.
    assert web.client.post(f"/act/{genuine}", data={"csrf": csrf, "comment": "无涉密内容"}).status_code == 200
    assert engine.show(target).state == "leadership_signoff"


@pytest.mark.slow
def test_cookieless_get_and_head_on_action_links_act_on_nothing(
    web: Web, engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    items = [make_item(title=f"信息 {n}") for n in range(5)]
    for item_id in items:
        engine.fire(item_id, "submit", "drafter_a")
    links = [web.link(person, item_id, trigger) for item_id in items for person in ("reviewer_a", "reviewer_b")
             for trigger in ("clear", "send_back", "withhold")]  # fmt: skip
    before = ([engine.show(i).version for i in items], web.audit_count(), web.used_count())
    seen: dict[int, int] = {}
    for n in range(100):
        web.client.cookies.clear()  # a scanner: no session, no CSRF cookie
        link = links[n % len(links)]
        response = web.client.head(link) if n % 2 else web.client.get(link)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
    after = ([engine.show(i).version for i in items], web.audit_count(), web.used_count())
    figure("cookieless GET/HEAD", database=engine.db.dialect.name, requests=100, statuses=seen,
           changed=int(after != before))  # fmt: skip
    assert after == before
    assert seen == {200: 100}  # the confirmation page is shown, and nothing more
