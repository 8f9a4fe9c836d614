"""The daemon's memory through a day at 100,000 records (issue 17: peak ≤ 150 MB): what its backup
holds. Measured with tracemalloc on real folders (allocations, not timings)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from archivist import store
from archivist.backup.run import _missing_records
from archivist.config import Config

FOLDERS = 3000


def _folders(root: Path, names: list[str]) -> None:
    for name in names:
        (root / "applicants" / name).mkdir(parents=True, exist_ok=True)


def test_the_backups_check_for_records_missed_by_rsync_holds_no_list_of_every_folder(cfg: Config, tmp_path: Path) -> None:
    names = [f"شرکت نمونه شماره {i:05d} - 01 - {i:05d}" for i in range(1, FOLDERS + 1)]
    _folders(cfg.root, names)
    snap = tmp_path / "snapshot"
    _folders(snap, [n for i, n in enumerate(names) if i % 1000])  # three records moved while rsync ran
    (snap / "customers").mkdir()
    tracemalloc.start()
    try:
        missing = _missing_records(cfg, snap)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert missing == sorted(f"applicants/{names[i]}" for i in range(0, FOLDERS, 1000))
    live = {f"{a}/{p.name}" for a, p in store.iter_record_folders(store.layout_of(cfg))}
    copied = {f"{a}/{p.name}" for a, p in store.iter_record_folders(store.Layout(snap))}
    assert missing == sorted(live - copied)  # the same answer as comparing the two whole lists
    # two sets of 3,000 names were ~1 MB; one folder at a time is a few KB whatever the archive's size
    assert peak < 100_000, peak
