"""Signed, expiring tokens: action links in emails, sign-in links, sessions, form (CSRF) tokens.

Each kind is signed with its own salt, so a token of one kind is never accepted as
another. Signing and expiry use the server's wall clock (itsdangerous reads
``time.time()``), never the ``--at`` moment of a worker pass. One-time use is the
caller's business (the ``used_tokens`` table): a token only carries its own id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode

ACTION_MAX_AGE = dt.timedelta(days=7)
SIGNIN_MAX_AGE = dt.timedelta(minutes=30)
SESSION_MAX_AGE = dt.timedelta(hours=8)


class TokenRefused(Exception):
    """``reason`` is ``expired`` or ``invalid`` (altered, truncated, of another kind or another secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ActionClaim:
    """What an action link authorises: this person, this decision, on this version of this item, once."""

    token_id: str
    user: str
    item_id: int
    trigger: str
    version: int


@dataclass(frozen=True)
class SigninClaim:
    token_id: str
    user: str


class Tokens:
    def __init__(
        self,
        secret: str,
        *,
        action_max_age: dt.timedelta = ACTION_MAX_AGE,
        signin_max_age: dt.timedelta = SIGNIN_MAX_AGE,
        session_max_age: dt.timedelta = SESSION_MAX_AGE,
    ) -> None:
        self._secret = secret
        self._action = URLSafeTimedSerializer(secret, salt="gongkai.action")
        self._signin = URLSafeTimedSerializer(secret, salt="gongkai.signin")
        self._session = URLSafeTimedSerializer(secret, salt="gongkai.session")
        self.action_max_age = action_max_age
        self.signin_max_age = signin_max_age
        self.session_max_age = session_max_age

    # ---- action links -------------------------------------------------------------------------

    def action(self, user: str, item_id: int, trigger: str, version: int) -> str:
        payload = {"u": user, "i": item_id, "t": trigger, "v": version, "n": secrets.token_urlsafe(12)}
        return str(self._action.dumps(payload))

    def action_url(self, base_url: str, user: str, item_id: int, trigger: str, version: int) -> str:
        """The link of one decision in an email (``notifications.render.LinkSigner``)."""
        return f"{base_url.rstrip('/')}/act/{self.action(user, item_id, trigger, version)}"

    def read_action(self, token: str) -> ActionClaim:
        data = _load(self._action, token, self.action_max_age)
        try:
            return ActionClaim(
                token_id=_token_id("action", str(data["n"])),
                user=str(data["u"]),
                item_id=int(data["i"]),
                trigger=str(data["t"]),
                version=int(data["v"]),
            )
        except (KeyError, TypeError, ValueError):
            raise TokenRefused("invalid") from None

    # ---- sign-in links and sessions ------------------------------------------------------------

    def signin(self, user: str) -> str:
        return str(self._signin.dumps({"u": user, "n": secrets.token_urlsafe(12)}))

    def read_signin(self, token: str) -> SigninClaim:
        data = _load(self._signin, token, self.signin_max_age)
        try:
            return SigninClaim(_token_id("signin", str(data["n"])), str(data["u"]))
        except (KeyError, TypeError):
            raise TokenRefused("invalid") from None

    def session(self, user: str) -> str:
        return str(self._session.dumps({"u": user}))

    def read_session(self, cookie: str | None) -> str | None:
        """The signed-in person, or None for no, an altered or an expired session."""
        if not cookie:
            return None
        try:
            data = _load(self._session, cookie, self.session_max_age)
        except TokenRefused:
            return None
        user = data.get("u")
        return user if isinstance(user, str) else None

    # ---- forms ---------------------------------------------------------------------------------

    def csrf(self, cookie_value: str) -> str:
        """The form token for a browser's CSRF cookie (double submit, signed: a cookie alone is not enough)."""
        return hmac.new(self._secret.encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()

    def check_csrf(self, cookie_value: str | None, form_value: str | None) -> bool:
        if not cookie_value or not form_value:
            return False
        return hmac.compare_digest(self.csrf(cookie_value), form_value)


def _load(serializer: URLSafeTimedSerializer, token: str, max_age: dt.timedelta) -> dict[str, Any]:
    if not _canonical_signature(token):
        raise TokenRefused("invalid")
    try:
        data = serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise TokenRefused("expired") from None
    except BadSignature:
        raise TokenRefused("invalid") from None
    if not isinstance(data, dict):
        raise TokenRefused("invalid")
    return data


def _canonical_signature(token: str) -> bool:
    """The signature's base64 must be the one encoding of its bytes.

    Its last character carries bits the decoder ignores, so without this check a link with that character
    changed (to one of three others) would still be accepted: a mutated token must be refused like any other.
    """
    signature = token.rsplit(".", 1)[-1]
    try:
        return base64_encode(base64_decode(signature)).decode("ascii") == signature
    except (BadData, ValueError):
        return False


def _token_id(kind: str, nonce: str) -> str:
    """What ``used_tokens`` stores: a hash, so the table holds no usable token."""
    return hashlib.sha256(f"{kind}:{nonce}".encode()).hexdigest()
