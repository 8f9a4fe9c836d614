"""Only `archivist init` creates an archive (issue 13, class 5: an unplugged drive gets a second archive).

A drive automounted elsewhere, or not plugged in, leaves an ordinary empty folder (or no folder at
all) where the archive was. Every writer and every command that would create folders, a registry or
state there refuses with one line saying where it looked (the root and the config file that set it)
and that `archivist init` creates a new archive; nothing at all is created.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archivist import archive_id, inbox
from archivist.actions import start_archive
from archivist.config import load_config
from archivist.errors import ArchivistError

from .conftest import CONFIG_TEXT


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else ["<absent>"]


def _setup(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """(config file, root) for a root that holds no archive, of the given kind."""
    if kind == "empty folder":
        root = tmp_path / "drive"
        root.mkdir()
    elif kind == "inbox left by an old daemon":
        root = tmp_path / "drive"
        (root / "inbox").mkdir(parents=True)
        (root / "inbox" / "00001 contract.pdf").write_bytes(b"%PDF-1.4 a customer's document")
    elif kind == "missing folder":
        root = tmp_path / "drive"
    else:  # the parent is missing too: /media/usb/archive with nothing at /media/usb
        root = tmp_path / "media" / "usb" / "archive"
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG_TEXT.replace("root: ./archive", f"root: {root}"), encoding="utf-8")
    return config, root


KINDS = ["empty folder", "inbox left by an old daemon", "missing folder", "missing parent"]

COMMANDS = [
    ("register", "--company", "شرکت گمشده", "--staff", "01", "--yes"),
    ("log", "00001", "--kind", "call", "--note", "hello"),
    ("convert", "00001", "--service", "1"),
    ("reindex",),
    ("search", "گمشده"),
    ("daemon", "--once"),
    ("doctor", "--fix"),
    ("start", "--no-daemon"),
]


def _run(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARCHIVIST_STAFF": "01", "ARCHIVIST_LANGUAGE": "en"}
    return subprocess.run(
        [sys.executable, "-m", "archivist", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_no_command_but_init_creates_an_archive(tmp_path: Path, kind: str) -> None:
    config, root = _setup(tmp_path, kind)
    before = _tree(root)
    for args in COMMANDS:
        r = _run(config, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, (args, r.stderr)
        # where it looked: the root and the config file that set it; and what creates one
        assert f"no archive at {root}" in r.stderr and str(config) in r.stderr, (args, r.stderr)
        assert "`archivist init` creates a new archive" in r.stderr, (args, r.stderr)
        assert _tree(root) == before, args  # nothing at all was created, not even .archivist/
        assert not (tmp_path / "media").exists() or kind != "missing parent"
    r = _run(config, "init")
    assert r.returncode == 0 and (root / archive_id.ID_FILE).is_file()
    r = _run(config, "register", "--company", "شرکت پیدا", "--staff", "01", "--yes")
    assert r.returncode == 0 and r.stdout.strip() == "00001"


def test_the_daemon_started_on_an_empty_folder_refuses_and_creates_nothing(tmp_path: Path) -> None:
    config, root = _setup(tmp_path, "empty folder")
    try:
        r = _run(config, "daemon", timeout=30)  # the old code ran here (and built .archivist/) until killed
    except subprocess.TimeoutExpired:
        pytest.fail("the daemon started on a folder that holds no archive")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "`archivist init`" in r.stderr
    assert _tree(root) == []


def test_inbox_filing_refuses_a_root_that_went_away(cfg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The daemon's filing step, called after the drive went away (only an inbox left)."""
    gone = cfg.with_root(tmp_path / "drive")
    (gone.root / "inbox").mkdir(parents=True)
    doc = gone.root / "inbox" / "00001 contract.pdf"
    doc.write_bytes(b"%PDF")
    with pytest.raises(ArchivistError, match="archivist init"):
        inbox.file_paths(gone, [doc])
    assert _tree(gone.root) == ["inbox", "inbox/00001 contract.pdf"]


def test_start_creates_only_at_the_built_in_default_root(tmp_path: Path) -> None:
    """README quick start: `archivist start` with no root: set creates ./archive beside config.yaml;
    a root someone configured is refused like every other command (no terminal to say yes)."""
    default = tmp_path / "config.yaml"
    default.write_text(CONFIG_TEXT.replace("root: ./archive\n", ""), encoding="utf-8")
    cfg = load_config(default)
    assert cfg.root_is_default and cfg.root == tmp_path / "archive"
    assert start_archive(cfg) == cfg.root and (cfg.root / "registry.yaml").is_file()
    assert start_archive(cfg) is None  # ready: nothing to do
    configured = load_config(default, root=tmp_path / "drive")
    with pytest.raises(ArchivistError, match="no archive at"):
        start_archive(configured, ask=lambda q: False)
    assert not (tmp_path / "drive").exists()
    assert start_archive(configured, ask=lambda q: "Create a new, empty archive" in q) == tmp_path / "drive"


def test_an_archive_made_before_the_identity_file_is_accepted_and_given_one(cfg, cli) -> None:  # type: ignore[no-untyped-def]
    (cfg.root / archive_id.ID_FILE).unlink()  # as every archive made before issue 13 is
    assert cli("search", "x")[0] == 0
    assert not (cfg.root / archive_id.ID_FILE).exists()  # a reader does not write into the root
    code, out, _err = cli("register", "--company", "شرکت قدیمی", "--staff", "01", "--yes")
    assert code == 0 and out.strip() == "00001"
    ident = yaml.safe_load((cfg.root / archive_id.ID_FILE).read_text(encoding="utf-8"))["archive"]
    assert cli("log", "00001", "--kind", "call", "--note", "x")[0] == 0
    assert yaml.safe_load((cfg.root / archive_id.ID_FILE).read_text(encoding="utf-8"))["archive"] == ident  # once


def test_init_refuses_an_unplugged_fstab_drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archivist.actions import init_archive

    config, root = _setup(tmp_path, "empty folder")
    fstab = tmp_path / "fstab"
    fstab.write_text(f"UUID=1234  {root}  ext4  defaults,nofail  0  2\n", encoding="utf-8")
    monkeypatch.setattr(archive_id, "FSTAB", fstab)
    with pytest.raises(ArchivistError, match="is not mounted"):
        init_archive(load_config(config))
    assert _tree(root) == []


def test_the_web_app_refuses_a_root_that_holds_no_archive(tmp_path: Path) -> None:
    """`archivist serve` (and so the web's register) on an empty mount point."""
    from archivist.web.app import create_app

    config, root = _setup(tmp_path, "empty folder")
    with pytest.raises(ArchivistError, match="`archivist init` creates a new archive there") as e:
        create_app(load_config(config))
    assert str(config) in str(e.value) and _tree(root) == []
