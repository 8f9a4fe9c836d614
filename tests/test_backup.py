"""Monthly backup to the external drive: real rsync, tmp folders as drives, real record trees."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from archivist import backup, store, workflow
from archivist.config import Config, load_config
from archivist.errors import ArchivistError

from .conftest import CONFIG_TEXT, tree_digest

TEHRAN = ZoneInfo("Asia/Tehran")


def build_archive(cfg: Config) -> dict[str, Path]:
    """A small real archive: applicants, a converted case with documents, an outbox message."""
    a = workflow.register(
        cfg, company="شركت فولاد مباركه", staff="07", by="07", contact={"mobile": "۰۹۱۲۱۲۳۴۵۶۷"}, services=["1"]
    )
    b = workflow.register(cfg, company="نرم‌افزار پارس", staff="01", services=["ISO certification"])
    c = workflow.register(cfg, company="Acme Trading", staff="02", by="02")
    workflow.log_event(cfg, b.lead, kind="call", note="تماس اول؛ پیش‌فاکتور ارسال شد", by="01")
    case = workflow.convert(cfg, b.lead, service="1", by="01")
    (case.folder / "قرارداد ۱۴۰۵.pdf").write_bytes(b"%PDF-1.4 contract " * 200)
    (case.folder / "photo.jpg").write_bytes(os.urandom(5000))
    (a.folder / "00001 quote.pdf").write_bytes(b"%PDF quote")
    outbox = store.layout_of(cfg).state / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    (outbox / "1-1001.json").write_text('{"text": "نرم‌افزار پارس — 1001"}', encoding="utf-8")
    (store.layout_of(cfg).state / "index.sqlite").write_bytes(b"derived, rebuilt from the folders")
    return {"applicant": a.folder, "case": case.folder, "other": c.folder, "case_code": case.case, "lead": a.lead}


@pytest.fixture
def archive(cfg: Config) -> dict[str, Path]:
    return build_archive(cfg)


@pytest.fixture
def drive(cfg: Config, tmp_path: Path) -> Path:
    (tmp_path / "drive").mkdir()  # the mounted drive; init-target makes the folder on it
    return backup.init_target(cfg, tmp_path / "drive" / "archivist")


def at(monkeypatch: pytest.MonkeyPatch, iso: str) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", iso)


def files_of(folder: Path) -> dict[str, os.stat_result]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != ".archivist"]
        for name in filenames:
            p = Path(dirpath) / name
            out[str(p.relative_to(folder))] = p.stat()
    return out


def test_two_snapshots_share_unchanged_files_and_both_restore_as_they_were(
    cfg: Config, archive: dict, drive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    at(monkeypatch, "2026-11-01T02:00:00+03:30")
    first = backup.run_backup(cfg, drive)
    before = tree_digest(cfg.root)

    at(monkeypatch, "2026-12-01T02:00:00+03:30")
    workflow.log_event(cfg, archive["lead"], kind="call", note="پیگیری دوم", by="07")
    second = backup.run_backup(cfg, drive)
    after = tree_digest(cfg.root)

    assert (first["snapshot"], second["snapshot"]) == ("2026-11-01T020000", "2026-12-01T020000")
    assert os.readlink(drive / "latest") == second["snapshot"]
    assert second["linked_to"] == first["snapshot"] and second["copied_files"] == 1
    old, new = files_of(drive / first["snapshot"]), files_of(drive / second["snapshot"])
    assert old.keys() == new.keys()
    changed = str((archive["applicant"] / "F-31-08-01.yaml").relative_to(cfg.root))
    for rel in old:
        same_inode = old[rel].st_ino == new[rel].st_ino
        assert same_inode == (rel != changed), rel

    # the outbox and registry travel, the derived index does not
    snap = drive / second["snapshot"]
    assert (snap / ".archivist" / "outbox" / "1-1001.json").read_text(encoding="utf-8").endswith('1001"}')
    assert (snap / "registry.yaml").is_file()
    assert not (snap / ".archivist" / "index.sqlite").exists()

    for name, digest in ((first["snapshot"], before), (second["snapshot"], after)):
        code, out, err = cli("backup", "restore", name, "--to", str(tmp_path / f"restored-{name}"), "--target", str(drive))
        assert code == 0, err
        assert tree_digest(tmp_path / f"restored-{name}") == digest
    assert before != after

    code, out, _ = cli("backup", "list", "--json", "--target", str(drive))
    listed = yaml.safe_load(out)
    assert [(s["snapshot"], s["date"], s["complete"], s["latest"]) for s in listed] == [
        ("2026-11-01T020000", "1405-08-10 02:00", True, False),
        ("2026-12-01T020000", "1405-09-10 02:00", True, True),
    ]
    # + the two outbox messages: the fixture's, and the conversion's own (kept while no chat is
    # configured, issue 16)
    assert listed[1]["files"] == len(new) + 2
    runs = backup.history(cfg)
    assert [r["snapshot"] for r in runs] == [first["snapshot"], second["snapshot"]]
    assert yaml.safe_load((snap / ".archivist" / "backup.yaml").read_text())["records"] == 3


def test_summary_line_always_printed(cli, cfg: Config, archive: dict, drive: Path) -> None:
    code, out, err = cli("backup", "run", "--target", str(drive))
    assert code == 0, err
    line = out.strip()
    assert "\n" not in line and " files " in line and " sent, " in line and line.endswith(str(drive))


def snapshot_dirs(drive: Path) -> list[str]:
    return sorted(p.name for p in drive.iterdir() if p.name != backup.MARKER)


def test_target_without_marker_refused_nothing_written(cli, cfg: Config, archive: dict, tmp_path: Path) -> None:
    mount_point = tmp_path / "media" / "backup-drive"
    mount_point.mkdir(parents=True)
    before = tree_digest(cfg.root)
    code, _, err = cli("backup", "run", "--target", str(mount_point))
    assert code == 1
    assert ".archivist-backup" in err and "init-target" in err
    assert list(mount_point.iterdir()) == []
    assert tree_digest(cfg.root) == before
    assert not backup.history_path(cfg).exists()

    code, _, err = cli("backup", "run", "--target", str(tmp_path / "not-mounted"))
    assert code == 1 and "does not exist" in err
    assert not (tmp_path / "not-mounted").exists()


def test_target_inside_root_or_around_it_refused(cli, cfg: Config, archive: dict, tmp_path: Path) -> None:
    inside = cfg.root / "backup"
    inside.mkdir()
    (inside / backup.MARKER).write_text("archivist_backup: 1\n")
    before = tree_digest(cfg.root)
    code, _, err = cli("backup", "run", "--target", str(inside))
    assert code == 1 and "inside the archive root" in err
    assert tree_digest(cfg.root) == before

    (tmp_path / backup.MARKER).write_text("archivist_backup: 1\n")
    listing = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = cli("backup", "run", "--target", str(tmp_path))
    assert code == 1 and "around the archive root" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == listing
    assert tree_digest(cfg.root) == before

    code, _, err = cli("backup", "init-target", str(cfg.root / "archive"))
    assert code == 1 and "inside or around" in err


def test_emptied_source_refused_unless_forced(
    cli, cfg: Config, archive: dict, drive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, "2026-11-01T02:00:00+03:30")
    assert cli("backup", "run", "--target", str(drive))[0] == 0
    at(monkeypatch, "2026-12-01T02:00:00+03:30")
    for _area, folder in list(store.iter_record_folders(store.layout_of(cfg))):
        shutil.rmtree(folder)
    state = snapshot_dirs(drive), backup.history(cfg)

    code, _, err = cli("backup", "run", "--target", str(drive))
    assert code == 1
    assert "0 records" in err and "had 3" in err and "--force" in err
    assert (snapshot_dirs(drive), backup.history(cfg)) == state
    assert os.readlink(drive / "latest") == "2026-11-01T020000"

    registry = store.layout_of(cfg).registry
    saved = registry.read_bytes()
    registry.unlink()
    code, _, err = cli("backup", "run", "--target", str(drive), "--force")
    assert code == 1 and "registry.yaml is missing" in err
    assert (snapshot_dirs(drive), backup.history(cfg)) == state

    registry.write_bytes(saved)
    code, out, err = cli("backup", "run", "--target", str(drive), "--force")
    assert code == 0, err
    assert os.readlink(drive / "latest") == "2026-12-01T020000"


def test_another_backup_running_refused(cfg: Config, archive: dict, drive: Path) -> None:
    with store.lock(store.layout_of(cfg), "backup"):
        with pytest.raises(backup.BackupRefused, match="already running"):
            backup.run_backup(cfg, drive)
    assert snapshot_dirs(drive) == []


# -- killed runs ---------------------------------------------------------------------------------------


def slow_config(tmp_path: Path, cfg: Config) -> Path:
    path = tmp_path / "slow.yaml"
    path.write_text(
        CONFIG_TEXT.replace("root: ./archive", f"root: {cfg.root}") + 'backup:\n  rsync_options: ["--bwlimit=400"]\n',
        encoding="utf-8",
    )
    return path


def start_slow_backup(tmp_path: Path, cfg: Config, drive: Path) -> tuple[subprocess.Popen, Path, int]:
    """`archivist backup run` in its own process, throttled; returns once rsync is copying."""
    for i in range(4):
        (cfg.root / "inbox" / f"scan-{i}.tiff").write_bytes(os.urandom(400_000))
    proc = subprocess.Popen(
        [sys.executable, "-m", "archivist", "--config", str(slow_config(tmp_path, cfg)), "backup", "run", "--target", str(drive)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        markers = list(drive.glob("*" + backup.IN_PROGRESS))
        info = yaml.safe_load(markers[0].read_text()) if markers else None
        if info and info.get("rsync_pid"):
            snap = drive / markers[0].name[: -len(backup.IN_PROGRESS)]
            if any(snap.rglob("*.yaml")):  # some files are in, the big scans are still coming
                assert proc.poll() is None
                return proc, snap, info["rsync_pid"]
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the throttled backup never started copying")


def assert_complete_latest(cfg: Config, drive: Path, summary: dict) -> None:
    snap = drive / summary["snapshot"]
    assert os.readlink(drive / "latest") == summary["snapshot"]
    assert not list(drive.glob("*" + backup.IN_PROGRESS))
    assert tree_digest(snap) == tree_digest(cfg.root)
    assert backup.verify(cfg, None, drive)["ok"]


def test_backup_with_rsync_killed_is_completed_by_the_next_run(
    cfg: Config, archive: dict, drive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, "2026-11-01T02:00:00+03:30")
    first = backup.run_backup(cfg, drive)
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-12-01T02:00:00+03:30")
    proc, partial, rsync_pid = start_slow_backup(tmp_path, cfg, drive)
    os.kill(rsync_pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "killed by signal 9" in err.decode() and "next `archivist backup run` completes it" in err.decode()

    # nothing claims success: latest still the November snapshot, the December one is marked partial
    assert os.readlink(drive / "latest") == first["snapshot"]
    listed = {s["snapshot"]: s for s in backup.list_snapshots(cfg, drive)}
    assert listed[partial.name]["complete"] is False and listed[partial.name]["in_progress"] is True
    assert backup.find_snapshot(drive, "latest").name == first["snapshot"]
    assert backup.history(cfg)[-1]["ok"] is False

    at(monkeypatch, "2026-12-01T03:00:00+03:30")
    second = backup.run_backup(cfg, drive)
    assert second["resumed_from"] == partial.name and second["snapshot"] == "2026-12-01T030000"
    assert snapshot_dirs(drive) == [first["snapshot"], second["snapshot"], "latest"]
    assert_complete_latest(cfg, drive, second)


def test_backup_killed_outright_is_completed_by_the_next_run(
    cfg: Config, archive: dict, drive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Power cut: archivist and rsync die together, no cleanup code runs at all."""
    at(monkeypatch, "2026-12-01T02:00:00+03:30")
    proc, partial, _ = start_slow_backup(tmp_path, cfg, drive)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (drive / "latest").exists()
    with pytest.raises(ArchivistError, match="no complete snapshot"):
        backup.find_snapshot(drive, None)

    at(monkeypatch, "2026-12-01T02:30:00+03:30")
    done = backup.run_backup(cfg, drive)
    assert done["resumed_from"] == partial.name
    assert snapshot_dirs(drive) == [done["snapshot"], "latest"]
    assert_complete_latest(cfg, drive, done)


# -- verify, retention, restore -----------------------------------------------------------------------


def test_verify_catches_a_flipped_byte_and_a_deleted_file(cli, cfg: Config, archive: dict, drive: Path) -> None:
    backup.run_backup(cfg, drive)
    code, out, _ = cli("backup", "verify", "--target", str(drive))
    assert code == 0 and "matches the archive" in out

    snap = drive / "latest"
    contract = archive["case"].relative_to(cfg.root) / "قرارداد ۱۴۰۵.pdf"
    with open(snap / contract, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x01]))
    deleted = archive["applicant"].relative_to(cfg.root) / "F-31-08-01.yaml"
    (snap / deleted).unlink()

    code, out, _ = cli("backup", "verify", "--json", "--target", str(drive))
    assert code == 1
    result = yaml.safe_load(out)
    found = sorted((d["path"], d["kind"]) for d in result["differences"])
    assert found == sorted([(str(contract), "differs"), (str(deleted), "missing")])
    assert not any(d["changed_since"] for d in result["differences"])
    listed = backup.list_snapshots(cfg, drive)[-1]
    assert listed["verified"]["ok"] is False and listed["verified"]["differences"] == 2
    code, out, _ = cli("backup", "verify", "--target", str(drive))
    assert code == 1 and "قرارداد ۱۴۰۵.pdf" in out and "2 difference(s)" in out


def test_verify_of_an_intact_older_snapshot_reports_later_work_but_passes(cli, cfg: Config, archive: dict, drive: Path) -> None:
    first = backup.run_backup(cfg, drive)["snapshot"]
    time.sleep(0.05)
    # ordinary work after the snapshot: a call logged, a convert (folder moves), a file filed, one deleted
    workflow.log_event(cfg, archive["lead"], kind="call", note="تماس پس از پشتیبان", by="07")
    other = workflow.log_event(cfg, "00003", kind="call", note="اولین تماس", by="02")
    case = workflow.convert(cfg, other.lead, service="2", by="02")
    (case.folder / "پیش‌فاکتور.pdf").write_bytes(b"%PDF new")
    (archive["case"] / "photo.jpg").unlink()

    code, out, _ = cli("backup", "verify", first, "--json", "--target", str(drive))
    result = yaml.safe_load(out)
    assert code == 0 and result["ok"] and result["damaged"] == 0
    kinds = {d["kind"] for d in result["differences"]}
    assert {"differs", "missing", "extra"} <= kinds and all(d["changed_since"] for d in result["differences"])
    code, out, _ = cli("backup", "verify", first, "--target", str(drive))
    assert code == 0 and "intact" in out and "changed in the archive since" in out
    listed = backup.list_snapshots(cfg, drive)[-1]
    assert listed["verified"]["ok"] is True and listed["verified"]["changed_since"] == result["changed_since"]
    assert "verified ok" in cli("backup", "list", "--target", str(drive))[1]

    # damage on the drive is still damage when the archive has moved on too
    snap = drive / first
    quote = archive["applicant"].relative_to(cfg.root) / "00001 quote.pdf"
    (snap / quote).write_bytes(b"%PDF quotf")
    contract = archive["case"].relative_to(cfg.root) / "قرارداد ۱۴۰۵.pdf"  # its folder changed, it did not
    (snap / contract).unlink()
    code, out, _ = cli("backup", "verify", first, "--json", "--target", str(drive))
    result = yaml.safe_load(out)
    damaged = sorted((d["path"], d["kind"]) for d in result["differences"] if not d["changed_since"])
    assert code == 1 and result["damaged"] == 2
    assert damaged == sorted([(str(quote), "differs"), (str(contract), "missing")])


def test_verify_reports_a_file_added_to_the_snapshot_as_damage(cli, cfg: Config, archive: dict, drive: Path) -> None:
    backup.run_backup(cfg, drive)
    planted = archive["case"].relative_to(cfg.root) / "not ours.exe"
    (drive / "latest" / planted).write_bytes(b"MZ")
    code, out, _ = cli("backup", "verify", "--json", "--target", str(drive))
    result = yaml.safe_load(out)
    assert code == 1 and [(d["path"], d["kind"], d["changed_since"]) for d in result["differences"]] == [
        (str(planted), "extra", False)
    ]


def test_retention_keeps_exactly_keep_snapshots(cfg: Config, archive: dict, drive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = replace(cfg, backup=replace(cfg.backup, keep=3))
    names = []
    for month in range(7, 13):
        at(monkeypatch, f"2026-{month:02d}-01T02:00:00+03:30")
        workflow.log_event(cfg, archive["lead"], kind="note", note=f"ماه {month}", by="07")
        names.append(backup.run_backup(cfg, drive)["snapshot"])
    assert snapshot_dirs(drive) == [*names[-3:], "latest"]
    assert os.readlink(drive / "latest") == names[-1]

    # pruning spares latest and an in-progress snapshot, whatever their age
    partial = drive / "2020-01-01T000000"
    partial.mkdir()
    (drive / ("2020-01-01T000000" + backup.IN_PROGRESS)).write_text("pid: 1\n")
    backup._set_latest(drive, names[-3])
    assert backup.prune(drive, 1) == [names[-2]]
    assert snapshot_dirs(drive) == ["2020-01-01T000000", "2020-01-01T000000.in-progress", names[-3], names[-1], "latest"]


def test_restore_never_writes_into_the_live_root_unless_asked_twice(cli, cfg: Config, archive: dict, drive: Path) -> None:
    backup.run_backup(cfg, drive)
    before = tree_digest(cfg.root)
    for args in (
        ("--to", str(cfg.root)),
        ("--to", str(cfg.root / "customers")),
        ("--into-root",),
        ("--to", str(cfg.root), "--into-root"),
    ):
        code, _, err = cli("backup", "restore", "latest", *args, "--target", str(drive))
        assert code == 1 and "--into-root --yes" in err, args
    code, _, err = cli(
        "backup", "restore", "latest", "--record", archive["case_code"], "--to", str(cfg.root), "--target", str(drive)
    )
    assert code == 1
    assert tree_digest(cfg.root) == before

    # a record deleted by mistake comes back to where it was, byte for byte
    case_folder = archive["case"]
    shutil.rmtree(case_folder)
    code, out, err = cli(
        "backup", "restore", "latest", "--record", archive["case_code"], "--into-root", "--yes", "--target", str(drive)
    )
    assert code == 0, err
    assert tree_digest(cfg.root) == before
    # …but a record that is still there is not overwritten
    code, _, err = cli(
        "backup", "restore", "latest", "--record", archive["case_code"], "--into-root", "--yes", "--target", str(drive)
    )
    assert code == 1 and "is in the live archive" in err


def test_restore_whole_snapshot_into_root_keeps_replaced_files(cli, cfg: Config, archive: dict, drive: Path) -> None:
    backup.run_backup(cfg, drive)
    before = tree_digest(cfg.root)
    log = archive["other"] / "F-31-08-01.yaml"
    damaged = log.read_bytes().replace(b"Acme", b"Acne")
    log.write_bytes(damaged)
    shutil.rmtree(archive["applicant"])
    code, out, err = cli("backup", "restore", "latest", "--into-root", "--yes", "--target", str(drive))
    assert code == 0, err
    assert tree_digest(cfg.root) == before
    kept = list((store.layout_of(cfg).state / "replaced-by-restore").rglob("F-31-08-01.yaml"))
    assert [p.read_bytes() for p in kept] == [damaged]


# -- schedule -----------------------------------------------------------------------------------------


def test_monthly_schedule_runs_missed_backup_when_the_drive_is_back(
    cfg: Config, archive: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drive = tmp_path / "drive"
    cfg = replace(cfg, backup=replace(cfg.backup, target=drive))
    state = backup.schedule_state(cfg, datetime(2026, 11, 23, 9, 0, tzinfo=TEHRAN))
    assert state["last_ok"] is None and state["overdue"] is True and state["target_ready"] is False
    # day 1 of the Jalali month: 1 Azar 1405 = 22 Nov 2026, 02:00
    assert state["next_due"] == "2026-11-22T02:00:00+03:30"
    assert backup.run_if_due(cfg, datetime(2026, 11, 23, 9, 0, tzinfo=TEHRAN)) is None  # drive absent

    backup.init_target(cfg, drive)
    at(monkeypatch, "2026-11-23T09:05:00+03:30")
    summary = backup.run_if_due(cfg, datetime(2026, 11, 23, 9, 5, tzinfo=TEHRAN))
    assert summary and summary["ok"] and (drive / summary["snapshot"]).is_dir()

    state = backup.schedule_state(cfg, datetime(2026, 12, 1, 9, 0, tzinfo=TEHRAN))
    assert state["last_ok"] == "2026-11-23T09:05:00+03:30" and state["target_ready"] is True
    assert state["next_due"] == "2026-12-22T02:00:00+03:30" and state["overdue"] is False  # 1 Dey 1405
    assert backup.run_if_due(cfg, datetime(2026, 12, 1, 9, 0, tzinfo=TEHRAN)) is None
    assert backup.schedule_state(cfg, datetime(2026, 12, 22, 2, 1, tzinfo=TEHRAN))["overdue"] is True

    greg = replace(cfg, calendar="gregorian")
    assert backup.schedule_state(greg, datetime(2026, 11, 24, tzinfo=TEHRAN))["next_due"] == "2026-12-01T02:00:00+03:30"


def test_scheduled_run_refused_by_a_guard_reports_and_backs_off(
    cfg: Config, archive: dict, drive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = replace(cfg, backup=replace(cfg.backup, target=drive))
    store.layout_of(cfg).registry.unlink()
    now = datetime(2026, 12, 1, 3, 0, tzinfo=TEHRAN)
    result = backup.run_if_due(cfg, now)
    assert result is not None and result["ok"] is False and "registry.yaml is missing" in result["error"]
    assert backup.run_if_due(cfg, now.replace(minute=30)) is None  # not retried every minute
    assert snapshot_dirs(drive) == []


def test_config_backup_section_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        CONFIG_TEXT + 'backup:\n  target: ./drive\n  keep: 6\n  rsync_options: ["--bwlimit=1000"]\n', encoding="utf-8"
    )
    cfg = load_config(path)
    assert cfg.backup.target == (tmp_path / "drive").resolve() and cfg.backup.keep == 6
    assert cfg.backup.rsync_options == ("--bwlimit=1000",)


def test_progress_shown_on_a_terminal_and_the_summary_line_always(
    cfg: Config, config_file: Path, archive: dict, drive: Path
) -> None:
    import pty

    master, slave = pty.openpty()
    (cfg.root / "inbox" / "scan.tiff").write_bytes(os.urandom(300_000))
    proc = subprocess.Popen(
        [sys.executable, "-m", "archivist", "--config", str(config_file), "backup", "run", "--target", str(drive)],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ},
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: rsync and archivist are done
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=30)
    os.close(master)
    assert proc.returncode == 0
    assert b"100%" in shown  # rsync's --info=progress2 line, redrawn in place
    assert out.decode().count("\n") == 1 and out.decode().startswith("backup ")


def test_status_shows_last_good_backup_and_overdue(
    cli, cfg: Config, archive: dict, drive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, "2026-11-23T09:00:00+03:30")
    code, out, _ = cli("backup", "status", "--json")
    state = yaml.safe_load(out)
    assert code == 0 and state["last_ok"] is None and state["overdue"] is True and state["target_ready"] is False
    assert cli("backup", "run", "--target", str(drive))[0] == 0
    code, out, _ = cli("backup", "status")
    # shown in the configured calendar (issue 16: it printed the stored ISO timestamp)
    assert "last good backup: 1405-09-02 09:00" in out and "overdue" not in out.lower()
