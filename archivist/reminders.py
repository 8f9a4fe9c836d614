"""Reminders that come to staff (procedure: first call within 24 h, a daily review of one's list).

Each morning at `daemon.review_time` every staff member gets their day — overdue follow-ups, due
today, stuck records — in Telegram: their own chat (`telegram.staff_chats`) or the group. An
applicant whose first call time passes without a call is announced once, when it passes. Both go
through the same outbox as conversion announcements (retries, rate limits, token only from the
environment); each message has a name (`digest-<day>-<staff>`, `firstcall-<lead>-<time>`), so a
restart never sends one twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .config import Config
from .dates import as_datetime, fmt
from .i18n import _, stage_label
from .notify import queue_for_staff

MAX_LINES = 15  # per section: a Telegram message holds 4096 characters


def _line(cfg: Config, item: dict[str, Any]) -> str:
    code = item.get("case") or item.get("lead") or "?"
    when = as_datetime(item.get("next_followup"), cfg.timezone) if item.get("next_followup") else None
    shown = f" · {fmt(when, cfg.calendar, cfg.timezone)}" if when else ""
    return f"• {code} {item.get('company', '')} ({stage_label(item.get('status'))}){shown}"


def digest_text(
    cfg: Config, staff: str, now: datetime, due: dict[str, list[dict[str, Any]]], counts: Mapping[str, int] | None = None
) -> str:
    """One staff member's day, most urgent first. `counts` (entries per section) lets `due` hold
    only the first MAX_LINES of each section (the daemon's review tick at 100,000 records)."""
    lines = [
        _("Your day, {name} ({staff}) — {date}").format(
            name=cfg.staff.get(staff, ""), staff=staff, date=fmt(now, cfg.calendar, cfg.timezone, time=False)
        )
    ]
    titles = (("overdue", _("Overdue follow-ups")), ("today", _("Due today")), ("stuck", _("Stuck")))
    if not any(due.get(key) for key, _title in titles):
        lines.append(_("Nothing overdue, nothing due today, nothing stuck."))
    for key, title in titles:
        items = due.get(key) or []
        if not items:
            continue
        total = counts[key] if counts is not None and key in counts else len(items)
        lines.append("")
        lines.append(f"{title} ({total}):")
        lines.extend(_line(cfg, it) for it in items[:MAX_LINES])
        if total > MAX_LINES:
            lines.append(_("… and {n} more (F3 in archivist)").format(n=total - MAX_LINES))
    return "\n".join(lines)


def queue_digests(
    cfg: Config,
    now: datetime,
    due_by_staff: dict[str, dict[str, list[dict[str, Any]]]],
    counts_by_staff: Mapping[str, Mapping[str, int]] | None = None,
) -> int:
    """Queue the morning digest of every staff member who has somewhere to receive it
    (`counts_by_staff`: see digest_text)."""
    count = 0
    day = now.date().isoformat()
    for staff in cfg.staff:
        if not cfg.telegram.chat_for(staff):
            continue  # a digest is for today: it is not kept for a chat configured later
        counts = counts_by_staff.get(staff) if counts_by_staff is not None else None
        text = digest_text(cfg, staff, now, due_by_staff.get(staff) or {}, counts)
        if queue_for_staff(cfg, f"digest-{day}-{staff}", staff, text, kind="digest", day=day):
            count += 1
    return count


def first_call_text(cfg: Config, item: dict[str, Any]) -> str:
    when = as_datetime(item.get("next_followup"), cfg.timezone)
    staff = str(item.get("staff") or "")
    return _("First call overdue: {company} ({code}), due {when} · staff {staff} {name}").format(
        company=item.get("company", ""),
        code=item.get("lead"),
        when=fmt(when, cfg.calendar, cfg.timezone),
        staff=staff,
        name=cfg.staff.get(staff, ""),
    )


def queue_first_calls(cfg: Config, items: list[dict[str, Any]]) -> int:
    """Queue one announcement per applicant whose first call just passed (to its staff member)."""
    count = 0
    for item in items:
        staff = str(item.get("staff") or "")
        if not cfg.telegram.chat_for(staff):
            continue
        when = as_datetime(item.get("next_followup"), cfg.timezone)
        stamp = int(when.timestamp()) if when else 0
        if queue_for_staff(
            cfg,
            f"firstcall-{item.get('lead')}-{stamp}",
            staff,
            first_call_text(cfg, item),
            kind="first-call",
            lead=item.get("lead"),
        ):
            count += 1
    return count
