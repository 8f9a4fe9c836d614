"""Record commands: init, register, the stage actions, show, list, doctor."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .. import workflow
from ..actions import ACTIONS, CONTACT_KEYS, Action, init_archive, perform, register_applicant
from ..dates import as_datetime, fmt, shown
from ..i18n import _, contact_label, kind_label, stage_label
from ..invoices import stamp_text
from ..record import TOOL_ACTOR, Record
from ..violations import Violation
from . import Context, command_help, json_flag, write_lines


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help=command_help("init"))
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("register", help=command_help("register"))
    p.add_argument("--company", required=True)
    p.add_argument("--staff", required=True, help=_("2-digit staff number of the executing staff member"))
    for f in CONTACT_KEYS:
        p.add_argument(f"--{f}", default="")
    p.add_argument("--service", action="append", default=[], help=_("requested service (name or prefix); repeatable"))
    p.add_argument("--request", action="append", default=[], help=_("a request (price quote, samples…); repeatable"))
    p.add_argument("--note", default="")
    p.add_argument("--yes", action="store_true", help=_("register even if the company looks like an earlier record"))
    json_flag(p)
    p.set_defaults(func=cmd_register)

    for action in ACTIONS.values():
        add_action_command(sub, action)

    p = sub.add_parser("show", help=command_help("show"))
    p.add_argument("code")
    json_flag(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("list", help=command_help("list"))
    p.add_argument("--status")
    p.add_argument("--staff")
    json_flag(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("doctor", help=command_help("doctor"))
    p.add_argument("--fix", action="store_true")
    p.add_argument(
        "--full",
        action="store_true",
        help=_("read every folder again (by default a folder found clean is re-read only when it changed)"),
    )
    json_flag(p)
    p.set_defaults(func=cmd_doctor)


def add_action_command(sub: argparse._SubParsersAction, action: Action) -> None:
    """`archivist <action> CODE --<field> …`, built from the shared action list."""
    p = sub.add_parser(action.name, help=_(action.help))
    p.add_argument("code")
    for f in action.fields:
        kw: dict[str, Any] = {"dest": f.name, "required": f.required, "help": _(f.help) if f.help else None}
        if f.choices:
            kw["choices"] = f.choices
        if not f.required and f.kind == "note":
            kw["default"] = ""
        p.add_argument(f.option, **kw)
    if action.name == "invoice":
        p.add_argument("--stamp", action="store_true", help=_("also print the text for the back of the paper copies"))
    p.set_defaults(func=cmd_action, action=action.name)


def cmd_init(ctx: Context, args: argparse.Namespace) -> int:
    ctx.out(_("archive ready at {init_archive}").format(init_archive=init_archive(ctx.cfg)))
    return 0


def cmd_register(ctx: Context, args: argparse.Namespace) -> int:
    contact = {k: getattr(args, k) for k in CONTACT_KEYS}
    fields = {
        "company": args.company,
        "staff": args.staff,
        "by": ctx.by,
        "contact": contact,
        "services": args.service,
        "requests": args.request,
        "note": args.note,
    }
    reg = register_applicant(ctx.cfg, **fields, confirm=args.yes)
    if reg.record is None:
        from .trace import confirm_returning  # here: only a returning company needs the trace module

        if not confirm_returning(ctx, reg.matches, interactive=not args.json):
            if args.json:
                ctx.json({"registered": False, "matches": reg.matches})
            return 1
        reg = register_applicant(ctx.cfg, **fields, confirm=True)
    rec = reg.record
    assert rec is not None
    if args.json:
        ctx.json({**rec.to_json(), "matches": reg.matches})
    else:
        ctx.out(rec.lead)
    return 0


def cmd_action(ctx: Context, args: argparse.Namespace) -> int:
    """Every record action: the values as typed go to `actions.perform`; only the printing differs."""
    spec = ACTIONS[args.action]
    values = {f.name: getattr(args, f.name) for f in spec.fields}
    rec = perform(ctx.cfg, args.code, spec.name, values, ctx.by)
    PRINTERS.get(spec.name, _print_stage)(ctx, args, rec)
    return 0


def _print_stage(ctx: Context, args: argparse.Namespace, rec: Record) -> None:
    ctx.out(f"{rec.code}: {rec.status} ({rec.folder})")


def _print_log(ctx: Context, args: argparse.Namespace, rec: Record) -> None:
    ctx.out(_("{code}: {kind} logged ({stage})").format(code=rec.code, kind=kind_label(args.kind), stage=stage_label(rec.status)))
    if rec.events[-1].get("due") is not None:  # the entry moved the next follow-up
        _say_next(ctx, rec)


def _say_next(ctx: Context, rec: Record) -> None:
    when = rec.next_followup
    ctx.out(_("next follow-up of {code}: {when}").format(code=rec.code, when=fmt(when, ctx.cfg.calendar, ctx.cfg.timezone)))
    if workflow.followup_in_past(ctx.cfg, when):
        ctx.err(_("warning: that follow-up is in the past, so {code} shows as overdue at once").format(code=rec.code))


def _print_invoice(ctx: Context, args: argparse.Namespace, rec: Record) -> None:
    ctx.out(str(rec.invoices[-1]["number"]))
    if args.stamp:
        ctx.out(stamp_text(ctx.cfg, rec))


PRINTERS: dict[str, Callable[[Context, argparse.Namespace, Record], None]] = {
    "log": _print_log,
    "followup": lambda ctx, args, rec: _say_next(ctx, rec),
    "convert": lambda ctx, args, rec: ctx.out(rec.case or ""),
    "service": lambda ctx, args, rec: ctx.out(
        _("{code}: service logged ({status})").format(code=rec.code, status=stage_label(rec.status))
    ),
    "qc": lambda ctx, args, rec: ctx.out(_("{code}: QC logged ({status})").format(code=rec.code, status=stage_label(rec.status))),
    "contract": lambda ctx, args, rec: ctx.out(rec.contract or ""),
    "invoice": _print_invoice,
}


def describe(ctx: Context, rec: Record) -> list[str]:
    """The text form of `show`: header, numbers, then the timeline in date order."""
    cal, tz = ctx.cfg.calendar, ctx.cfg.timezone
    c = rec.contact
    lines = [
        f"{rec.company}",
        _("  applicant {lead}").format(lead=rec.lead) + (_(" · case {case}").format(case=rec.case) if rec.case else ""),
        _("  stage {status} · staff {staff} ({name})").format(
            status=stage_label(rec.status), staff=rec.staff, name=ctx.cfg.staff.get(rec.staff, "?")
        ),
        _("  next follow-up {when}").format(when=fmt(rec.next_followup, cal, tz) or "—"),
    ]
    contact = " · ".join(f"{contact_label(k)}: {v}" for k, v in c.items() if v)
    if contact:
        lines.append(f"  {contact}")
    if rec.services:
        lines.append(_("  services: {items}").format(items=", ".join(rec.services)))
    if rec.requests:
        lines.append(_("  requests: {items}").format(items=", ".join(rec.requests)))
    if rec.contract:
        lines.append(_("  contract {contract}").format(contract=rec.contract))
    for inv in rec.invoices:
        day = shown(inv.get("date"), cal, tz, time=False)
        extra = " ".join(
            x
            for x in (
                _("tax id {tax_id}").format(tax_id=inv.get("tax_id")) if inv.get("tax_id") else "",
                _("amount {amount}").format(amount=inv.get("amount")) if inv.get("amount") is not None else "",
                _("dated {day}").format(day=day) if day else "",
            )
            if x
        )
        lines.append(_("  invoice {number} {extra}").format(number=inv["number"], extra=extra).rstrip())
    lines.append(_("  folder {folder}").format(folder=rec.folder))
    lines.append(_("timeline:"))
    for ev in rec.events:
        to = f" → {stage_label(ev['to'])}" if ev.get("to") else ""
        note = f"  {ev.get('note')}" if ev.get("note") else ""
        lines.append(f"  {fmt(as_datetime(ev['at']), cal, tz)}  {ev['by']}  {kind_label(ev['kind'])}{to}{note}")
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
        bar = not sys.stdout.isatty() and sys.stderr.isatty()
        if args.json:
            rows = idx.iter_records(status=args.status, staff=args.staff)
            if bar:
                rows = TtyProgress().counting(rows, "listing", idx.count_records(args.status, args.staff))
            ctx.json_stream(rows)
            return 0
        brief = idx.iter_brief(status=args.status, staff=args.staff)
        if bar:
            brief = TtyProgress().counting(brief, "listing", idx.count_records(args.status, args.staff))
        write_lines(
            f"{lead}  {case or '    '}  {staff}  {status:<11} {company}\n" for lead, case, staff, status, company in brief
        )
    return 0


def cmd_doctor(ctx: Context, args: argparse.Namespace) -> int:
    from .. import doctor  # here, with its memory (hashlib): `show`, `log` and the actions need neither
    from ..index.checked import doctor_memory

    with doctor_memory(ctx.cfg, doctor.memory_rules(ctx.cfg)) as memory:
        found = doctor.check_tree(ctx.cfg, full=args.full, memory=memory)
        fixed: list[Violation] = []
        skipped: list[str] = []
        if args.fix:
            fixed, skipped = workflow.apply_fixes(ctx.cfg, found, by=ctx.by or TOOL_ACTOR)
            with doctor_memory(ctx.cfg, doctor.memory_rules(ctx.cfg)) as after:  # the index as the fixes left it
                found = doctor.check_tree(ctx.cfg, memory=after)
        if args.json:
            ctx.json({"violations": [v.to_json() for v in found], "fixed": [v.to_json() for v in fixed], "skipped": skipped})
        else:
            for v in fixed:
                ctx.out(_("fixed    {rule:<15} {path} → {fix_to}").format(rule=v.rule, path=v.path, fix_to=v.fix_to))
            for s in skipped:
                ctx.out(_("skipped  {s}").format(s=s))
            for v in found:
                hint = _(" (doctor --fix can fix this)") if v.fixable else ""
                ctx.out(f"{v.rule:<15} {v.path}: {v.message}{hint}")
            if not found:
                ctx.out(_("no naming problems found"))
    return 1 if found else 0
