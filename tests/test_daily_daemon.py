"""`archivist stop` and the morning reminders, with real daemon processes and a real local HTTP
server standing in for Telegram."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_helpers import Archive


@pytest.fixture
def two_archives(tmp_path: Path) -> Iterator[tuple[Archive, Archive]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = Archive(tmp_path / "a"), Archive(tmp_path / "b")
    yield a, b
    a.stop_all()
    b.stop_all()


def test_stop_stops_this_archives_daemon_only(two_archives: tuple[Archive, Archive]) -> None:
    a, b = two_archives
    pa, pb = a.start(), b.start()
    res = a.run("stop")
    assert f"daemon stopped (pid {pa.pid})" in res.stdout
    assert pa.wait(timeout=10) == 0  # it had stopped when `stop` returned: exit status is there
    assert a.status()["running"] is False
    assert b.status()["running"] is True and pb.poll() is None
    again = a.run("stop")
    assert again.returncode == 0 and "no daemon is running" in again.stdout
