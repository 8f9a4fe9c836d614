"""Sessions, CSRF tokens, login throttling and the security headers.

The session is a signed cookie (itsdangerous), HttpOnly and SameSite=Lax, re-signed on each request
so it expires after `web.session_minutes` of idleness. It carries the staff number, a key derived
from the password hash (a password change ends every old session), the CSRF token every form sends
back as `csrf_token`, and a one-shot message for the next page. The signing key lives in the state
folder: deleting `.archivist/` only logs everyone out.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..modes import make_dirs

COOKIE = "archivist_session"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"  # untranslated: an HTTP header (Content-Security-Policy)
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def secret_key(state_dir: Path) -> bytes:
    """The cookie-signing key, made once (0600) in the state folder."""
    path = state_dir / "web-secret"
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    make_dirs(state_dir)
    tmp = path.with_name(f".web-secret.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(48))
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # first writer wins; a second server started at the same time reads it
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_bytes()


@dataclass
class Session:
    staff: str | None = None
    key: str = ""
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    flash: list[tuple[str, str]] = field(default_factory=list)  # (level, text)

    def to_dict(self) -> dict[str, Any]:
        return {"s": self.staff, "k": self.key, "c": self.csrf, "f": self.flash}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Session:
        flash = [tuple(x) for x in d.get("f") or [] if isinstance(x, list | tuple) and len(x) == 2]
        return cls(staff=d.get("s"), key=str(d.get("k") or ""), csrf=str(d.get("c") or secrets.token_urlsafe(24)), flash=flash)  # type: ignore[arg-type]


class SessionCodec:
    def __init__(self, key: bytes, idle_seconds: int) -> None:
        self._s = URLSafeTimedSerializer(key, salt="archivist-session")
        self.idle_seconds = idle_seconds

    def load(self, cookie: str | None) -> tuple[Session | None, bool]:
        """(session, expired): None for no cookie or a bad signature; expired=True after idling."""
        if not cookie:
            return None, False
        try:
            data = self._s.loads(cookie, max_age=self.idle_seconds)
        except BadSignature as e:
            expired = type(e).__name__ == "SignatureExpired"
            return None, expired
        if not isinstance(data, dict):
            return None, False
        return Session.from_dict(data), False

    def dump(self, session: Session) -> str:
        return self._s.dumps(session.to_dict())


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return bool(session and sent and hmac.compare_digest(session.csrf, sent))


class LoginThrottle:
    """Failed logins per account and per address in the last minute: slowed after a few, refused
    (429) after `limit`. In memory: a restart forgets, which costs an attacker a restart each time."""

    def __init__(self, limit: int = 10, window: float = 60.0, free: int = 3, step: float = 0.25, max_delay: float = 2.0) -> None:
        self.limit, self.window, self.free, self.step, self.max_delay = limit, window, free, step, max_delay
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, t: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] <= t - self.window:
            q.popleft()
        return q

    def refused(self, keys: list[str]) -> bool:
        t = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, t)) >= self.limit for k in keys)

    def failed(self, keys: list[str]) -> float:
        """Record a failure; the delay (seconds) to wait before answering it."""
        t = time.monotonic()
        with self._lock:
            worst = 0
            for k in keys:
                q = self._recent(k, t)
                q.append(t)
                worst = max(worst, len(q))
            for k in [k for k, q in self._fails.items() if not q]:
                del self._fails[k]
        return min(self.max_delay, self.step * max(0, worst - self.free))

    def succeeded(self, account_key: str) -> None:
        with self._lock:
            self._fails.pop(account_key, None)
