"""Index commands: search, due, reindex, export (the master list F-31-08-02).

Each opens the index through `open_current`, which refuses a root that holds no archive (an
unmounted drive), rebuilds a missing index first and says so, and catches up with hand edits when
no daemon runs. They change no record, so their parser does not hook the index into workflow
(`cli.READ_ONLY_MODULES`): `due` never imports workflow or allocation.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from ..i18n import _
from ..index import Index, check_staff, open_current, reindex
from ..stages import STAGES
from . import Context, command_help, json_flag, neutralize, write_safe_bytes

T = TypeVar("T")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help=command_help("search"))
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--status", choices=STAGES)
    p.add_argument("--staff")
    json_flag(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("due", help=command_help("due"))
    p.add_argument("--staff")
    json_flag(p)
    p.set_defaults(func=cmd_due)

    p = sub.add_parser("reindex", help=command_help("reindex"))
    json_flag(p)
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("export", help=command_help("export"))
    p.add_argument("path", nargs="?", help=_("file to write; its extension (.xlsx, .csv) sets the format"))
    p.add_argument("--format", choices=("xlsx", "csv"), help=_("xlsx or csv (default: from the file's extension, else xlsx)"))
    p.add_argument("-o", "--output", help=_("file to write (same as PATH; default: F-31-08-02.<format> here)"))
    p.add_argument("--headers", help=_("header rows, e.g. fa (Persian only) or fa,en (default: display.header_languages)"))
    p.set_defaults(func=cmd_export)


class TtyProgress:
    """A one-line progress bar on a terminal; plain messages otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, message: str, done: int, total: int) -> None:
        if total == 0:
            print(_("archivist: {message}").format(message=message), file=sys.stderr)
            return
        if not self.tty:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        print(f"\r{message} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr, flush=True)

    def counting(self, items: Iterable[T], message: str, total: int, every: int = 1000) -> Iterator[T]:
        """`items` passed through, the bar moved every `every` of them."""
        n = 0
        for item in items:
            yield item
            n += 1
            if n % every == 0:
                self(message, n, total)
        if total:
            self(message, n, n)


def _index(ctx: Context) -> Index:
    return open_current(ctx.cfg, progress=TtyProgress())


def cmd_search(ctx: Context, args: argparse.Namespace) -> int:
    check_staff(ctx.cfg, args.staff)  # before the index is opened (building it can take minutes)
    with _index(ctx) as idx:
        hits = idx.search(args.query, limit=args.limit, status=args.status, staff=args.staff)
    if args.json:
        ctx.json(hits)
        return 0
    for h in hits:
        stale = _("  (log invalid: last good entry)") if h["stale"] else ""
        ctx.out(
            f"{h['lead'] or '     '}  {h['case'] or '    '}  {h['staff'] or '  '}  {h['status'] or '?':<11} "
            f"{h['company'] or ''}  [{h['matched']}]{stale}"
        )
    if not hits:
        ctx.err(_("nothing found"))
    return 0


def cmd_due(ctx: Context, args: argparse.Namespace) -> int:
    """Printed as the index hands the rows over (100,000 overdue records never sit in memory)."""
    check_staff(ctx.cfg, args.staff)
    with _index(ctx) as idx:
        if args.json:
            ctx.json_sections(idx.review_json(staff=args.staff))
            return 0
        sections = idx.review_text(staff=args.staff)
        titles = {"overdue": _("overdue follow-ups"), "today": _("due today"), "stuck": _("stuck in a stage")}
        for key, title in titles.items():
            count, chunks = sections[key]
            write_safe_bytes(neutralize(f"{title} ({count})\n").encode())
            for chunk in chunks:
                write_safe_bytes(chunk)
    return 0


def cmd_reindex(ctx: Context, args: argparse.Namespace) -> int:
    progress = TtyProgress()
    done = reindex(ctx.cfg, progress)
    seconds = done["seconds"]
    if args.json:
        ctx.json(
            {
                "records": done["records"],
                "seconds": seconds,
                "write_seconds": done["write_seconds"],
                "path": str(ctx.cfg.index_file),
            }
        )
    else:
        ctx.out(
            _("indexed {records} records in {seconds} s, {write_seconds} s of it writing the index ({index_file})").format(
                records=done["records"], seconds=seconds, write_seconds=done["write_seconds"], index_file=ctx.cfg.index_file
            )
        )
    return 0


def cmd_export(ctx: Context, args: argparse.Namespace) -> int:
    from ..index import export as export_mod  # csv and the XLSX writer: `export` alone needs them

    out, fmt_ = export_mod.target(args.path, args.output, args.format)
    export_mod.check_output(out)  # before the index is opened: a wrong -o costs nothing
    cfg = ctx.cfg
    if args.headers is not None:
        cfg = export_mod.with_headers(cfg, args.headers)
    progress = TtyProgress()
    with _index(ctx) as idx:
        total = idx.export_count()
        n = export_mod.write(
            cfg, idx.iter_export_cells(), out, fmt_, counted=lambda done: progress(_("writing the master list"), done, total)
        )
    if total:
        progress(_("writing the master list"), n, n)
    ctx.out(_("wrote {n} records to {out}").format(n=n, out=out))
    return 0
