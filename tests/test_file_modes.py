"""File modes (issue 13, class 10): logs, registry, index, outbox and daemon log were world-readable.

In a private archive (its root is not setgid: no office group) everything archivist creates under
the root and in its state folder is owner-only — files 0600, folders 0700 — whatever the umask it
runs under; the customers' own documents keep the modes they came with. (Shared archives keep the
group's modes: tests/test_accounts.py, issue 14.)
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archivist import workflow
from archivist.cli import main
from archivist.config import load_config

from .conftest import CONFIG_TEXT
from .daemon_helpers import eventually


@pytest.fixture
def umask_022() -> Iterator[None]:
    """A login's usual umask: what archivist made used to be readable by every account."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _cli(config: Path, *args: str) -> int:
    try:
        return main(["--config", str(config), *args])
    except SystemExit as e:
        return int(e.code or 0)


def _modes(top: Path, skip: set[Path]) -> dict[str, str]:
    """Every path under `top` (itself included) → its permission bits, except `skip` (the user's files)."""
    out = {str(top): oct(stat.S_IMODE(top.lstat().st_mode))}
    for p in top.rglob("*"):
        if p not in skip and not p.is_symlink():  # a link's own bits mean nothing
            out[str(p.relative_to(top))] = oct(stat.S_IMODE(p.lstat().st_mode))
    return out


@pytest.mark.usefixtures("umask_022")
def test_a_private_archive_keeps_everything_it_creates_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("rsync") is None:
        pytest.fail("needs rsync (apt-get install -y rsync)", pytrace=False)
    config = tmp_path / "config.yaml"
    config.write_text(
        CONFIG_TEXT
        + "daemon:\n  review_time: '00:00'\n  debounce_ms: 100\n  settle_seconds: 1.0\n  polling: 'off'\n"
        + "backup:\n  target: ./drive\n",
        encoding="utf-8",
    )
    (tmp_path / "drive").mkdir()
    assert _cli(config, "init") == 0
    cfg = load_config(config)
    assert _cli(config, "register", "--company", "شرکت نمونه پارس", "--staff", "01", "--yes") == 0
    assert _cli(config, "register", "--company", "شرکت دوم", "--staff", "07", "--yes") == 0
    assert _cli(config, "log", "00001", "--kind", "call", "--note", "first call") == 0
    assert _cli(config, "convert", "00001", "--service", "1") == 0  # queues the Telegram message (outbox)
    assert _cli(config, "contract", "1001") == 0  # reads every case log: the case-log cache
    assert _cli(config, "reindex") == 0
    assert _cli(config, "search", "پارس") == 0
    assert _cli(config, "doctor", "--fix") in (0, 1)
    # the customer's own document, as the user's umask made it: filed, never re-moded
    doc = cfg.root / "inbox" / "1001 contract.pdf"
    doc.write_bytes(b"%PDF-1.4 the customer's contract")
    assert stat.S_IMODE(doc.stat().st_mode) == 0o644
    assert _cli(config, "daemon", "--once") == 0
    # the daemon proper: its log, pid, status, daemon.sqlite, the daily review and schedule state
    env = {**os.environ, "ARCHIVIST_STAFF": "01"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "archivist", "--config", str(config), "daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        state = cfg.root / ".archivist"
        eventually(lambda: list((state / "review").glob("*.txt")), 30, "the daily review")
        eventually(lambda: list((cfg.root / "customers" / "1001").glob("1001 contract*.pdf")), 30, "the document filed")
    finally:
        subprocess.run([sys.executable, "-m", "archivist", "--config", str(config), "stop"], env=env, timeout=60)
        proc.wait(timeout=30)
    assert _cli(config, "backup", "init-target", str(tmp_path / "drive")) == 0
    assert _cli(config, "backup", "run") == 0
    # a bug's report lands in the state folder, and quotes what the command was given
    monkeypatch.setattr(workflow, "register", lambda *a, **k: 1 / 0)
    assert _cli(config, "register", "--company", "شرکت سوم", "--staff", "01", "--yes") == 1
    [filed] = (cfg.root / "customers" / "1001").glob("1001 contract*.pdf")
    assert stat.S_IMODE(filed.stat().st_mode) == 0o644  # the user's file keeps its mode

    made = _modes(cfg.root, skip={filed})
    for name in (
        "registry.yaml",
        "archive-id.yaml",
        "customers/1001/F-31-08-01.yaml",
        ".archivist/index.sqlite",
        ".archivist/daemon.sqlite",
        ".archivist/daemon.log",
        ".archivist/locks",
        ".archivist/outbox",
        ".archivist/journal",
        ".archivist/crash-reports",
        ".archivist/review",
        ".archivist/case-logs.cache",
    ):
        assert name in made, f"{name} was not made (the test did not exercise it)"
    assert list((state / "outbox").glob("*.json")), "no Telegram message queued"
    assert list((state / "crash-reports").glob("*.txt")), "no crash report written"
    loose = {p: m for p, m in made.items() if int(m, 8) & 0o077}
    assert not loose, f"readable by others or the group in a private archive: {loose}"
    drive = {p: m for p, m in _modes(tmp_path / "drive", skip={tmp_path / "drive"}).items() if p != str(tmp_path / "drive")}
    loose = {p: m for p, m in drive.items() if int(m, 8) & 0o007 and not p.endswith("1001 contract.pdf")}
    assert not loose, f"the backup exposes what the archive keeps private: {loose}"
