"""One host owns the archive: seen through a network filesystem, archivist reads but never writes.

The mount table comes from a file here (`$ARCHIVIST_MOUNTS`) that says the archive is an NFS
or CIFS mount; tests/test_sshfs.py does the same through a real sshfs mount over loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archivist import workflow
from archivist.config import Config, load_config
from archivist.index import reindex
from archivist.mounts import mount_of, read_mounts

from .conftest import CONFIG_TEXT, tree_digest

LOCAL = "/dev/sda1 / ext4 rw,relatime 0 0\n"


def _cli(config_file: Path, *args: str, mounts: Path | None = None) -> tuple[int, str, str]:
    env = dict(os.environ, ARCHIVIST_STAFF="01")
    if mounts:
        env["ARCHIVIST_MOUNTS"] = str(mounts)
    p = subprocess.run(
        [sys.executable, "-m", "archivist", "--config", str(config_file), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, p.stdout, p.stderr


def _table(tmp_path: Path, point: Path, fstype: str, device: str) -> Path:
    table = tmp_path / "mounts"
    escaped = os.path.realpath(point).replace(" ", "\\040")
    table.write_text(LOCAL + f"{device} {escaped} {fstype} rw,relatime 0 0\n", encoding="utf-8")
    return table


@pytest.fixture
def archive(cfg: Config) -> Config:
    rec = workflow.register(cfg, company="شرکت نمونه پارس", staff="01")
    workflow.log_event(cfg, rec.lead, kind="call", note="تماس اول", by="01")
    reindex(cfg)
    return cfg


@pytest.mark.parametrize(
    ("fstype", "device"),
    [("nfs4", "fileserver:/export/archive"), ("cifs", "//fileserver/archive"), ("fuse.sshfs", "office@host:/srv/archive")],
)
def test_through_a_network_filesystem_every_write_is_refused_and_reads_still_answer(
    archive: Config, config_file: Path, tmp_path: Path, fstype: str, device: str
) -> None:
    table = _table(tmp_path, archive.root, fstype, device)
    before = tree_digest(archive.root)
    state_before = sorted(p.name for p in (archive.root / ".archivist").iterdir())
    for args in (
        ["daemon", "--once"],
        ["register", "--company", "شرکت دوم", "--staff", "01", "--yes"],
        ["convert", "00001", "--service", "1"],
        ["log", "00001", "--kind", "note", "--note", "x"],
        ["reindex"],
        ["init"],
    ):
        code, out, err = _cli(config_file, *args, mounts=table)
        assert code == 1, (args, out, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "network filesystem" in err and fstype in err and "allow_network_fs" in err, err
    code, out, err = _cli(config_file, "search", "نمونه", "--json", mounts=table)
    assert code == 0, err
    assert [r["lead"] for r in json.loads(out)] == ["00001"]
    code, out, err = _cli(config_file, "show", "00001", "--json", mounts=table)
    assert code == 0 and "تماس اول" in out, err
    assert tree_digest(archive.root) == before
    assert sorted(p.name for p in (archive.root / ".archivist").iterdir()) == state_before


def test_a_state_dir_on_a_network_filesystem_is_refused_too(tmp_path: Path) -> None:
    remote_state = tmp_path / "nfs-state"
    config_file = tmp_path / "config.yaml"
    config_file.write_text(CONFIG_TEXT + f"state_dir: {remote_state}\n", encoding="utf-8")
    table = _table(tmp_path, remote_state, "nfs", "fileserver:/state")
    code, _out, err = _cli(config_file, "init", mounts=table)
    assert code == 1 and "the state dir" in err and "nfs" in err, err


def test_allow_network_fs_lets_the_user_who_knows_better_write(archive: Config, config_file: Path, tmp_path: Path) -> None:
    config_file.write_text(CONFIG_TEXT + "allow_network_fs: true\n", encoding="utf-8")
    table = _table(tmp_path, archive.root, "nfs4", "fileserver:/export/archive")
    code, out, err = _cli(config_file, "register", "--company", "شرکت دوم", "--staff", "01", "--yes", mounts=table)
    assert code == 0 and out.strip() == "00002", err


def test_state_dir_holds_everything_archivist_writes_besides_the_folders(tmp_path: Path) -> None:
    config_file = tmp_path / "config.yaml"
    config_file.write_text(CONFIG_TEXT + "state_dir: ./state\n", encoding="utf-8")
    assert _cli(config_file, "init")[0] == 0
    assert _cli(config_file, "register", "--company", "شرکت نمونه پارس", "--staff", "01")[0] == 0
    code, out, err = _cli(config_file, "search", "پارس", "--json")
    assert code == 0 and "00001" in out, err
    assert _cli(config_file, "daemon", "--once")[0] == 0
    cfg = load_config(config_file)
    assert cfg.state_path == tmp_path / "state"
    assert not (cfg.root / ".archivist").exists()
    state = {p.name for p in (tmp_path / "state").iterdir()}
    assert {"index.sqlite", "locks"} <= state


def test_mount_table_reading() -> None:
    mounts = read_mounts("/proc/self/mounts")
    assert mount_of(Path("/"), mounts) is not None
    assert mount_of(Path("/proc/self"), mounts).fstype == "proc"  # type: ignore[union-attr]
