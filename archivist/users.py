"""Web accounts: `users.yaml` next to config.yaml (SPEC §12), outside the derived `.archivist/`.

One entry per staff number; the password is kept only as an argon2 hash and the API token only as
a SHA-256 of it (a token is 32 random bytes, so a plain hash is enough and lookups stay cheap).
The file is written atomically like every log, and read with `safe_load`. Nothing here knows about
HTTP: the web app asks `verify_password` / `user_for_token`, the CLI manages the accounts.

    users:
      "02": {password: "$argon2id$…", admin: false, token: "sha256:…", changed: 2026-11-30T10:00:00+03:30}
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import store
from .config import Config
from .dates import now
from .errors import ArchivistError
from .i18n import _

USERS_FILE = "users.yaml"
MIN_PASSWORD = 8
# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) rather than the library's
# 64 MiB default: a morning's 30 logins at once must not need 2 GB; hashes made with other
# parameters keep verifying, since each hash names its own
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# verifying against this when the account does not exist costs the same as a real check, so the
# answer time does not tell which staff numbers have accounts
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User:
    staff: str
    password: str  # argon2 hash
    admin: bool = False
    token: str | None = None  # "sha256:<hex>"
    language: str | None = None

    @property
    def session_key(self) -> str:
        """Changes when the password does: a session signed with the old one stops working."""
        return hashlib.sha256(self.password.encode()).hexdigest()[:16]


def users_path(cfg: Config) -> Path:
    """users.yaml sits next to config.yaml (or in the current folder when there is no config file)."""
    base = cfg.path.parent if cfg.path else Path.cwd()
    return base / USERS_FILE


def load_users(cfg: Config) -> dict[str, User]:
    path = users_path(cfg)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ArchivistError(
            _("{path}: not valid YAML ({getattr}); fix it by hand").format(path=path, getattr=getattr(e, "problem", e))
        ) from None
    entries = raw.get("users") if isinstance(raw, dict) else None
    if entries is None:
        entries = {}
    if not isinstance(entries, dict):
        raise ArchivistError(_("{path}: 'users' must be a mapping of staff number to account").format(path=path))
    out = {}
    for key, entry in entries.items():
        staff = f"{key:02d}" if isinstance(key, int) else str(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("password"), str):
            raise ArchivistError(
                _("{path}: account {staff} has no password hash; set one with `archivist user passwd {staff}`").format(
                    path=path, staff=staff
                )
            )
        out[staff] = User(
            staff=staff,
            password=entry["password"],
            admin=bool(entry.get("admin")),
            token=entry.get("token") or None,
            language=entry.get("language") or None,
        )
    return out


def _save(cfg: Config, users: dict[str, User]) -> None:
    path = users_path(cfg)
    data: dict[str, Any] = {"users": {}}
    for staff in sorted(users):
        u = users[staff]
        entry: dict[str, Any] = {"password": u.password, "admin": u.admin}
        if u.token:
            entry["token"] = u.token
        if u.language:
            entry["language"] = u.language
        entry["changed"] = now(cfg.timezone).isoformat()
        data["users"][staff] = entry
    header = b"# archivist web accounts: argon2 password hashes and hashed API tokens only; manage with `archivist user`\n"
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    store.atomic_write(path, header + body)
    path.chmod(0o600)


def hash_password(password: str) -> str:
    """The argon2id hash kept in users.yaml (scripts that prepare accounts use it too)."""
    return _hasher.hash(password)


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ArchivistError(
            _("the password is too short: use at least {min_password} characters").format(min_password=MIN_PASSWORD)
        )
    return password


def _locked(cfg: Config) -> Any:
    return store.lock(store.layout_of(cfg), "users")


def add_user(cfg: Config, staff: str, password: str, admin: bool = False) -> User:
    staff = cfg.staff_number(staff, "staff")
    _check_password(password)
    with _locked(cfg):
        users = load_users(cfg)
        if staff in users:
            raise ArchivistError(
                _("staff {staff} already has an account; change its password with `archivist user passwd {staff}`").format(
                    staff=staff
                )
            )
        users[staff] = User(staff=staff, password=hash_password(password), admin=admin)
        _save(cfg, users)
        return users[staff]


def set_password(cfg: Config, staff: str, password: str) -> User:
    staff = cfg.staff_number(staff, "staff")
    _check_password(password)
    with _locked(cfg):
        users = load_users(cfg)
        if staff not in users:
            raise ArchivistError(_("staff {staff} has no account; add one with `archivist user add {staff}`").format(staff=staff))
        u = users[staff]
        users[staff] = User(staff, hash_password(password), u.admin, u.token, u.language)
        _save(cfg, users)
        return users[staff]


def remove_user(cfg: Config, staff: str) -> None:
    staff = cfg.staff_number(staff, "staff")
    with _locked(cfg):
        users = load_users(cfg)
        if staff not in users:
            raise ArchivistError(_("staff {staff} has no account").format(staff=staff))
        del users[staff]
        _save(cfg, users)


def new_token(cfg: Config, staff: str) -> str:
    """A fresh API token for `staff` (replacing any earlier one); only its hash is kept."""
    staff = cfg.staff_number(staff, "staff")
    token = f"{staff}.{secrets.token_urlsafe(32)}"
    with _locked(cfg):
        users = load_users(cfg)
        if staff not in users:
            raise ArchivistError(_("staff {staff} has no account; add one with `archivist user add {staff}`").format(staff=staff))
        u = users[staff]
        users[staff] = User(staff, u.password, u.admin, _token_hash(token), u.language)
        _save(cfg, users)
    return token


def _token_hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def verify_password(users: dict[str, User], staff: str, password: str) -> User | None:
    """The account when the password is right, else None (same cost whether the account exists)."""
    user = users.get(staff)
    try:
        _hasher.verify(user.password if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def user_for_token(users: dict[str, User], token: str) -> User | None:
    staff = token.partition(".")[0]
    user = users.get(staff)
    if user is None or not user.token:
        return None
    return user if hmac.compare_digest(user.token, _token_hash(token)) else None
