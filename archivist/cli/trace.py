"""Traceability commands: `trace NUMBER`, `history CODE`, `notify flush`."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date, datetime
from typing import Any

from .. import invoices, notify, workflow
from ..dates import as_datetime, fmt
from ..errors import ArchivistError
from ..i18n import _, kind_label, ngettext, stage_label
from ..index import cached_search
from ..record import Record
from . import Context, command_help, json_flag


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace", help=command_help("trace"))
    p.add_argument("number", help=_("invoice number, tax-authority ID or contract number (any digits)"))
    p.add_argument("--stamp", action="store_true", help=_("also print the stamp text of a traced invoice"))
    json_flag(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("history", help=command_help("history"))
    p.add_argument("code")
    json_flag(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("notify", help=command_help("notify"))
    nsub = p.add_subparsers(dest="notify_command", metavar="ACTION")
    nsub.required = True
    f = nsub.add_parser("flush", help=_("send what waits in the outbox now (retries, honours rate limits)"))
    json_flag(f)
    f.set_defaults(func=cmd_notify_flush)


def describe_matches(ctx: Context, matches: list[dict[str, Any]]) -> list[str]:
    """Earlier records that look like the same company: code, stage, last event, why."""
    lines = []
    for m in matches:
        last = m.get("last_event") or {}
        at = as_datetime(last.get("at"), ctx.cfg.timezone) if last.get("at") else None
        when = (
            f"{kind_label(last.get('kind'))} {fmt(at, ctx.cfg.calendar, ctx.cfg.timezone, time=False)}"
            if last
            else _("no events")
        )
        lines.append(
            _("  {code}  {status:<10} last: {when}  ({why})  {company}").format(
                code=m["code"], status=stage_label(m["status"]), when=when, why=m["why"], company=m["company"]
            )
        )
    return lines


def confirm_returning(ctx: Context, matches: list[dict[str, Any]], interactive: bool = True) -> bool:
    """Show likely earlier records and ask on a terminal; elsewhere refuse and say to add --yes."""
    ctx.err(_("this company looks like earlier record(s):"))
    for line in describe_matches(ctx, matches):
        ctx.err(line)
    if interactive and sys.stdin.isatty():
        sys.stderr.write(_("register as a new applicant anyway (linked to these)? [y/N] "))
        sys.stderr.flush()  # the prompt goes to stderr so stdout stays just the new code
        try:
            answer = input()
        except EOFError:
            answer = ""
        if answer.strip().lower() in ("y", "yes", "ب", "بله"):
            return True
        ctx.err(_("archivist: not registered"))
        return False
    ctx.err(
        _(
            "archivist: not registered; check the records above, then add --yes to register anyway "
            "(the new log will list them under related:)"
        )
    )
    return False


def cmd_trace(ctx: Context, args: argparse.Namespace) -> int:
    hits = invoices.trace(ctx.cfg, args.number, search=lambda q: cached_search(ctx.cfg, q))
    if args.stamp:
        for h in hits:
            if h["invoice"]:
                h["stamp"] = invoices.stamp_text(ctx.cfg, workflow.show(ctx.cfg, h["code"]), h["invoice"]["number"])
    if args.json:
        ctx.json(hits)
    for h in hits if not args.json else []:
        what = {"invoice": "invoice", "tax_id": _("tax ID"), "contract": "contract"}[h["matched"]]
        ctx.out(f"{what} {h['value']} → {h['code']}  {h['status']}  {h['company']}")
        ctx.out(_("  folder {path}").format(path=h["path"]))
        if h.get("stamp"):
            ctx.out(_("  stamp: {stamp}").format(stamp=h["stamp"]))
    if not hits:
        raise ArchivistError(
            _(
                "no invoice, tax ID or contract {number} in any record; check the number, or search by company with `archivist search`"
            ).format(number=args.number)
        )
    return 0


def timeline(ctx: Context, rec: Record) -> list[dict[str, Any]]:
    """The events as shown: Jalali (display calendar) date, who with name, kind, note, fields."""
    rows = []
    for ev in rec.events:
        at = as_datetime(ev.get("at"), ctx.cfg.timezone)
        row = {k: v for k, v in ev.items() if k not in ("at", "by", "kind", "note")}
        rows.append(
            {
                "at": at.isoformat() if at else None,
                "shown": fmt(at, ctx.cfg.calendar, ctx.cfg.timezone),
                "by": str(ev.get("by")),
                "who": ctx.cfg.staff.get(str(ev.get("by")), ""),
                "kind": ev.get("kind"),
                "note": ev.get("note") or "",
                "extra": row,
            }
        )
    return rows


def _fields(extra: dict[str, Any]) -> str:
    """`fields` of an `edited` event, as a list of names or a mapping name → {from, to}."""
    fields = extra.get("fields")
    if isinstance(fields, dict):
        parts = []
        for name, change in fields.items():
            if isinstance(change, dict) and ("from" in change or "to" in change):
                parts.append(f"{name}: {change.get('from')!s} → {change.get('to')!s}")
            else:
                parts.append(str(name))
        return "; ".join(parts)
    if isinstance(fields, (list, tuple)):
        return ", ".join(str(f) for f in fields)
    return str(fields) if fields else ""


def _shown_value(value: Any, calendar: str, tz: str) -> str:
    """An event's extra value as shown: a date in the display calendar, anything else as stored."""
    if isinstance(value, (datetime, date)) or (isinstance(value, str) and _ISO.match(value)):
        try:
            return fmt(as_datetime(value, tz), calendar, tz)
        except ValueError:
            return str(value)
    return str(value)


_ISO = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def cmd_history(ctx: Context, args: argparse.Namespace) -> int:
    rec = workflow.show(ctx.cfg, args.code)
    rows = timeline(ctx, rec)
    if args.json:
        ctx.json(
            {
                "code": rec.code,
                "lead": rec.lead,
                "case": rec.case,
                "company": rec.company,
                "status": rec.status,
                "path": str(rec.folder),
                "events": rows,
            }
        )
        return 0
    ctx.out(f"{rec.code}  {stage_label(rec.status)}  {rec.company}")
    cal, tz = ctx.cfg.calendar, ctx.cfg.timezone
    for r in rows:
        extra = r["extra"]
        bits = [f"→ {stage_label(extra['to'])}" if extra.get("to") else "", r["note"]]
        if extra.get("fields"):
            bits.append(_("fields: {fields}").format(fields=_fields(extra)))
        # dates inside an event (a follow-up's `due`, an invoice date) in the display calendar too
        bits += [f"{k} {_shown_value(v, cal, tz)}" for k, v in extra.items() if k not in ("to", "fields")]
        who = f"{r['by']} {r['who']}".strip()
        ctx.out(f"  {r['shown']}  {who:<14} {kind_label(r['kind']):<10} {'  '.join(b for b in bits if b)}".rstrip())
    return 0


def cmd_notify_flush(ctx: Context, args: argparse.Namespace) -> int:
    reason = notify.disabled_reason(ctx.cfg)
    sent = 0 if reason else notify.flush(ctx.cfg, force=True)
    state = notify.outbox_state(ctx.cfg)
    if args.json:
        ctx.json({"sent_now": sent, **state})
        return 0
    if reason:
        ctx.out(reason)
        ctx.out(
            ngettext(
                "{waiting} message waits in the outbox; nothing was sent",
                "{waiting} messages wait in the outbox; nothing was sent",
                state["waiting"],
            ).format(waiting=state["waiting"])
        )
        return 0
    ctx.out(_("sent {sent}; {waiting} waiting").format(sent=sent, waiting=state["waiting"]))
    if state["waiting"] and state["last_error"]:
        ctx.out(_("last error: {last_error}").format(last_error=state["last_error"]))
    return 0
