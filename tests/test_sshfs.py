"""A real sshfs mount of the archive over loopback: a second machine's view, refused for writes.

A local sshd on 127.0.0.1 (its own keys and config in tmp_path) serves the archive; sshfs mounts
it at another path; archivist run against the mount point reads the real /proc/self/mounts.
Skipped, with the reason, where sshfs, sshd, FUSE or root are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archivist import workflow
from archivist.config import Config
from archivist.index import reindex

from .conftest import CONFIG_TEXT, tree_digest

SSHD = "/usr/sbin/sshd"


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root to run a loopback sshd and mount with FUSE"
    if not shutil.which("sshfs"):
        return "sshfs is not installed (apt-get install sshfs)"
    if not os.path.exists(SSHD):
        return "sshd is not installed (apt-get install openssh-server)"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse in this machine"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshfs_view(cfg: Config, tmp_path: Path) -> Iterator[Path]:
    """The archive's root as seen through sshfs at tmp_path/mnt."""
    why = _missing()
    if why:
        pytest.fail(why, pytrace=False)
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True)
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    port = _free_port()
    (keys / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\nAuthorizedKeysFile {keys / 'authorized_keys'}\n"
        f"PidFile {keys / 'sshd.pid'}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "StrictModes no\nUsePAM no\nSubsystem sftp internal-sftp\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir sshd insists on
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(keys / "sshd_config")], stderr=subprocess.PIPE)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        end = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert sshd.poll() is None, sshd.stderr.read().decode() if sshd.stderr else "sshd exited"
                assert time.monotonic() < end, "sshd did not start listening"
                time.sleep(0.05)
        opts = (
            f"IdentityFile={keys / 'client'},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes,LogLevel=ERROR"
        )
        res = subprocess.run(
            ["sshfs", "-p", str(port), "-o", opts, f"root@127.0.0.1:{cfg.root}", str(mnt)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if res.returncode != 0:
            pytest.fail(f"sshfs could not mount over loopback here: {res.stderr.strip()}", pytrace=False)
        try:
            yield mnt
        finally:
            subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
    finally:
        sshd.terminate()
        sshd.wait(10)


def _cli(config_file: Path, *args: str) -> tuple[int, str, str]:
    p = subprocess.run(
        [sys.executable, "-m", "archivist", "--config", str(config_file), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, ARCHIVIST_STAFF="01"),
        timeout=120,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, p.stdout, p.stderr


def test_through_a_real_sshfs_mount_writes_are_refused_and_search_and_show_answer(
    cfg: Config, sshfs_view: Path, tmp_path: Path
) -> None:
    rec = workflow.register(cfg, company="شرکت نمونه پارس", staff="01")
    workflow.log_event(cfg, rec.lead, kind="call", note="تماس اول", by="01")
    reindex(cfg)
    assert (sshfs_view / "registry.yaml").is_file()  # the same archive, seen through the mount
    client = tmp_path / "client"
    client.mkdir()
    config_file = client / "config.yaml"
    config_file.write_text(CONFIG_TEXT.replace("root: ./archive", f"root: {sshfs_view}"), encoding="utf-8")
    before = tree_digest(cfg.root)
    for args in (
        ["daemon", "--once"],
        ["register", "--company", "شرکت دوم", "--staff", "01", "--yes"],
        ["convert", rec.lead, "--service", "1"],
        ["log", rec.lead, "--kind", "note", "--note", "x"],
        ["reindex"],
    ):
        code, out, err = _cli(config_file, *args)
        assert code == 1, (args, out, err)
        assert "network filesystem (fuse.sshfs" in err and "allow_network_fs" in err, err
    code, out, err = _cli(config_file, "search", "نمونه", "--json")
    assert code == 0, err
    assert [r["lead"] for r in json.loads(out)] == [rec.lead]
    code, out, err = _cli(config_file, "show", rec.lead, "--json")
    assert code == 0 and "تماس اول" in out, err
    assert tree_digest(cfg.root) == before
