"""Tokens: every one-character change of a signed token is refused, including the signature's last character,
whose spare bits base64 decoders ignore (found by the action-link drill, tests/reliability)."""

from __future__ import annotations

import string

import pytest

from workflow.tokens import TokenRefused, Tokens

ALPHABET = string.ascii_letters + string.digits + "-_."
tokens = Tokens("test-secret-0123456789-abcdefghijklmnopqrs")


def changed(token: str) -> list[str]:
    return [token[:i] + c + token[i + 1 :] for i in range(len(token)) for c in ALPHABET if c != token[i]]


def test_no_one_character_change_of_an_action_link_is_accepted() -> None:
    token = tokens.action("reviewer_a", 7, "clear", 3)
    assert tokens.read_action(token).item_id == 7
    accepted = []
    for mutated in changed(token):
        try:
            tokens.read_action(mutated)
            accepted.append(mutated)
        except TokenRefused as refused:
            assert refused.reason == "invalid"
    assert accepted == []


@pytest.mark.parametrize("kind", ["signin", "session"])
def test_no_one_character_change_of_a_signin_link_or_a_session_is_accepted(kind: str) -> None:
    if kind == "signin":
        token = tokens.signin("reviewer_a")
        for mutated in changed(token)[-len(ALPHABET) * 2 :]:  # the signature's end
            with pytest.raises(TokenRefused):
                tokens.read_signin(mutated)
    else:
        token = tokens.session("reviewer_a")
        assert [m for m in changed(token)[-len(ALPHABET) * 2 :] if tokens.read_session(m) is not None] == []
