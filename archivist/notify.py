"""Telegram announcements (SPEC §10): every message goes to an outbox first, then is sent.

The outbox lives under `<root>/.archivist/outbox/`:

    outbox/<ns>-<case>.json           waiting: the text, plus attempts / next_try / last_error
    outbox/<ns>-<case>.sending        written (fsynced) just before the HTTP request is made
    outbox/sent/<ns>-<case>.json      sent: the same payload plus Telegram's message_id and sent_at

Sending one message: write the `.sending` marker, POST `sendMessage`, write `sent/<name>.json`
atomically with the message id, then delete the waiting file and the marker. Each step is a
rename or an unlink, so a crash leaves one of these states, and the next `flush` resolves it:

* marker present, no `sent/` file: the process died during or right after the request, so the
  group may or may not have the message. Telegram's Bot API has no idempotency key and a bot cannot
  read back its own group messages, so we cannot know. We resend (nothing may be lost: the
  procedure wants every conversion announced) and log a warning that it may be a duplicate; the
  `sent/` file records `resent_after_crash: true`. The window is one HTTP round trip.
* `sent/` file present, waiting file still there: sent and recorded; the leftover is deleted
  without sending again. This is why the message id is written before the waiting file goes.
* a request that reached Telegram but whose answer was lost (timeout while reading) looks like
  a network failure and is retried: delivery is at-least-once, never at-most-once.

A conversion is queued *before* its log is saved (write-ahead, inside the record's lock), so no
crash can leave a saved conversion without its announcement. The price is the opposite case: a
crash after queueing but before the save leaves a message for a conversion that never happened.
So before sending, `flush` confirms the conversion on disk (the case's log says that case and
that lead). A message not yet confirmed waits `CONFIRM_GRACE` seconds (the conversion may be
being saved right now); after that it is looked for across the whole archive once (a crash after
the save but before the folder moved leaves it in applicants/), and if still absent it is moved
to `outbox/unconfirmed/` with a warning instead of being sent.

The token is read from the environment variable named by `telegram.token_env` at send time and
is never written anywhere: not in the outbox, not in `sent/`, not in logs, not in error messages
(every text that could carry the request URL goes through `_scrub`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config, TelegramConfig
from .errors import ArchivistError
from .i18n import _
from .modes import make_dirs
from .record import Record, load_record
from .store import atomic_write, fsync_dir, layout_of, locate, lock

if TYPE_CHECKING:
    import logging


def _log() -> logging.Logger:
    """This module's logger, imported when first needed: `child_env` brings this module into every
    reading command that starts a catch-up, and logging costs it milliseconds of start-up."""
    import logging

    return logging.getLogger(__name__)


REQUEST_TIMEOUT = 10.0  # seconds for one HTTP request
MAX_INLINE_WAIT = 60.0  # a 429's retry_after up to this is waited out inside flush
MAX_BACKOFF = 30 * 60.0  # between flushes, failed messages wait at most this long
CONFIRM_GRACE = 120.0  # a queued announcement may wait this long for its conversion's log


def outbox_dir(cfg: Config) -> Path:
    return layout_of(cfg).state / "outbox"


def sent_dir(cfg: Config) -> Path:
    return outbox_dir(cfg) / "sent"


def unconfirmed_dir(cfg: Config) -> Path:
    return outbox_dir(cfg) / "unconfirmed"


def announcement_text(cfg: Config, record: Record) -> str:
    """The template filled in (config loading refuses a template with unknown placeholders)."""
    return cfg.telegram.template.format(company=record.company, case=record.case, lead=record.lead)


def announce_conversion(cfg: Config, record: Record) -> None:
    """Queue `<company> — <case code>` for the group.

    Called while converting, before the log is saved (see the module notes). Queued even while no
    chat is configured: it waits in the outbox and goes out once `telegram.chat_id` is set.
    """
    text = announcement_text(cfg, record)
    box = outbox_dir(cfg)
    make_dirs(box)
    if _announced(cfg, record):
        return  # a conversion finished after a crash: its announcement is queued or sent already
    name = f"{time.time_ns()}-{record.case}.json"
    payload = {"chat_id": cfg.telegram.chat_id, "text": text, "case": record.case, "lead": record.lead, "queued": time.time()}
    atomic_write(box / name, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _announced(cfg: Config, record: Record) -> bool:
    """Whether this conversion's announcement waits in the outbox or was sent."""
    for folder in (outbox_dir(cfg), sent_dir(cfg)):
        for path in folder.glob(f"*-{record.case}.json"):
            data = _read(path)
            if data is not None and str(data.get("lead")) == str(record.lead) and str(data.get("case")) == str(record.case):
                return True
    return False


def queue_for_staff(cfg: Config, name: str, staff: str, text: str, **extra: Any) -> bool:
    """Queue `text` for one staff member (their `telegram.staff_chats` chat, else the group) under
    a name that says what it is (`digest-2026-11-30-07`); a name already waiting or sent is not
    queued again, so a restarted daemon never sends the same reminder twice. True if queued."""
    box = outbox_dir(cfg)
    make_dirs(box)
    file = f"{name}.json"
    if (box / file).exists() or (sent_dir(cfg) / file).exists():
        return False
    payload = {"staff": staff, "text": text, "queued": time.time(), **extra}
    atomic_write(box / file, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
    return True


def conversion_saved(cfg: Config, data: dict[str, Any], queued: float) -> bool | None:
    """Whether the conversion a message announces is on disk; None while it may still be saved."""
    case, lead = data.get("case"), data.get("lead")
    if not case or not lead:
        return True  # not a conversion announcement: nothing to confirm
    young = time.time() - queued < CONFIRM_GRACE
    try:  # while young, only the folder-name look-up; after that one search of every log
        rec = load_record(locate(cfg, str(case), scan=not young))
    except ArchivistError:
        rec = None
    if rec is not None and rec.case == str(case) and rec.lead == str(lead):
        return True
    return None if young else False


def _set_aside_unconfirmed(cfg: Config, path: Path, marker: Path, data: dict[str, Any]) -> None:
    make_dirs(unconfirmed_dir(cfg))
    _write(unconfirmed_dir(cfg) / path.name, data)
    _finish(path, marker)
    _log().warning(
        "outbox: %s not sent: no record has case %s with applicant code %s (archivist stopped before the "
        "conversion was saved?); kept in %s",
        path.name,
        data.get("case"),
        data.get("lead"),
        unconfirmed_dir(cfg),
    )


# -- configuration state ------------------------------------------------------------------------


def disabled_reason(cfg: Config) -> str | None:
    """Why nothing can be sent right now, in words the user can act on; None when ready."""
    if not cfg.telegram.enabled:
        return _("Telegram is off: set telegram.chat_id in config.yaml to the group's chat id")
    if not os.environ.get(cfg.telegram.token_env, "").strip():
        return _("Telegram token missing: export {token_env}=<bot token> (never put it in config.yaml)").format(
            token_env=cfg.telegram.token_env
        )
    return None


def pending(cfg: Config) -> list[Path]:
    box = outbox_dir(cfg)
    try:
        return sorted(p for p in box.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except FileNotFoundError:
        return []


def outbox_state(cfg: Config) -> dict[str, Any]:
    """What `notify flush` and `status` report: waiting and sent counts, the last error, why off."""
    waiting = pending(cfg)
    last_error = None
    for p in waiting:
        data = _read(p)
        if data and data.get("last_error"):
            last_error = data["last_error"]
    sd = sent_dir(cfg)
    sent = sum(1 for p in sd.iterdir() if p.suffix == ".json") if sd.is_dir() else 0
    ud = unconfirmed_dir(cfg)
    unconfirmed = sum(1 for p in ud.iterdir() if p.suffix == ".json") if ud.is_dir() else 0
    return {
        "waiting": len(waiting),
        "sent": sent,
        "unconfirmed": unconfirmed,
        "last_error": last_error,
        "disabled": disabled_reason(cfg),
    }


# -- sending ------------------------------------------------------------------------------------


class _RetryAfter(Exception):
    def __init__(self, seconds: float, text: str) -> None:
        super().__init__(text)
        self.seconds = seconds


class _Transient(Exception):
    """Network down, timeout, 5xx: try again later."""


class _Refused(Exception):
    """Telegram answered with a 4xx that waiting will not fix (bad chat id, bot removed, bad token)."""


def _jitter() -> float:
    import random  # only a failed send waits: not at the import of this module

    return random.uniform(0.8, 1.0)


def child_env(cfg: Config) -> dict[str, str]:
    """The environment for a child process archivist starts (rsync, an opener): ours without the
    Telegram token variable, so the secret stays in this process's memory only."""
    names = {cfg.telegram.token_env, TelegramConfig.token_env}
    return {k: v for k, v in os.environ.items() if k not in names}


def _forms(token: str) -> list[str]:
    """Every way the token can appear in a text: raw, URL-quoted (either way), repr-escaped (what
    http.client's 'URL can't contain control characters' puts in its message), JSON-escaped,
    and the same for the stripped token; longest first so a longer form is replaced whole."""
    import urllib.parse

    forms: set[str] = set()
    for t in {token, token.strip()}:
        if not t:
            continue
        forms |= {
            t,
            urllib.parse.quote(t),
            urllib.parse.quote(t, safe=""),
            urllib.parse.quote_plus(t),
            repr(t)[1:-1],
            t.encode("unicode_escape").decode("ascii"),
            json.dumps(t)[1:-1],
            json.dumps(t, ensure_ascii=False)[1:-1],
            repr(t.encode("utf-8", "surrogateescape"))[2:-1],
        }
    return sorted((f for f in forms if f), key=len, reverse=True)


def _scrub(text: str, token: str) -> str:
    """`text` with every representation of the token replaced by `<token>`."""
    for form in _forms(token):
        text = text.replace(form, "<token>")
    return text


def _send(api_base: str, token: str, chat_id: str, text: str) -> int:
    """POST sendMessage once; the message id, or one of the exceptions above (token scrubbed)."""
    # here, not at the top: http.client, urllib and email cost every command ~20 ms of start-up
    import http.client
    import urllib.error
    import urllib.request

    url = f"{api_base.rstrip('/')}/bot{token}/sendMessage"
    body = json.dumps({"chat_id": chat_id, "text": text}, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )  # untranslated: an HTTP header
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:
            answer = json.loads(resp.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as e:
        try:
            answer = json.loads(e.read().decode("utf-8") or "{}")
        except (ValueError, OSError, http.client.HTTPException):
            answer = {}
        desc = _scrub(str(answer.get("description") or e.reason or ""), token)
        params = answer.get("parameters") or {}
        if e.code == 429:
            wait = params.get("retry_after")
            raise _RetryAfter(
                float(wait) if isinstance(wait, (int, float)) else 5.0, f"HTTP 429 {desc}"
            ) from None  # untranslated: Telegram's own answer, kept as received
        if e.code >= 500:
            raise _Transient(
                f"HTTP {e.code} {desc}"
            ) from None  # untranslated: Telegram send error (outbox state, English like Telegram's answers)
        hint = ""
        if params.get("migrate_to_chat_id"):
            hint = f"; the group became a supergroup: set telegram.chat_id to {params['migrate_to_chat_id']}"  # untranslated: Telegram send error (outbox state, English like Telegram's answers)
        elif e.code == 401:
            hint = "; the bot token was not accepted, check the token variable"  # untranslated: a Telegram send error kept in the outbox state beside Telegram's own English answer
        raise _Refused(
            f"HTTP {e.code} {desc}{hint}"
        ) from None  # untranslated: Telegram send error (outbox state, English like Telegram's answers)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise _Transient(_scrub(f"{type(e).__name__}: {reason}", token)) from None
    if not answer.get("ok") or not isinstance(answer.get("result"), dict):
        # scrubbed before it is cut, so a cut can never leave part of the token behind
        raise _Transient(
            f"unexpected answer from Telegram: {_scrub(str(answer), token)[:200]}"
        )  # untranslated: Telegram send error (outbox state, English like Telegram's answers)
    return int(answer["result"].get("message_id", 0))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))


def _backoff(attempts: int) -> float:
    """Seconds before the next flush retries a message that failed `attempts` times (with jitter)."""
    return min(MAX_BACKOFF, 30.0 * 2 ** max(0, attempts - 1)) * _jitter()


def flush(
    cfg: Config, *, force: bool = False, tries: int = 3, delay: float = 0.5, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Send what waits in the outbox; returns how many messages went out. Safe to call often.

    A no-op when Telegram is not configured (see `disabled_reason`). Within one call a failed
    request is retried `tries` times with doubling delays from `delay`, and a 429's `retry_after`
    is waited out (up to MAX_INLINE_WAIT); after that the message stays in the outbox with a
    `next_try` time that later calls respect unless `force` (what `notify flush` does).
    Only one process flushes at a time; a concurrent call returns 0 at once.
    """
    if disabled_reason(cfg):
        return 0
    token = os.environ[cfg.telegram.token_env].strip()
    layout = layout_of(cfg)
    if not outbox_dir(cfg).is_dir():
        return 0
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lock(layout, "outbox", timeout=0.2))
        except ArchivistError:
            return 0  # another process (the daemon) is flushing right now
        return _flush_locked(cfg, token, force, max(1, tries), delay, sleep)
    return 0


def _paused_file(cfg: Config) -> Path:
    # A 429 limits the whole bot, not one message: remember it for every message and every process.
    return outbox_dir(cfg) / ".paused-until"


def _flush_locked(cfg: Config, token: str, force: bool, tries: int, delay: float, sleep: Callable[[float], None]) -> int:
    make_dirs(sent_dir(cfg))
    if not force:
        try:
            if float(_paused_file(cfg).read_text(encoding="utf-8")) > time.time():
                return 0
        except (OSError, ValueError):
            pass
    count = 0
    for path in pending(cfg):
        done = sent_dir(cfg) / path.name
        marker = path.with_suffix(".sending")
        if done.exists():  # sent and recorded before a crash: only the cleanup was missing
            _finish(path, marker)
            continue
        data = _read(path)
        if data is None:
            _log().warning("outbox: %s is not readable JSON; left in place", path.name)
            continue
        if not force and float(data.get("next_try") or 0) > time.time():
            continue
        queued = float(data.get("queued") or _mtime(path))
        saved = conversion_saved(cfg, data, queued)
        if saved is None:
            continue  # the conversion may be being saved right now: look again at the next flush
        if saved is False:
            _set_aside_unconfirmed(cfg, path, marker, data)
            continue
        chat = cfg.telegram.chat_for(data.get("staff"))
        if not chat:
            continue  # no chat for it yet (e.g. only staff_chats are set): it waits until there is one
        crashed = marker.exists()
        if crashed:
            _log().warning("outbox: %s was being sent when archivist stopped; sending again (may be a duplicate)", path.name)
        outcome = _deliver(cfg, token, path, marker, data, chat, tries, delay, sleep)
        if outcome is None:
            break  # offline or rate-limited: the rest would fail the same way
        if outcome is False:
            continue
        data.update({"message_id": outcome, "sent_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "chat_id": chat})
        for key in ("next_try", "last_error"):
            data.pop(key, None)
        if crashed:
            data["resent_after_crash"] = True
        _write(done, data)
        _finish(path, marker)
        _log().info("telegram: sent %s (message %s)", path.name, outcome)
        count += 1
    return count


def _deliver(
    cfg: Config,
    token: str,
    path: Path,
    marker: Path,
    data: dict[str, Any],
    chat: str,
    tries: int,
    delay: float,
    sleep: Callable[[float], None],
) -> int | bool | None:
    """The message id once sent; False if Telegram refused it; None if we should stop for now."""
    attempt = 0
    while True:
        attempt += 1
        _write(marker, {"started": time.time(), "attempt": attempt})
        try:
            return _send(cfg.telegram.api_base, token, chat, str(data.get("text", "")))
        except _RetryAfter as e:
            _unlink(marker)
            if e.seconds <= MAX_INLINE_WAIT and attempt < tries + 1:
                _log().info("telegram: rate limited, waiting %.0f s as asked", e.seconds)
                sleep(e.seconds)
                continue
            _postpone(path, data, _scrub(str(e), token), e.seconds)
            atomic_write(_paused_file(cfg), str(time.time() + e.seconds).encode())
            return None
        except _Transient as e:
            _unlink(marker)
            if attempt < tries:
                sleep(delay * 2 ** (attempt - 1))
                continue
            _postpone(path, data, _scrub(str(e), token), None)
            _log().warning("telegram: %s stays in the outbox: %s", path.name, _scrub(str(e), token))
            return None
        except _Refused as e:
            _unlink(marker)
            error = _scrub(str(e), token).replace(
                "the token variable", f"${cfg.telegram.token_env}"
            )  # untranslated: a Telegram send error kept in the outbox state beside Telegram's own English answer
            _postpone(path, data, error, None)
            _log().error("telegram: %s refused: %s", path.name, _scrub(str(e), token))
            return False


def _postpone(path: Path, data: dict[str, Any], error: str, wait: float | None) -> None:
    attempts = int(data.get("attempts") or 0) + 1
    data.update(
        {"attempts": attempts, "last_error": error, "next_try": time.time() + (wait if wait is not None else _backoff(attempts))}
    )
    _write(path, data)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _finish(path: Path, marker: Path) -> None:
    _unlink(path)
    _unlink(marker)
    fsync_dir(path.parent)
