"""Jobs with a time of day, run by the daemon (no cron): daily review, monthly backup, Telegram.

What ran last is kept in `.archivist/schedule.json`, so a job whose time passed while the daemon
was down runs at the next start (the backup module keeps its own record of the last good run and
decides by itself whether one is due).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, time
from pathlib import Path
from typing import Any

from .. import backup, notify
from ..config import Config
from ..dates import fmt
from ..office import Health, health, office_status
from ..store import layout_of

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
    path = _state_file(cfg)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


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


def render_review(cfg: Config, now: datetime, due_by_staff: dict[str, dict[str, list[dict[str, Any]]]],
                  office: Health | None = None) -> str:
    """The day's review as plain text: one section per staff member, overdue / today / stuck, then
    the office's health (the same lines as My day: daemon, backup, unfiled inbox files)."""
    out = [f"Daily review — {fmt(now, cfg.calendar, cfg.timezone)} ({now.date().isoformat()})", ""]
    for staff, name in cfg.staff.items():
        due = due_by_staff.get(staff) or {}
        out.append(f"== {staff} {name} ==")
        for key, title in (("overdue", "Overdue follow-ups"), ("today", "Due today"), ("stuck", "Stuck")):
            items = due.get(key) or []
            out.append(f"{title} ({len(items)}):")
            out.extend(_line(cfg, it) for it in items)
        out.append("")
    if office:
        out.append("== office ==")
        out.extend(text for text, _level in office.values())
        out.append("")
    return "\n".join(out)


def write_review(cfg: Config, now: datetime, index: Any) -> Path:
    """Write `.archivist/review/YYYY-MM-DD.txt` from the index's `due` lists."""
    due = {staff: index.due(staff=staff, now=now) for staff in cfg.staff}
    path = review_dir(cfg) / f"{now.date().isoformat()}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_review(cfg, now, due, health(cfg, office_status(cfg))), encoding="utf-8")
    os.replace(tmp, path)
    return path


def run_backup_if_due(cfg: Config, now: datetime) -> dict[str, Any] | None:
    """The backup module's own decision (missed runs included)."""
    return backup.run_if_due(cfg, now)


def flush_telegram(cfg: Config) -> int:
    return int(notify.flush(cfg) or 0)
