"""Backup commands: init-target, run, list, verify, restore, status (logic in archivist.backup)."""

from __future__ import annotations

import argparse
import sys

from .. import backup
from ..dates import shown
from ..i18n import _, ngettext
from . import Context, command_help, json_flag


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help=command_help("backup"))
    bsub = p.add_subparsers(dest="backup_command", metavar="ACTION")
    bsub.required = True

    q = bsub.add_parser("init-target", help=_("mark a folder on the backup drive as the backup target"))
    q.add_argument("path")
    q.set_defaults(func=cmd_init_target)

    q = bsub.add_parser("run", help=_("make a snapshot now"))
    q.add_argument("--target", help=_("backup target (default: backup.target in config.yaml)"))
    q.add_argument("--force", action="store_true", help=_("back up even though many records disappeared"))
    json_flag(q)
    q.set_defaults(func=cmd_run)

    q = bsub.add_parser("list", help=_("the snapshots on the target"))
    q.add_argument("--target")
    json_flag(q)
    q.set_defaults(func=cmd_list)

    q = bsub.add_parser("verify", help=_("compare a snapshot with the archive by checksum (default: latest)"))
    q.add_argument("snapshot", nargs="?")
    q.add_argument("--target")
    json_flag(q)
    q.set_defaults(func=cmd_verify)

    q = bsub.add_parser("restore", help=_("copy a record or a whole snapshot out of the backup"))
    q.add_argument("snapshot", help=_("snapshot name, or latest"))
    q.add_argument("--record", help=_("restore only this record (applicant or case code)"))
    q.add_argument("--to", help=_("where to restore (a new or empty folder)"))
    q.add_argument("--into-root", action="store_true", help=_("restore into the live archive (needs --yes)"))
    q.add_argument("--yes", action="store_true")
    q.add_argument("--target")
    json_flag(q)
    q.set_defaults(func=cmd_restore)

    q = bsub.add_parser("status", help=_("last good backup, next due, overdue, drive present"))
    json_flag(q)
    q.set_defaults(func=cmd_status)


def cmd_init_target(ctx: Context, args: argparse.Namespace) -> int:
    path = backup.init_target(ctx.cfg, args.path)
    ctx.out(_("backup target ready: {path}").format(path=path))
    return 0


def _progress(line: str) -> None:
    sys.stderr.write(f"\r\x1b[K{line}")
    sys.stderr.flush()


def cmd_run(ctx: Context, args: argparse.Namespace) -> int:
    progress = _progress if sys.stderr.isatty() and not args.json else None
    try:
        summary = backup.run_backup(ctx.cfg, args.target, force=args.force, progress=progress)
    finally:
        if progress:
            sys.stderr.write("\r\x1b[K")
    ctx.json(summary) if args.json else ctx.out(backup.summary_line(summary))
    return 0


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    snaps = backup.list_snapshots(ctx.cfg, args.target)
    if args.json:
        ctx.json(snaps)
        return 0
    if not snaps:
        ctx.out(_("no snapshots yet"))
    for s in snaps:
        state = "latest" if s["latest"] else ("complete" if s["complete"] else "INCOMPLETE")
        v = s["verified"]
        since = (
            _(" ({changed_since} changed in the archive since)").format(changed_since=v["changed_since"])
            if v and v.get("changed_since")
            else ""
        )
        checked = (
            _("never verified")
            if not v
            else _("verified ok{since}").format(since=since)
            if v.get("ok")
            else _("verify found {count} damaged{since}").format(count=v.get("differences"), since=since)
        )
        files = _("{files:,} files").format(files=s["files"]) if s["files"] is not None else _("? files")
        ctx.out(f"{s['snapshot']}  {s['date']}  {files}  {backup.human(s['size'])}  {state}  {checked}")
    return 0


def cmd_verify(ctx: Context, args: argparse.Namespace) -> int:
    result = backup.verify(ctx.cfg, args.snapshot, args.target)
    if args.json:
        ctx.json(result)
    else:
        for d in result["differences"]:
            note = _("  (changed in the archive since the snapshot: not damage)") if d.get("changed_since") else ""
            ctx.out(f"{d['kind']:8} {d['path']}{note}")
        damaged, since = result["damaged"], result["changed_since"]
        if damaged:
            line = _(
                "{damaged} difference(s) the archive does not explain: the snapshot is damaged; make a new one with `archivist backup run`"
            ).format(damaged=damaged)
        elif since:
            line = "intact"
        else:
            line = _("matches the archive")
        if since:
            line += ngettext(
                " ({since} file changed in the archive since it was taken)",
                " ({since} files changed in the archive since it was taken)",
                since,
            ).format(since=since)
        ctx.out(f"{result['snapshot']}: {line}")
    return 0 if result["ok"] else 1


def cmd_restore(ctx: Context, args: argparse.Namespace) -> int:
    result = backup.restore(
        ctx.cfg, args.snapshot, args.to, record=args.record, into_root=args.into_root, yes=args.yes, target=args.target
    )
    if args.json:
        ctx.json(result)
    else:
        what = _("record {record}").format(record=result["record"]) if result["record"] else "snapshot"
        ctx.out(
            _("restored {what} from {snapshot} to {to} ({files:,} files)").format(
                what=what, snapshot=result["snapshot"], to=result["to"], files=result["files"]
            )
        )
        if result["replaced_kept_in"]:
            ctx.out(_("files it replaced are kept in {replaced_kept_in}").format(replaced_kept_in=result["replaced_kept_in"]))
    return 0


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    state = backup.schedule_state(ctx.cfg)
    if args.json:
        ctx.json(state)
        return 0
    cfg = ctx.cfg
    text, _level = backup.advice(cfg, state)
    ctx.out(text)
    ctx.out(_("last good backup: {when}").format(when=shown(state["last_ok"], cfg.calendar, cfg.timezone, none=_("never"))))
    if state["next_due"] and not state["overdue"]:
        ctx.out(_("next due: {when}").format(when=shown(state["next_due"], cfg.calendar, cfg.timezone)))
    ctx.out(
        _("target: {target} ({ready})").format(
            target=state["target"] or _("not set up"), ready=_("ready") if state["target_ready"] else _("not present")
        )
    )
    return 0
