"""Daemon commands: `daemon [--once]` and `status [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from ..dates import shown
from ..i18n import _
from ..office import health, office_health, office_status
from . import Context, json_flag


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("daemon", help="watch the archive: live index, naming enforcement, inbox filing, schedules")
    p.add_argument("--once", action="store_true", help="one reconcile + enforcement + inbox pass, then exit")
    p.set_defaults(func=cmd_daemon)

    p = sub.add_parser("stop", help="stop this archive's daemon (and wait until it has stopped)")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("status", help="is the daemon running, and what it knows (records, violations, unfiled, backup)")
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
        return f"{len(st['violation_list'])} (in the index)"
    return "unknown"


def _render(st: dict[str, Any], cfg: Config) -> str:
    def when(value: Any, never: str = "never") -> str:
        return shown(value, cfg.calendar, cfg.timezone, none=never)

    if st["running"]:
        up = st.get("uptime_seconds") or 0
        head = f"daemon: running (pid {st['pid']}, up {up // 3600}h {up % 3600 // 60}m {up % 60}s)"
    elif st.get("stopped"):
        head = f"{st['stopped']} (start it again with `archivist daemon` or `systemctl --user start archivist`)"
    else:
        head = "daemon: not running (start it with `archivist daemon` or `systemctl --user start archivist`)"
    backup_text = health(cfg, st)["backup"][0]  # the same words as My day: what is true, the fixing command
    lines = [
        head,
        f"root: {st['root']}",
        f"records: {st['records']}",
        f"last reconcile: {when(st['last_reconcile'])}",
        f"pending events: {'-' if st['pending_events'] is None else st['pending_events']}",
        f"naming violations: {_violations(st)}" + (f" ({st['invalid_logs']} invalid log(s))" if st.get("invalid_logs") else ""),
        f"unfiled in inbox: {st['unfiled']}" + (": " + ", ".join(st["unfiled_files"][:10]) if st["unfiled_files"] else ""),
        f"index: {st['index']}",
        _("backup: {advice}").format(advice=backup_text),
    ]
    return "\n".join(lines)
