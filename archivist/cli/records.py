"""Record commands: init, register, the stage actions, show, list, doctor."""

from __future__ import annotations

import argparse

from .. import codes, doctor, store, workflow
from ..dates import as_datetime, fmt, parse_when, shown
from ..i18n import _, kind_label, stage_label
from ..record import Record
from . import Context, json_flag


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create the archive folders under the root")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("register", help="register a new applicant; prints the 5-digit code")
    p.add_argument("--company", required=True)
    p.add_argument("--staff", required=True, help="2-digit staff number of the executing staff member")
    for f in ("person", "consultant", "mobile", "phone", "messenger", "email"):
        p.add_argument(f"--{f}", default="")
    p.add_argument("--service", action="append", default=[], help="requested service (name or prefix); repeatable")
    p.add_argument("--request", action="append", default=[], help="a request (price quote, samples…); repeatable")
    p.add_argument("--note", default="")
    p.add_argument("--yes", action="store_true", help="register even if the company looks like an earlier record")
    json_flag(p)
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("log", help="log a call, note, request, quote, service or qc entry")
    p.add_argument("code")
    p.add_argument("--kind", required=True, choices=workflow.LOG_KINDS)
    p.add_argument("--note", required=True)
    p.add_argument("--next", help="the next follow-up (+3d, Jalali or ISO; default: a contact moves it "
                                  "followup.interval_days ahead)")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("followup", help="set the next follow-up (+1d, +4h, Jalali or ISO date)")
    p.add_argument("code")
    p.add_argument("--at", required=True)
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_followup)

    p = sub.add_parser("convert", help="convert an applicant to a case; prints the 4-digit case code")
    p.add_argument("code")
    p.add_argument("--service", required=True)
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_convert)

    for name, help_ in (("decline", "the applicant declined"), ("clear", "the service is cleared"),
                        ("crm", "the CRM step is done"), ("archive", "archive (only after CRM)"),
                        ("reopen", "reopen an archived record")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("code")
        p.add_argument("--note", default="")
        p.set_defaults(func=cmd_simple, action=name)

    p = sub.add_parser("service", help="log service work (moves the case to in-service)")
    p.add_argument("code")
    p.add_argument("--note", required=True)
    p.set_defaults(func=cmd_service)

    p = sub.add_parser("contract", help="record the signed contract; prints its number")
    p.add_argument("code")
    p.add_argument("--number", help="a number typed by hand (default: the next serial)")
    p.add_argument("--note", default="")
    p.set_defaults(func=cmd_contract)

    p = sub.add_parser("invoice", help="add an invoice to a case; prints its number")
    p.add_argument("code")
    p.add_argument("--number", help="a number typed by hand (default: the next serial)")
    p.add_argument("--tax-id", help="the tax authority's unique invoice ID")
    p.add_argument("--amount")
    p.add_argument("--date", help="invoice date (Jalali or ISO; default now)")
    p.add_argument("--note", default="")
    p.add_argument("--stamp", action="store_true", help="also print the text for the back of the paper copies")
    p.set_defaults(func=cmd_invoice)

    p = sub.add_parser("show", help="a record: fields and timeline")
    p.add_argument("code")
    json_flag(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("list", help="records, filtered by stage and staff")
    p.add_argument("--status")
    p.add_argument("--staff")
    json_flag(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("doctor", help="check naming rules; --fix applies the safe fixes")
    p.add_argument("--fix", action="store_true")
    json_flag(p)
    p.set_defaults(func=cmd_doctor)


def cmd_init(ctx: Context, args: argparse.Namespace) -> int:
    layout = store.layout_of(ctx.cfg)
    layout.ensure()
    if not layout.registry.exists():
        codes.write_registry(layout, codes.read_registry(layout))
    ctx.out(f"archive ready at {layout.root}")
    return 0


def cmd_register(ctx: Context, args: argparse.Namespace) -> int:
    contact = {k: getattr(args, k) for k in ("person", "consultant", "mobile", "phone", "messenger", "email")}
    from ..returning import find_similar
    from .trace import confirm_returning

    matches = find_similar(ctx.cfg, args.company, phone=args.mobile or args.phone, email=args.email)
    if matches and not args.yes and not confirm_returning(ctx, matches, interactive=not args.json):
        if args.json:
            ctx.json({"registered": False, "matches": matches})
        return 1
    rec = workflow.register(
        ctx.cfg, company=args.company, staff=args.staff, by=ctx.by, contact=contact,
        services=args.service, requests=args.request, note=args.note,
        related=[m["code"] for m in matches] or None,
    )
    if args.json:
        ctx.json({**rec.to_json(), "matches": matches})
    else:
        ctx.out(rec.lead)
    return 0


def cmd_log(ctx: Context, args: argparse.Namespace) -> int:
    given = parse_when(args.next, ctx.cfg.timezone) if args.next else None
    before = workflow.show(ctx.cfg, args.code).next_followup
    rec = workflow.log_event(ctx.cfg, args.code, kind=args.kind, note=args.note, by=ctx.by, next_at=given)
    ctx.out(_("{code}: {kind} logged ({stage})").format(code=rec.code, kind=kind_label(args.kind),
                                                          stage=stage_label(rec.status)))
    if rec.next_followup is not None and rec.next_followup != before:
        _say_next(ctx, rec)
    return 0


def _say_next(ctx: Context, rec: Record) -> None:
    when = rec.next_followup
    ctx.out(_("next follow-up of {code}: {when}").format(code=rec.code, when=fmt(when, ctx.cfg.calendar, ctx.cfg.timezone)))
    if workflow.followup_in_past(ctx.cfg, when):
        ctx.err(_("warning: that follow-up is in the past, so {code} shows as overdue at once").format(code=rec.code))


def cmd_followup(ctx: Context, args: argparse.Namespace) -> int:
    when = parse_when(args.at, ctx.cfg.timezone)
    rec = workflow.set_followup(ctx.cfg, args.code, when=when, by=ctx.by, note=args.note)
    _say_next(ctx, rec)
    return 0


def cmd_convert(ctx: Context, args: argparse.Namespace) -> int:
    rec = workflow.convert(ctx.cfg, args.code, service=args.service, by=ctx.by, note=args.note)
    ctx.out(rec.case or "")
    return 0


def cmd_simple(ctx: Context, args: argparse.Namespace) -> int:
    fn = getattr(workflow, args.action)
    rec = fn(ctx.cfg, args.code, by=ctx.by, note=args.note)
    ctx.out(f"{rec.code}: {rec.status} ({rec.folder})")
    return 0


def cmd_service(ctx: Context, args: argparse.Namespace) -> int:
    rec = workflow.record_service(ctx.cfg, args.code, note=args.note, by=ctx.by)
    ctx.out(f"{rec.code}: service logged ({rec.status})")
    return 0


def cmd_contract(ctx: Context, args: argparse.Namespace) -> int:
    rec = workflow.sign_contract(ctx.cfg, args.code, by=ctx.by, number=args.number, note=args.note)
    ctx.out(rec.contract or "")
    return 0


def cmd_invoice(ctx: Context, args: argparse.Namespace) -> int:
    date = parse_when(args.date, ctx.cfg.timezone) if args.date else None
    rec = workflow.add_invoice(ctx.cfg, args.code, by=ctx.by, number=args.number, tax_id=args.tax_id,
                               amount=args.amount, date=date, note=args.note)
    ctx.out(str(rec.invoices[-1]["number"]))
    if args.stamp:
        from ..invoices import stamp_text

        ctx.out(stamp_text(ctx.cfg, rec))
    return 0


def describe(ctx: Context, rec: Record) -> list[str]:
    """The text form of `show`: header, numbers, then the timeline in date order."""
    cal, tz = ctx.cfg.calendar, ctx.cfg.timezone
    c = rec.contact
    lines = [
        f"{rec.company}",
        f"  applicant {rec.lead}" + (f" · case {rec.case}" if rec.case else ""),
        f"  stage {rec.status} · staff {rec.staff} ({ctx.cfg.staff.get(rec.staff, '?')})",
        f"  next follow-up {fmt(rec.next_followup, cal, tz) or '—'}",
    ]
    contact = " · ".join(f"{k}: {v}" for k, v in c.items() if v)
    if contact:
        lines.append(f"  {contact}")
    if rec.services:
        lines.append(f"  services: {', '.join(rec.services)}")
    if rec.requests:
        lines.append(f"  requests: {', '.join(rec.requests)}")
    if rec.contract:
        lines.append(f"  contract {rec.contract}")
    for inv in rec.invoices:
        day = shown(inv.get("date"), cal, tz, time=False)
        extra = " ".join(x for x in (f"tax id {inv.get('tax_id')}" if inv.get("tax_id") else "",
                                     f"amount {inv.get('amount')}" if inv.get("amount") is not None else "",
                                     f"dated {day}" if day else "") if x)
        lines.append(f"  invoice {inv['number']} {extra}".rstrip())
    lines.append(f"  folder {rec.folder}")
    lines.append("timeline:")
    for ev in rec.events:
        to = f" → {ev['to']}" if ev.get("to") else ""
        note = f"  {ev.get('note')}" if ev.get("note") else ""
        lines.append(f"  {fmt(as_datetime(ev['at']), cal, tz)}  {ev['by']}  {ev['kind']}{to}{note}")
    return lines


def cmd_show(ctx: Context, args: argparse.Namespace) -> int:
    rec = workflow.show(ctx.cfg, args.code)
    if args.json:
        ctx.json(rec.to_json())
    else:
        ctx.out("\n".join(describe(ctx, rec)))
    return 0


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    """Rows are printed as the index hands them over; a progress bar on the terminal when the
    rows themselves go to a file or a pipe."""
    import sys

    from ..index import check_status, open_current
    from .index import TtyProgress

    check_status(args.status)  # before the index is opened: a typo costs nothing
    with open_current(ctx.cfg) as idx:
        rows = idx.iter_records(status=args.status, staff=args.staff)
        if not sys.stdout.isatty() and sys.stderr.isatty():
            rows = TtyProgress().counting(rows, "listing", idx.count_records(args.status, args.staff))
        if args.json:
            ctx.json_stream(rows)
            return 0
        write = sys.stdout.write
        for r in rows:
            write(f"{r['lead']}  {r['case'] or '    '}  {r['staff']}  {r['status']:<11} {r['company']}\n")
    return 0


def cmd_doctor(ctx: Context, args: argparse.Namespace) -> int:
    found = doctor.check_tree(ctx.cfg)
    fixed: list[doctor.Violation] = []
    skipped: list[str] = []
    if args.fix:
        fixed, skipped = workflow.apply_fixes(ctx.cfg, found, by=ctx.by or "archivist")
        found = doctor.check_tree(ctx.cfg)
    if args.json:
        ctx.json({"violations": [v.to_json() for v in found], "fixed": [v.to_json() for v in fixed], "skipped": skipped})
    else:
        for v in fixed:
            ctx.out(f"fixed    {v.rule:<15} {v.path} → {v.fix_to}")
        for s in skipped:
            ctx.out(f"skipped  {s}")
        for v in found:
            hint = " (doctor --fix can fix this)" if v.fixable else ""
            ctx.out(f"{v.rule:<15} {v.path}: {v.message}{hint}")
        if not found:
            ctx.out("no naming problems found")
    return 1 if found else 0
