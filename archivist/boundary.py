"""One rule for every top-level error boundary — the CLI, each daemon thread, the TUI: a user error
(`ArchivistError`, a full or read-only disk) is its own one line; anything else is a bug, told in
one line that says where its full report (the traceback) was written: `<state>/crash-reports/`,
else the temp folder."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from pathlib import Path

from .config import Config
from .errors import ArchivistError
from .i18n import _
from .modes import make_dirs, open_new
from .store import layout_of

# errors of the machine, not of archivist: a full or read-only disk, a vanished drive, quotas
ENVIRONMENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EIO,
    errno.ENODEV,
    errno.ENXIO,
    errno.ESTALE,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOMEM,
    errno.ENAMETOOLONG,
    errno.ELOOP,
}


def os_error_message(e: OSError) -> str:
    where = f" ({e.filename})" if e.filename else ""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return _("the disk is full{where}; nothing was changed by the failed step — free some space and try again").format(
            where=where
        )
    if e.errno == errno.EROFS:
        return _("the disk is read-only{where}; remount it writable (or check the drive) and try again").format(where=where)
    return _("{error}{where}; check the disk and try again").format(error=e.strerror or e, where=where)


def is_user_error(e: BaseException) -> bool:
    return isinstance(e, ArchivistError) or (isinstance(e, OSError) and e.errno in ENVIRONMENT_ERRNOS)


def user_message(e: BaseException) -> str:
    return os_error_message(e) if isinstance(e, OSError) and not isinstance(e, ArchivistError) else str(e)


def write_report(cfg: Config | None, e: BaseException, context: str) -> Path | None:
    """The full report of an unexpected error (what ran, the traceback); None if nowhere was writable."""
    import tempfile  # here, not at the top: only a bug report needs them (start-up of every command)
    import traceback

    from .archive_id import has_archive  # only when reporting a bug: start-up stays light

    report = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    stamp = time.strftime("%Y%m%dT%H%M%S")
    places: list[Path] = []
    with contextlib.suppress(Exception):
        if cfg is not None and has_archive(cfg.root):  # never a .archivist/ where no archive is
            places.append(layout_of(cfg).state / "crash-reports")
    places.append(Path(tempfile.gettempdir()))
    for folder in places:
        try:
            make_dirs(folder)
            path = folder / f"archivist-crash-{stamp}-{os.getpid()}-{time.monotonic_ns() % 1000000:06d}.txt"
            # 0600 (0660 when shared): a report may quote customers' names and notes
            with open(open_new(path, os.O_WRONLY), "w", encoding="utf-8", errors="replace") as f:
                f.write(f"{context}\n\n{report}")
            return path
        except OSError:
            continue
    return None


def one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def unexpected_line(e: BaseException, where: Path | None) -> str:
    said = one_line(f"{type(e).__name__}: {e}")
    if where is None:
        return _("unexpected error ({error}); no report could be written (is the disk full?)").format(error=said)
    return _("unexpected error ({error}); the full report is in {path}").format(error=said, path=where)


def describe(cfg: Config | None, e: BaseException, context: str = "") -> tuple[str, Path | None]:
    """The one line for `e` and, for a bug, where its report was written."""
    if is_user_error(e):
        return one_line(user_message(e), 1000), None
    where = write_report(cfg, e, context or " ".join(["archivist", *sys.argv[1:]]))
    return unexpected_line(e, where), where
