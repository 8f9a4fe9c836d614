"""`archivist tui` opens the terminal UI; `archivist start` is the main job: create the archive if
needed and allowed (the same code as `archivist init`; only at the built-in default root or after a
yes at the terminal), start the daemon if none runs, open the TUI."""

from __future__ import annotations

import argparse
import sys

from ..actions import start_archive
from ..daemon import running, spawn
from ..errors import ArchivistError
from ..i18n import _
from . import Context, command_help


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help=command_help("tui"))
    p.set_defaults(func=cmd_tui, keeps_running=True)
    p = sub.add_parser("start", help=command_help("start"))
    p.add_argument("--no-daemon", action="store_true", help=_("do not start the daemon"))
    p.add_argument("--web", action="store_true", help=_("also start the web app (`archivist serve`; or web.start: true)"))
    p.set_defaults(func=cmd_start, keeps_running=True)  # it ends in the TUI


def cmd_tui(ctx: Context, args: argparse.Namespace) -> int:
    from ..index import require_archive
    from ..tui.app import run

    require_archive(ctx.cfg)  # `archivist start` creates the archive first
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # without a terminal the screen can neither be drawn nor read: say so instead of running unseen
        raise ArchivistError(
            _(
                "the screens need a terminal: run `archivist start` or `archivist tui` in a terminal window "
                "(scripts use the other commands, e.g. `archivist status`)"
            )
        )
    return run(ctx.cfg, by=ctx.by)


def _ask(question: str) -> bool:
    """Yes only from a person at a terminal; a script, a pipe or a service never creates an archive."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def ensure_archive(ctx: Context, args: argparse.Namespace) -> None:
    """Make the archive ready as `actions.start_archive` allows (created only at the built-in
    default root or after a yes at the terminal; see docs/decisions.md)."""
    made = start_archive(ctx.cfg, ask=_ask)
    if made is not None:
        ctx.out(_("archive ready at {made}").format(made=made))


def start_daemon(ctx: Context) -> str:
    """Spawn the daemon unless one runs for this root; returns what happened, in one line."""
    pid = running(ctx.cfg)
    if pid:
        return _("daemon already running (pid {pid})").format(pid=pid)
    spawn(ctx.cfg)
    pid = running(ctx.cfg)
    return _("daemon started (pid {pid})").format(pid=pid) if pid else _("daemon starting")


def cmd_start(ctx: Context, args: argparse.Namespace) -> int:
    ensure_archive(ctx, args)
    if not args.no_daemon:
        ctx.err(_("archivist: {start_daemon}").format(start_daemon=start_daemon(ctx)))
    if args.web or ctx.cfg.web.start:
        from ..web.process import spawn

        ctx.err(_("archivist: {spawn}").format(spawn=spawn(ctx.cfg)))
    return cmd_tui(ctx, args)
