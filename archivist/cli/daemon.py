"""Daemon commands: `daemon [--once]` and `status [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from ..dates import shown
from ..i18n import N_, _, ngettext
from ..office import health, office_health, office_status
from . import Context, command_help, json_flag


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("daemon", help=command_help("daemon"))
    p.add_argument("--once", action="store_true", help=_("one reconcile + enforcement + inbox pass, then exit"))
    p.set_defaults(func=cmd_daemon, keeps_running=True)

    p = sub.add_parser("stop", help=command_help("stop"))
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("status", help=command_help("status"))
    json_flag(p)
    p.set_defaults(func=cmd_status)


def cmd_daemon(ctx: Context, args: argparse.Namespace) -> int:
    from ..daemon.service import run_daemon

    return run_daemon(ctx.cfg, once=args.once)


def cmd_stop(ctx: Context, args: argparse.Namespace) -> int:
    from ..daemon import stop

    pid = stop(ctx.cfg)
    if pid is None:
        ctx.out(_("no daemon is running for {root}").format(root=ctx.cfg.root))
    else:
        ctx.out(_("daemon stopped (pid {pid})").format(pid=pid))
    return 0


def cmd_status(ctx: Context, args: argparse.Namespace) -> int:
    if args.json:
        ctx.json(office_status(ctx.cfg))
        return 0
    ctx.out(_render(office_health(ctx.cfg), ctx.cfg))
    return 0


def _violations(st: dict[str, Any]) -> str:
    """The daemon's last count; without one (no daemon ran yet), what the index holds."""
    if st["violations"] is not None:
        return str(st["violations"])
    if st.get("violation_list") is not None:
        return _("{count} (in the index)").format(count=len(st["violation_list"]))
    return _("unknown")


# the daemon's index feeder states (daemon/feeder.py), in the reader's words
INDEX_STATES = {
    "starting": N_("starting"),
    "opening": N_("opening"),
    "ok": N_("ok"),
    "down": N_("down"),
    "unknown": N_("unknown"),
}


def _render(st: dict[str, Any], cfg: Config) -> str:
    def when(value: Any) -> str:
        return shown(value, cfg.calendar, cfg.timezone, none=_("never"))

    if st["running"]:
        up = st.get("uptime_seconds") or 0
        head = _("daemon: running (pid {pid}, up {hours}h {minutes}m {seconds}s)").format(
            pid=st["pid"], hours=up // 3600, minutes=up % 3600 // 60, seconds=up % 60
        )
    elif st.get("stopped"):
        head = _("{stopped} (start it again with `archivist daemon` or `systemctl --user start archivist`)").format(
            stopped=st["stopped"]
        )
    else:
        head = _("daemon: not running (start it with `archivist daemon` or `systemctl --user start archivist`)")
    backup_text = health(cfg, st)["backup"][0]  # the same words as My day: what is true, the fixing command
    lines = [
        head,
        _("root: {root}").format(root=st["root"]),
        _("records: {records}").format(records=st["records"]),
        _("last reconcile: {when}").format(when=when(st["last_reconcile"])),
        _("pending events: {count}").format(count="-" if st["pending_events"] is None else st["pending_events"]),
        _("naming violations: {count}").format(count=_violations(st))
        + (
            ngettext(" ({invalid_logs} invalid log)", " ({invalid_logs} invalid logs)", st["invalid_logs"]).format(
                invalid_logs=st["invalid_logs"]
            )
            if st.get("invalid_logs")
            else ""
        ),
        _("unfiled in inbox: {unfiled}").format(unfiled=st["unfiled"])
        + (": " + ", ".join(st["unfiled_files"][:10]) if st["unfiled_files"] else ""),
        _("index: {index}").format(index=_(INDEX_STATES.get(st["index"], st["index"]))),
        _("backup: {advice}").format(advice=backup_text),
    ]
    return "\n".join(lines)
