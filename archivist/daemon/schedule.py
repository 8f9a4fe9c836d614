"""Jobs with a time of day, run by the daemon (no cron): daily review, monthly backup, Telegram.

What ran last is kept in `.archivist/schedule.json`, so a job whose time passed while the daemon
was down runs at the next start (the backup module keeps its own record of the last good run and
decides by itself whether one is due).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, time
from pathlib import Path
from typing import Any

from .. import backup, notify
from ..config import Config
from ..dates import fmt
from ..i18n import N_, _
from ..modes import make_dirs
from ..office import Health, health, office_status
from ..store import atomic_write, atomic_writer, layout_of

log = logging.getLogger("archivist.daemon")


def review_dir(cfg: Config) -> Path:
    return layout_of(cfg).state / "review"


def _state_file(cfg: Config) -> Path:
    return layout_of(cfg).state / "schedule.json"


def load_schedule(cfg: Config) -> dict[str, Any]:
    try:
        return json.loads(_state_file(cfg).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def save_schedule(cfg: Config, state: dict[str, Any]) -> None:
    atomic_write(_state_file(cfg), json.dumps(state, ensure_ascii=False, indent=1).encode("utf-8"))


def review_due(cfg: Config, now: datetime, state: dict[str, Any]) -> bool:
    """The review for `now`'s day is due once review_time has passed and it was not written yet."""
    hh, mm = (int(x) for x in cfg.daemon.review_time.split(":"))
    return now.time() >= time(hh, mm) and state.get("review") != now.date().isoformat()


def _line(cfg: Config, item: dict[str, Any]) -> str:
    code = item.get("case") or item.get("lead") or "?"
    when = item.get("next_followup")
    shown = ""
    if when:
        try:
            shown = fmt(datetime.fromisoformat(str(when)), cfg.calendar, cfg.timezone)
        except (ValueError, TypeError):
            shown = str(when)
    return f"  {code:>5}  {item.get('company', '')}  [{item.get('status', '')}]  {shown}".rstrip()


def render_review(
    cfg: Config, now: datetime, due_by_staff: dict[str, dict[str, list[dict[str, Any]]]], office: Health | None = None
) -> str:
    """The day's review as plain text: one section per staff member, overdue / today / stuck, then
    the office's health (the same lines as My day: daemon, backup, unfiled inbox files)."""

    def of(staff: str) -> Sections:
        due = due_by_staff.get(staff) or {}
        return {key: len(items) for key, items in due.items()}, dict(due)

    return "\n".join(review_lines(cfg, now, of, office))


REVIEW_SECTIONS = (("overdue", N_("Overdue follow-ups")), ("today", N_("Due today")), ("stuck", N_("Stuck")))
Sections = tuple[dict[str, int], "dict[str, Iterable[dict[str, Any]]]"]


def review_lines(
    cfg: Config, now: datetime, sections_of: Callable[[str], Sections], office: Health | None = None
) -> Iterator[str]:
    """The review's lines as the entries come; `sections_of(staff)` gives (counts, entries) per
    section and is asked when the review reaches that staff member."""
    yield _("Daily review — {now} ({isoformat})").format(
        now=fmt(now, cfg.calendar, cfg.timezone), isoformat=now.date().isoformat()
    )
    yield ""
    for staff, name in cfg.staff.items():
        counts, due = sections_of(staff)
        yield f"== {staff} {name} =="
        for key, title in REVIEW_SECTIONS:
            yield f"{_(title)} ({counts.get(key, 0)}):"
            for item in due.get(key) or ():
                yield _line(cfg, item)
        yield ""
    if office:
        yield _("== office ==")
        yield from (text for text, _level in office.values())
        yield ""


def write_review(cfg: Config, now: datetime, index: Any) -> Path:
    """Write `.archivist/review/YYYY-MM-DD.txt` from the index's `due` lists, line by line as the
    index hands the rows over: a review of 100,000 overdue records keeps the daemon's memory flat."""
    path = review_dir(cfg) / f"{now.date().isoformat()}.txt"
    make_dirs(path.parent)

    def of(staff: str) -> Sections:
        return index.due_counts(staff=staff, now=now), index.iter_due(staff=staff, now=now)

    office = health(cfg, office_status(cfg))
    with atomic_writer(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        for i, line in enumerate(review_lines(cfg, now, of, office)):
            text.write(line if i == 0 else "\n" + line)
        text.flush()
        text.detach()
    return path


def run_backup_if_due(cfg: Config, now: datetime) -> dict[str, Any] | None:
    """The backup module's own decision (missed runs included)."""
    return backup.run_if_due(cfg, now)


def flush_telegram(cfg: Config) -> int:
    return int(notify.flush(cfg) or 0)
