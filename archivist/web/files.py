"""The files of a record folder as the web app shows, serves and receives them.

Every path a browser names is resolved inside the record folder or refused (→ 404): no `..`, no
absolute path, no backslash, no hidden name, and no symlink whose target lies outside. An upload
is written the way the daemon files the inbox: a temp file in the folder itself, fsynced, then
renamed onto a free name (`name (2).pdf` on a clash, never an overwrite), then a `filed` event.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import store, workflow
from ..config import Config
from ..errors import ArchivistError, NameClash
from ..i18n import _
from ..naming import fold, safe_component
from ..record import LOG_NAME

MAX_LISTED = 500
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp")
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    name: str  # relative to the record folder, with "/" between parts
    size: int
    mtime: float

    @property
    def content_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    @property
    def previewable(self) -> bool:
        return self.content_type in INLINE_TYPES

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/") and self.previewable


class TooLarge(ArchivistError):
    pass


def list_files(folder: Path) -> list[FileEntry]:
    """The record's files (the log first), sub-folders included, hidden and temp names skipped."""
    out: list[FileEntry] = []
    base = str(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)  # follows a symlink: an outward one is listed but never served
            except OSError:
                continue
            rel = os.path.relpath(full, base).replace(os.sep, "/")
            out.append(FileEntry(rel, st.st_size, st.st_mtime))
            if len(out) >= MAX_LISTED:
                return _log_first(out)
    return _log_first(out)


def _log_first(entries: list[FileEntry]) -> list[FileEntry]:
    return sorted(entries, key=lambda e: (e.name != LOG_NAME, e.name.count("/"), e.name))


def resolve_inside(folder: Path, name: str) -> Path | None:
    """The file `name` names inside `folder`, or None for anything that would leave it."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or len(name) > 4096:
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    base = folder.resolve()
    candidate = base.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    return real


def upload_name(filename: str) -> str:
    """The name an uploaded file gets: its base name, repaired by the naming rules."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = safe_component(base)
    if fold(name).replace(" ", "") == fold(LOG_NAME).replace(" ", "") or name.startswith("."):
        raise ArchivistError(
            _("{base!r} cannot be uploaded under that name: it is the follow-up log's name; rename the file first").format(
                base=base
            )
        )
    return name


def save_upload(cfg: Config, folder: Path, filename: str, data: BinaryIO, limit: int, by: str) -> Path:
    """Copy an upload into `folder` atomically under a free name and log a `filed` event by `by`."""
    name = upload_name(filename)
    tmp = folder / f".upload.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    size = 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := data.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(
                        _("{name} is larger than the {limit} MB allowed (web.max_upload_mb)").format(
                            name=name, limit=limit // (1 << 20)
                        )
                    )
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        for _attempt in range(100):
            dst = store.free_name(folder, name)
            try:
                store.move(tmp, dst)
                break
            except NameClash:  # someone took the free name in between: find the next one
                continue
        else:
            raise ArchivistError(_("could not find a free name for {name} in {folder}").format(name=name, folder=folder.name))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    workflow.append_event(cfg, folder, "filed", by, dst.name, **({"from": name} if dst.name != name else {}))
    return dst


def read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk
