"""Running the real rsync binary: the command line (built by sysrsync), progress, --stats parsing."""

from __future__ import annotations

import re
import subprocess
import threading
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sysrsync

from ..errors import ArchivistError
from ..i18n import _

# What goes into a snapshot: everything except the derived state under .archivist/, but the
# Telegram outbox (messages not yet sent are not derivable) is kept. registry.yaml sits at the top
# of the root and is included like any other file. Filter rules are order-sensitive: the includes
# come first (in the options), the exclusion after (sysrsync appends exclusions at the end).
INCLUDES = ("--include=/.archivist/", "--include=/.archivist/outbox/***")


EXCLUDES = ("/.archivist/*",)


@dataclass
class RsyncResult:
    returncode: int
    stdout: str
    stderr: str
    stats: dict[str, int]
    seconds: float


_STATS = {
    "Number of files": "entries",  # untranslated: rsync's own --stats output, parsed (never shown)
    "Number of created files": "created",  # untranslated: rsync's own --stats output, parsed (never shown)
    "Number of deleted files": "deleted",  # untranslated: rsync's own --stats output, parsed (never shown)
    "Number of regular files transferred": "transferred",  # untranslated: rsync's own --stats output, parsed (never shown)
    "Total file size": "size",  # untranslated: rsync's own --stats output, parsed (never shown)
    "Total transferred file size": "transferred_size",  # untranslated: rsync's own --stats output, parsed (never shown)
    "Total bytes sent": "bytes_sent",  # untranslated: rsync's own --stats output, parsed (never shown)
    "Total bytes received": "bytes_received",  # untranslated: rsync's own --stats output, parsed (never shown)
}


def parse_stats(text: str) -> dict[str, int]:
    """rsync --stats output → numbers (thousands separators removed)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep or key.strip() not in _STATS:
            continue
        m = re.match(r"\s*([\d,.]+)", rest)
        if m:
            out[_STATS[key.strip()]] = int(re.sub(r"[,.]", "", m.group(1)))
        reg = re.search(r"reg:\s*([\d,.]+)", rest)
        if reg and key.strip() == "Number of files":  # untranslated: rsync's own --stats output, parsed (never shown)
            out["files"] = int(re.sub(r"[,.]", "", reg.group(1)))
    return out


def rsync_command(src: Path, dst: Path, options: list[str], exclusions: tuple[str, ...] = EXCLUDES) -> list[str]:
    """The command line, built by sysrsync: `rsync OPTIONS src/ dst --exclude …` (contents of src)."""
    return sysrsync.get_rsync_command(
        source=str(src),
        destination=str(dst),
        options=options,
        exclusions=list(exclusions),
        sync_source_contents=True,
    )


_PROGRESS_RE = re.compile(r"^\s*[\d,.]+[KMGT]?\s+\d+%")


def run_rsync(
    cmd: list[str],
    progress: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    *,
    env: Mapping[str, str],
) -> RsyncResult:
    """Run rsync, streaming `--info=progress2` lines to `progress`; never raises on a bad exit.

    `env` is the child's whole environment: pass `notify.child_env(cfg)`, which leaves out the
    Telegram token variable (rsync, and an ssh it may start, must never see the secret)."""
    started = _time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=dict(env))
    except FileNotFoundError:
        raise ArchivistError(_("rsync is not installed; install it (apt install rsync) and try again")) from None
    if on_start:
        on_start(proc.pid)
    err_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    out_lines: list[str] = []
    pending = b""
    try:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read1(65536)  # type: ignore[attr-defined]  # a BufferedReader (bufsize -1)
            if not chunk:
                break
            pending += chunk
            parts = re.split(rb"[\r\n]", pending)
            pending = parts.pop()
            for raw in parts:
                line = raw.decode("utf-8", "replace")
                if _PROGRESS_RE.match(line):
                    if progress:
                        progress(line.strip())
                elif line:
                    out_lines.append(line)
        if pending:
            out_lines.append(pending.decode("utf-8", "replace"))
        proc.wait()
    except BaseException:
        # Ctrl-C, or the daemon stopping: do not leave an orphaned rsync writing to the drive
        proc.kill()
        proc.wait()
        raise
    drain.join()
    stdout = "\n".join(out_lines)
    return RsyncResult(
        proc.returncode,
        stdout,
        b"".join(err_chunks).decode("utf-8", "replace").strip(),
        parse_stats(stdout),
        _time.monotonic() - started,
    )
