"""When the monthly backup is due (Jalali or Gregorian month slots), and running it if so."""

from __future__ import annotations

import contextlib
import os
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime

from .. import dates
from ..config import Config
from ..errors import ArchivistError
from .run import history, run_backup
from .snapshots import latest_complete, stamp_time
from .target import resolve_target, target_ready

RETRY_AFTER = timedelta(hours=1)  # a refused or failed scheduled run is retried at most this often


def _hm(cfg: Config) -> tuple[int, int]:
    hh, _, mm = cfg.backup.time.partition(":")
    return int(hh or 0), int(mm or 0)


def _jalali_month_slot(cfg: Config, y: int, m: int) -> datetime:
    while m > 12:
        y, m = y + 1, m - 12
    while m < 1:
        y, m = y - 1, m + 12
    day = cfg.backup.day
    while day > 28:
        try:
            jdatetime.date(y, m, day)
            break
        except ValueError:
            day -= 1
    g = jdatetime.date(y, m, max(1, day)).togregorian()
    hh, mm = _hm(cfg)
    return datetime(g.year, g.month, g.day, hh, mm, tzinfo=ZoneInfo(cfg.timezone))


def _gregorian_month_slot(cfg: Config, y: int, m: int) -> datetime:
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    last = (nxt - timedelta(days=1)).day
    hh, mm = _hm(cfg)
    return datetime(y, m, max(1, min(cfg.backup.day, last)), hh, mm, tzinfo=ZoneInfo(cfg.timezone))


def _slots_around(cfg: Config, t: datetime) -> list[datetime]:
    """Scheduled instants from a little before `t` to a little after it, in order.

    monthly: `day` of each month (of the Jalali month when calendar is jalali; clamped to the
    month's length) at `time`; weekly: ISO weekday `day` (1 = Monday … 7 = Sunday); daily: `time`.
    """
    local = t.astimezone(ZoneInfo(cfg.timezone))
    hh, mm = _hm(cfg)
    kind = cfg.backup.schedule
    if kind == "monthly":
        if cfg.calendar == "jalali":
            j = jdatetime.date.fromgregorian(date=local.date())
            return [_jalali_month_slot(cfg, j.year, j.month + k) for k in (-1, 0, 1, 2)]
        return [_gregorian_month_slot(cfg, local.year, local.month + k) for k in (-1, 0, 1, 2)]
    if kind == "weekly":
        base = local.date() - timedelta(days=local.isoweekday() - max(1, min(7, cfg.backup.day)))
        days = [base + timedelta(weeks=k) for k in (-1, 0, 1, 2)]
    else:
        days = [local.date() + timedelta(days=k) for k in (-1, 0, 1)]
    return [datetime(d.year, d.month, d.day, hh, mm, tzinfo=ZoneInfo(cfg.timezone)) for d in days]


def next_slot_after(cfg: Config, t: datetime) -> datetime:
    return next(s for s in _slots_around(cfg, t) if s > t)


def last_slot_at_or_before(cfg: Config, t: datetime) -> datetime:
    return [s for s in _slots_around(cfg, t) if s <= t][-1]


def last_ok(cfg: Config, target: str | os.PathLike[str] | None = None) -> datetime | None:
    """The last good backup: from the run history, or from the drive when .archivist/ was rebuilt."""
    best: datetime | None = None
    for run in history(cfg):
        if run.get("ok") and run.get("started"):
            with contextlib.suppress(ValueError, TypeError):
                t = datetime.fromisoformat(str(run["started"]))
                best = t if best is None or t > best else best
    if target_ready(cfg, target):
        snap = latest_complete(resolve_target(cfg, target))
        if snap:
            t = stamp_time(snap.name, cfg.timezone)
            best = t if best is None or t > best else best
    return best


def schedule_state(cfg: Config, now: datetime | None = None) -> dict[str, Any]:
    """For `status` and the TUI: last good backup, when the next is due, overdue, drive ready.

    A backup is overdue as soon as its scheduled time has passed without a good run (a missed run
    is run by the daemon at its next start once the drive is present); never backed up means
    overdue since the most recent scheduled time.
    """
    now = now or dates.now(cfg.timezone)
    ready = target_ready(cfg)
    last = last_ok(cfg)
    state: dict[str, Any] = {
        "last_ok": last.isoformat() if last else None,
        "next_due": None,
        "overdue": False,
        "target_ready": ready,
        "target": str(cfg.backup.target) if cfg.backup.target else None,
        "schedule": cfg.backup.schedule,
    }
    if cfg.backup.schedule == "off":
        return state
    due = next_slot_after(cfg, last) if last else last_slot_at_or_before(cfg, now)
    state["next_due"] = due.isoformat()
    state["overdue"] = now >= due
    return state


_last_attempt: dict[str, datetime] = {}


def run_if_due(cfg: Config, now: datetime | None = None) -> dict[str, Any] | None:
    """The daemon's scheduler hook: run a backup when one is due and the drive is present.

    Returns the run's summary, None when nothing was due or the drive is absent, or
    `{"ok": False, "error": …}` when a guard refused or rsync failed (then it waits RETRY_AFTER
    before trying again, so a refusing guard is not hammered every minute). Never raises for
    user-fixable problems: the daemon only logs what it gets.
    """
    now = now or dates.now(cfg.timezone)
    state = schedule_state(cfg, now)
    if not state["overdue"] or not state["target_ready"]:
        return None
    key = str(cfg.root)
    tried = _last_attempt.get(key)
    if tried and now - tried < RETRY_AFTER:
        return None
    try:
        summary = run_backup(cfg)
    except ArchivistError as e:
        _last_attempt[key] = now
        return {"ok": False, "error": str(e), "at": now.isoformat()}
    _last_attempt.pop(key, None)
    return summary


def advice(cfg: Config, state: dict[str, Any]) -> tuple[str, str]:
    """What is true about the backup and the one command that fixes it, in the reader's language
    and calendar: (text, level) with level ok | warning | error. One wording for `status`,
    `backup status` and My day (issue 16: a new install was told to "plug in the drive" it never had,
    and shown a "next backup" date already past)."""
    from ..i18n import _

    def when(iso: str | None) -> str:
        return dates.shown(iso, cfg.calendar, cfg.timezone, none="")

    last = when(state.get("last_ok"))
    if cfg.backup.schedule == "off":
        return (_("backups are off (backup.schedule: off); last backup {when}").format(when=last or _("never")), "warning")
    if not state.get("target"):
        return (
            _(
                "no backup drive is set up yet: prepare one with `archivist backup init-target PATH`, "
                "then set backup.target in config.yaml"
            ),
            "error",
        )
    if not state.get("target_ready"):
        since = _("last backup {when}").format(when=last) if last else _("never backed up")
        return (
            _(
                "backup drive not connected ({target}): plug it in; if it is a new drive, prepare it with "
                "`archivist backup init-target {target}` ({since})"
            ).format(target=state["target"], since=since),
            "error",
        )
    if not last:
        return (_("no backup yet: the daemon makes the first one now, or run `archivist backup run`"), "warning")
    if state.get("overdue"):
        return (
            _("backup overdue since {due} (last {when}): the daemon makes it now, or run `archivist backup run`").format(
                due=when(state.get("next_due")), when=last
            ),
            "error",
        )
    return (_("last backup {when} · next {due}").format(when=last, due=when(state.get("next_due"))), "ok")
