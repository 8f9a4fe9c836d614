"""Inbox stability (issue 13, class 7): a document is filed once, whole, after its writer is done.

A real `archivist daemon` on a real archive with real inotify events; the writers are this test
process writing into the inbox as a scanner or a network copy would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from archivist.daemon.settle import Settler
from archivist.inbox import held_open
from tests.daemon_helpers import DAEMON_CONFIG, Archive, Clock, eventually


def _archive(tmp_path: Path, settle: float) -> Archive:
    a = Archive(tmp_path, policy="report")
    a.config.write_text(
        DAEMON_CONFIG.format(policy="report").replace("settle_seconds: 1.0", f"settle_seconds: {settle}"), encoding="utf-8"
    )
    return a


@pytest.fixture
def slow_settle(tmp_path: Path) -> Iterator[Archive]:
    a = _archive(tmp_path, 3.0)
    yield a
    a.stop_all()


@pytest.fixture
def quick_settle(tmp_path: Path) -> Iterator[Archive]:
    a = _archive(tmp_path, 1.0)
    yield a
    a.stop_all()


def _case_folder(archive: Archive) -> tuple[str, Path]:
    case = archive.convert(archive.register("شرکت نمونه پارس"))
    return case, archive.folder_of(case)


def test_a_writer_reopening_to_append_every_half_second_is_filed_as_one_document(slow_settle: Archive) -> None:
    archive = slow_settle
    case, folder = _case_folder(archive)
    archive.start()
    name = f"{case} scan.pdf"
    pieces = [f"page {i}\n".encode() for i in range(10)]
    for piece in pieces:  # open, append, close: a close-after-write every time
        with open(archive.inbox / name, "ab") as f:
            f.write(piece)
        time.sleep(0.5)  # the writer's own rhythm (the scenario), not a wait for the daemon
    filed = eventually(lambda: (folder / name).exists() and not (archive.inbox / name).exists(), what="the scan to be filed")
    assert filed
    archive.wait_idle()
    docs = sorted(p.name for p in folder.iterdir() if "scan" in p.name)
    assert docs == [name], docs  # not `(2)` … `(10)`
    assert (folder / name).read_bytes() == b"".join(pieces)
    assert [e["note"] for e in archive.events(folder, "filed")] == [name]


def test_a_writer_pausing_with_the_file_open_is_not_filed_mid_write(quick_settle: Archive) -> None:
    archive = quick_settle
    case, folder = _case_folder(archive)
    archive.start()
    name = f"{case} contract.pdf"
    with open(archive.inbox / name, "wb") as f:
        f.write(b"%PDF-1.7 first half\n")
        f.flush()
        # the daemon has seen the write; 3 settle periods pass with the file open and unchanged
        eventually(lambda: archive.status()["pending_events"] > 0, what="the daemon to see the write")
        paused_until = time.monotonic() + 3.0
        while time.monotonic() < paused_until:
            assert (archive.inbox / name).exists() and not (folder / name).exists(), "filed mid-write"
            time.sleep(0.1)
        f.write(b"second half %%EOF\n")
    eventually(lambda: (folder / name).exists() and not (archive.inbox / name).exists(), what="the contract to be filed")
    assert (folder / name).read_bytes() == b"%PDF-1.7 first half\nsecond half %%EOF\n"


def test_held_open_sees_a_writer_not_a_reader(tmp_path: Path) -> None:
    f = tmp_path / "2031 scan.pdf"
    f.write_bytes(b"x")
    with open(f, "rb"):
        assert f not in held_open([f])[0]  # a viewer reading it does not hold filing up
    with open(f, "ab"):
        assert f in held_open([f])[0]
    assert held_open([f])[0] == set()


def test_unclosed_write_waits_for_the_close_when_processes_cannot_be_seen(tmp_path: Path) -> None:
    clock = Clock()
    s = Settler(1.0, clock, open_check=lambda paths: (set(), False))  # /proc unreadable
    f = tmp_path / "2031 scan.pdf"
    f.write_bytes(b"x")
    s.touch(tmp_path / "other.pdf", closed=True)  # this watcher reports closes
    s.touch(f, wrote=True)
    clock.t += 5
    assert s.ready() == []  # written, never closed: still open somewhere we cannot see
    s.touch(f, closed=True)
    clock.t += 0.5
    assert s.ready() == []  # closed, but not yet quiet for the settle time
    clock.t += 0.6
    assert s.ready() == [f]
