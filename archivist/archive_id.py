"""The archive's own identity ("is this really my archive?"): the file `init` writes at the root.

`<root>/archive-id.yaml` holds a random id and when the archive was made; it travels with the
archive (backups, restores) and is never derived. The state folder remembers the id it was built
for (`<state>/archive-id`), so a different archive mounted at the same place (another drive, a
restore elsewhere) is refused instead of being indexed, numbered or filed into as if it were this
one. A root that does not exist, that is a file, or that is an empty mount point (the drive is not
plugged in) is refused by writers with where it looked; only `init` creates an archive there.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from . import store
from .config import Config
from .dates import now
from .errors import ArchivistError
from .i18n import _

ID_FILE = "archive-id.yaml"
AREAS = store.AREAS


class NotThisArchive(ArchivistError):
    """The root is missing, empty, not a folder, or holds another archive than the state knows."""


def _where(cfg: Config) -> str:
    return cfg.root_where


_ID_LINE = re.compile(r"^archive:[ \t]*['\"]?([0-9A-Za-z_-]+)['\"]?[ \t]*$", re.M)


def archive_id(root: Path) -> str | None:
    try:
        text = (root / ID_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    # every writer asks (each action): the line `init` wrote is read without a YAML parse (~50x
    # faster); anything else (a hand edit) goes through the YAML parser
    fast = _ID_LINE.findall(text)
    if len(fast) == 1 and text.count("\narchive") + text.startswith("archive") == 1:
        return str(fast[0])
    import yaml  # only a hand-edited identity file is parsed (the line `init` wrote is read above)

    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):
        return None
    value = data.get("archive") if isinstance(data, dict) else None
    return str(value) if value else None


def create(cfg: Config) -> str:
    """Write the identity file if the root has none (init); returns the archive's id."""
    existing = archive_id(cfg.root)
    if existing:
        remember(cfg, existing)
        return existing
    # an archive whose identity file was lost (or never written, before issue 13) takes the id its
    # state remembers, so its own index is not then refused as "a different archive"
    new = _remembered(cfg) or os.urandom(8).hex()
    import yaml

    text = yaml.safe_dump(
        {
            "archive": new,
            "created": now(cfg.timezone).isoformat(),
            "note": "identity of this archive: do not copy into another archive",  # untranslated: a comment written inside archive-id.yaml (file content, not a message)
        },
        allow_unicode=True,
        sort_keys=False,
    )
    store.atomic_write(cfg.root / ID_FILE, text.encode("utf-8"))
    remember(cfg, new)
    return new


def _remembered(cfg: Config) -> str | None:
    try:
        return (store.layout_of(cfg).state / "archive-id").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def remember(cfg: Config, ident: str) -> None:
    state = store.layout_of(cfg).state
    if state.is_dir() and not (state / "archive-id").exists():
        try:
            store.atomic_write(state / "archive-id", ident.encode("utf-8"))
        except OSError:
            pass


def check(cfg: Config) -> None:
    """Refuse a root whose identity is not the one the state folder was made for."""
    ident = archive_id(cfg.root)
    if not ident:
        return
    state = store.layout_of(cfg).state
    try:
        known = (state / "archive-id").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        remember(cfg, ident)
        return
    if known and known != ident:
        raise NotThisArchive(
            _(
                "{where} holds archive {ident}, but archivist's state in {state} belongs to archive {known}: a different archive is at this place (another drive, a restore?). Point root: at the right one, or if this archive is meant to be used here from now on, delete {state} (derived) and run `archivist reindex`"
            ).format(where=_where(cfg), ident=ident, state=state, known=known)
        )


FSTAB = Path("/etc/fstab")


def _fstab_mount_points(fstab: Path) -> set[str]:
    try:
        lines = fstab.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return set()
    points = set()
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[1].startswith("/"):
            points.add(fields[1].replace("\\040", " ").rstrip("/") or "/")
    return points


def unplugged_mount(root: Path, fstab: Path | None = None) -> Path | None:
    """The folder on the way to `root` that /etc/fstab mounts a drive on but nothing is mounted
    on now: the drive is not plugged in, and its mount point is an ordinary empty folder."""
    points = _fstab_mount_points(fstab or FSTAB)
    for p in (root, *root.parents):
        if str(p) != "/" and str(p) in points and not os.path.ismount(p):
            return p
    return None


def has_archive(root: Path) -> bool:
    """Whether `root` holds an archive: its identity file, its registry or a record area.

    Nothing else counts: an `inbox/` or a `.archivist/` alone is what an old daemon left on an empty
    mount point, not an archive."""
    try:
        return (root / ID_FILE).is_file() or (root / "registry.yaml").is_file() or any((root / a).is_dir() for a in AREAS)
    except OSError:
        return False


def _why_none(cfg: Config) -> str:
    """Why there is no archive at the root, in the user's terms (most specific reason first)."""
    root = cfg.root
    gone = unplugged_mount(root)
    if gone is not None:
        return _("the drive mounted on {gone} (/etc/fstab) is not mounted; plug it in (or mount it) and try again").format(
            gone=gone
        )
    if not root.exists():
        if not root.parent.is_dir():
            return _("neither it nor {parent} exists (an unplugged drive, a wrong root:?)").format(parent=root.parent)
        return _("the folder does not exist")
    if os.path.ismount(root) and not any(root.iterdir()):
        return _("it is an empty drive (nothing but the mount point)")
    return _("the folder holds no archive-id.yaml, registry.yaml or record folders (an unplugged drive, a wrong root:?)")


def require_archive(cfg: Config, *, adopt: bool = True) -> None:
    """Refuse, before anything is created, a root that holds no archive — only `init` creates one.

    Every writer (register, the record actions, the daemon, inbox filing, doctor --fix, the outbox,
    the web app) and every reader that would build state there (the index) calls this. A drive
    automounted elsewhere or not plugged in leaves an empty folder where the archive was; numbering
    into it would issue 00001, a code the real archive already uses.

    An archive made before the identity file existed (registry or area folders, no archive-id.yaml)
    is accepted and, with `adopt` (writers), given its identity file once.
    """
    root = cfg.root
    if root.exists() and not root.is_dir():
        raise NotThisArchive(
            _("the archive root {where} is a file, not a folder; point root: at the archive folder").format(where=_where(cfg))
        )
    if not has_archive(root):
        raise NotThisArchive(
            _("no archive at {where}: {why_none}; nothing was created. `archivist init` creates a new archive there").format(
                where=_where(cfg), why_none=_why_none(cfg)
            )
        )
    if adopt and not (root / ID_FILE).exists():
        with contextlib.suppress(OSError):  # a read-only account still reads an old archive
            create(cfg)
    check(cfg)


def require_writable_archive(cfg: Config) -> None:
    """What writers check before creating anything under the root (kept name; see `require_archive`)."""
    require_archive(cfg)
