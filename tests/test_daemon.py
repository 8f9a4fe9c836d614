"""The daemon as staff meet it: a real `archivist daemon` process, real files, real inotify events.

Every check polls with a deadline (`eventually`); nothing sleeps and then asserts.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from archivist import backup
from archivist.record import LOG_NAME, load_record
from tests.daemon_helpers import Archive, eventually, log_bytes


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    a = Archive(tmp_path, policy="report")
    yield a
    a.stop_all()


@pytest.fixture
def fixing_archive(tmp_path: Path) -> Iterator[Archive]:
    a = Archive(tmp_path, policy="fix")
    yield a
    a.stop_all()


def _case(archive: Archive, company: str = "شرکت نمونه پارس") -> tuple[str, str, Path]:
    lead = archive.register(company)
    case = archive.convert(lead)
    return lead, case, archive.folder_of(case)


# -- inbox ---------------------------------------------------------------------------------------------


def test_inbox_file_named_with_case_code_lands_in_the_case_and_is_searchable(archive: Archive) -> None:
    _lead, case, folder = _case(archive)
    archive.start()
    (archive.inbox / f"{case} contract.pdf").write_bytes(b"%PDF-1.7 signed contract")
    filed = eventually(
        lambda: (folder / f"{case} contract.pdf").exists() and folder / f"{case} contract.pdf",
        what="the contract to be filed into the case folder",
    )
    assert filed.read_bytes() == b"%PDF-1.7 signed contract"
    assert not (archive.inbox / f"{case} contract.pdf").exists()
    # the move comes first, the `filed` event just after it: wait for that state, not a moment
    eventually(lambda: archive.events(folder, "filed"), what="the filed event")
    assert [e["note"] for e in archive.events(folder, "filed")] == [f"{case} contract.pdf"]
    hits = eventually(lambda: archive.search("contract.pdf"), what="the filed file to be searchable")
    assert hits[0]["case"] == case


def test_inbox_file_with_persian_digit_applicant_code_and_underscore_is_filed(archive: Archive) -> None:
    lead = archive.register("کاشی سرام یزد", staff="07")
    folder = archive.folder_of(lead)
    archive.start()
    persian = lead.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    (archive.inbox / f"{persian}_پیش‌فاکتور.pdf").write_bytes(b"quote")
    eventually(lambda: (folder / f"{persian}_پیش‌فاکتور.pdf").exists(), what="the quote to be filed by its Persian-digit code")


def test_file_without_a_code_stays_in_the_inbox_and_is_reported_unfiled(archive: Archive) -> None:
    _case(archive)
    (archive.inbox / "scan 1405-09-02.pdf").write_bytes(b"scan")
    (archive.inbox / "9999 unknown code.pdf").write_bytes(b"nobody has this code")
    archive.start()
    status = eventually(lambda: (s := archive.json("status"))["unfiled"] == 2 and s, what="two unfiled files in status")
    assert sorted(status["unfiled_files"]) == ["9999 unknown code.pdf", "scan 1405-09-02.pdf"]
    eventually(lambda: "unfiled: inbox/scan 1405-09-02.pdf" in archive.daemon_log(), what="the unfiled file in the daemon log")
    archive.wait_idle()
    assert (archive.inbox / "scan 1405-09-02.pdf").read_bytes() == b"scan"
    assert (archive.inbox / "9999 unknown code.pdf").exists()


def test_file_still_being_written_is_not_moved_until_complete(archive: Archive) -> None:
    _lead, case, folder = _case(archive)
    archive.start()
    name = f"{case} technical file.bin"
    chunks = [os.urandom(64 * 1024) for _ in range(10)]
    with open(archive.inbox / name, "wb") as f:
        for chunk in chunks:  # ~2.5 s of writing, each pause shorter than settle_seconds
            f.write(chunk)
            f.flush()
            time.sleep(0.25)
            assert (archive.inbox / name).exists(), "moved while still being written"
            assert not (folder / name).exists()
    filed = eventually(lambda: (folder / name).exists() and folder / name, what="the finished file to be filed")
    assert filed.read_bytes() == b"".join(chunks)


def test_name_clash_in_the_record_gets_a_numbered_name_never_an_overwrite(archive: Archive) -> None:
    _lead, case, folder = _case(archive)
    (folder / f"{case} contract.pdf").write_bytes(b"the first contract")
    archive.start()
    (archive.inbox / f"{case} contract.pdf").write_bytes(b"the amended contract")
    eventually(lambda: (folder / f"{case} contract (2).pdf").exists(), what="the clash to be filed as (2)")
    assert (folder / f"{case} contract.pdf").read_bytes() == b"the first contract"
    assert (folder / f"{case} contract (2).pdf").read_bytes() == b"the amended contract"


def test_five_thousand_files_dropped_at_once_are_all_filed_none_lost_none_duplicated(archive: Archive) -> None:
    cases = [_case(archive, f"شرکت شماره {i}")[1:] for i in range(25)]
    archive.start()
    staging = archive.base / "staging"
    staging.mkdir()
    expected: dict[str, str] = {}
    for i in range(5000):
        case, _folder = cases[i % len(cases)]
        name = f"{case} سند {i:04d}.pdf"
        data = f"document {i}".encode()
        (staging / name).write_bytes(data)
        expected[hashlib.sha256(data).hexdigest()] = case
    for p in staging.iterdir():  # "at once": renames into the inbox, as a file manager's move does
        os.rename(p, archive.inbox / p.name)
    eventually(lambda: not any(archive.inbox.iterdir()), timeout=240, what="the inbox to be empty")
    archive.wait_idle(timeout=120)
    found: dict[str, str] = {}
    for case, folder in cases:
        for p in folder.iterdir():
            if p.name == LOG_NAME:
                continue
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            assert digest not in found, f"{p.name} filed twice"
            found[digest] = case
        assert len(archive.events(folder, "filed")) == 200
    assert found == expected


# -- naming enforcement --------------------------------------------------------------------------------


def _rename_applicant_by_hand(archive: Archive) -> tuple[str, Path, Path]:
    lead = archive.register("Acme Trading", staff="07")
    folder = archive.folder_of(lead)
    wrong = folder.with_name(f"Acme Trading - ۰۷ - {lead.translate(str.maketrans('0123456789', '۰۱۲۳۴۵۶۷۸۹'))}")
    os.rename(folder, wrong)
    return lead, folder, wrong


def test_folder_renamed_by_hand_to_a_wrong_name_is_reported_under_report_policy(archive: Archive) -> None:
    archive.start()
    _lead, right, wrong = _rename_applicant_by_hand(archive)
    status = eventually(lambda: (s := archive.json("status"))["violations"] and s, what="the violation in status")
    assert status["violations"] == 1
    eventually(
        lambda: "persian-digits" in archive.daemon_log() and wrong.name in archive.daemon_log(),
        what="the violation in the daemon log",
    )
    archive.wait_idle()
    assert wrong.is_dir() and not right.exists()
    assert archive.events(wrong, "renamed") == []


def test_folder_renamed_by_hand_to_a_wrong_name_is_fixed_under_fix_policy(fixing_archive: Archive) -> None:
    archive = fixing_archive
    archive.start()
    _lead, right, wrong = _rename_applicant_by_hand(archive)
    eventually(lambda: right.is_dir() and not wrong.exists(), what="the folder to be renamed back")
    renamed = eventually(lambda: archive.events(right, "renamed"), what="the renamed event")
    assert renamed[0]["from"].endswith(wrong.name) and renamed[0]["into"].endswith(right.name)
    archive.wait_idle()
    assert archive.status()["violations"] == 0


def test_record_moved_by_hand_into_the_archive_area_is_noticed(archive: Archive) -> None:
    _lead, case, folder = _case(archive, "گروه صنعتی البرز")
    archive.start()
    moved = archive.root / "archive" / "customers" / case
    os.rename(folder, moved)
    hits = eventually(lambda: [h for h in archive.search(case) if h["path"] == str(moved)], what="the index to follow the move")
    assert hits[0]["case"] == case
    eventually(lambda: "misplaced" in archive.daemon_log(), what="the misplaced report (stage open is not archived)")


def test_files_added_and_removed_in_a_record_folder_by_hand_are_noticed(archive: Archive) -> None:
    _lead, case, folder = _case(archive, "صنایع غذایی کاله")
    archive.start()
    (folder / "گواهی‌نامه ISO.pdf").write_bytes(b"certificate")
    hits = eventually(lambda: [h for h in archive.search("گواهی‌نامه") if h["case"] == case], what="the new file in search")
    assert hits
    (folder / "گواهی‌نامه ISO.pdf").unlink()
    eventually(
        lambda: not [h for h in archive.search("گواهی‌نامه") if h["case"] == case], what="the removed file gone from search"
    )


def test_record_folder_deleted_by_hand_leaves_the_list(archive: Archive) -> None:
    import shutil

    lead = archive.register("Damavand Tile", staff="02")
    folder = archive.folder_of(lead)
    archive.start()
    eventually(lambda: archive.search("Damavand Tile"), what="the record in search")
    shutil.rmtree(folder)
    eventually(lambda: not archive.search("Damavand Tile"), what="the deleted record gone from search")


# -- hand edits ------------------------------------------------------------------------------------------


def _edit_company(folder: Path, old: str, new: str) -> None:
    text = (folder / LOG_NAME).read_text(encoding="utf-8")
    assert f"company: {old}" in text
    (folder / LOG_NAME).write_text(text.replace(f"company: {old}", f"company: {new}"), encoding="utf-8")


def test_hand_edited_log_shows_in_search_within_two_seconds_and_gets_an_edited_event(archive: Archive) -> None:
    _lead, case, folder = _case(archive, "Sepahan Steel")
    archive.start()
    _edit_company(folder, "Sepahan Steel", "فولاد سپاهان")
    hits = eventually(
        lambda: [h for h in archive.search("فولاد سپاهان") if h["case"] == case],
        timeout=2.0,
        what="the new company name in search --json within 2 s",
    )
    assert hits[0]["company"] == "فولاد سپاهان"
    edited = eventually(lambda: archive.events(folder, "edited"), what="the edited event")
    assert edited[0]["fields"] == ["company"]
    assert "Sepahan Steel" in edited[0]["note"] and "فولاد سپاهان" in edited[0]["note"]
    archive.wait_idle()
    assert len(archive.events(folder, "edited")) == 1, "the daemon's own event must not count as another edit"


def test_hand_edit_made_while_the_daemon_was_down_is_caught_at_start(archive: Archive) -> None:
    _lead, _case_code, folder = _case(archive)
    proc = archive.start()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=5)
    data = yaml.safe_load(log_bytes(folder))
    data["contact"]["mobile"] = "۰۹۱۲۱۲۳۴۵۶۷"
    (folder / LOG_NAME).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    archive.start()
    edited = eventually(lambda: archive.events(folder, "edited"), what="the edited event after restart")
    assert edited[0]["fields"] == ["contact.mobile"]


def test_actions_from_the_cli_are_not_mistaken_for_hand_edits(archive: Archive) -> None:
    _lead, case, folder = _case(archive)
    archive.start()
    archive.run("followup", case, "--at", "+2d")
    archive.run("contract", case)
    eventually(lambda: archive.events(folder, "contract"), what="the contract event")
    archive.wait_idle()
    assert archive.events(folder, "edited") == []


def test_invalid_hand_edit_is_reported_and_the_file_is_left_byte_identical(archive: Archive) -> None:
    _lead, _case_code, folder = _case(archive)
    archive.start()
    broken = log_bytes(folder).replace(b"status: open", b"status: [open")
    (folder / LOG_NAME).write_bytes(broken)
    status = eventually(lambda: (s := archive.json("status"))["invalid_logs"] and s, what="the invalid log in status")
    assert status["invalid_logs"] == 1
    where = f"invalid-log: {folder.relative_to(archive.root)}/{LOG_NAME}"
    line = eventually(
        lambda: [ln for ln in archive.daemon_log().splitlines() if where in ln], what="the invalid log in the daemon log"
    )
    assert "(line " in line[0]
    (archive.inbox / f"{folder.name} late scan.pdf").write_bytes(b"scan")  # filing must not write that log either
    archive.wait_idle()
    assert log_bytes(folder) == broken
    assert (archive.inbox / f"{folder.name} late scan.pdf").exists()


# -- operations -------------------------------------------------------------------------------------------


def test_a_second_daemon_on_the_same_root_refuses_with_a_clear_message(archive: Archive) -> None:
    first = archive.start()
    second = archive.run("daemon", check=False)
    assert second.returncode == 1
    assert "already running" in second.stderr and str(first.pid) in second.stderr
    assert archive.status()["pid"] == first.pid


def test_sigterm_stops_the_daemon_cleanly_within_two_seconds(archive: Archive) -> None:
    proc = archive.start()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=2.0) == 0
    assert archive.status()["running"] is False
    assert "daemon stopped" in archive.daemon_log()


def test_kill_9_mid_work_then_restart_heals_and_loses_nothing(archive: Archive) -> None:
    cases = [_case(archive, f"Kimia Pharma {i}")[1:] for i in range(5)]
    proc = archive.start()
    staging = archive.base / "staging"
    staging.mkdir()
    for i in range(1500):
        (staging / f"{cases[i % 5][0]} page {i:04d}.jpg").write_bytes(f"page {i}".encode())
    for p in staging.iterdir():
        os.rename(p, archive.inbox / p.name)
    eventually(lambda: len(list(archive.inbox.iterdir())) < 1500, what="filing to be under way")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=5)
    # while it is down: a hand edit the restart must pick up
    target_case, target = cases[0]
    _edit_company(target, "Kimia Pharma 0", "کیمیا دارو")
    assert archive.status()["running"] is False
    archive.start()
    eventually(lambda: not any(archive.inbox.iterdir()), timeout=120, what="the inbox to be empty after restart")
    archive.wait_idle(timeout=60)
    names = sorted(p.name for _c, f in cases for p in f.iterdir() if p.name != LOG_NAME)
    assert names == sorted(f"{cases[i % 5][0]} page {i:04d}.jpg" for i in range(1500))
    hits = eventually(lambda: [h for h in archive.search("کیمیا دارو") if h["case"] == target_case], what="the index healed")
    assert hits
    for _case_code, folder in cases:
        load_record(folder)  # every log still valid after the crash


def test_once_runs_one_pass_and_exits(archive: Archive) -> None:
    _lead, case, folder = _case(archive)
    path = archive.inbox / f"{case} invoice.pdf"
    path.write_bytes(b"invoice")
    old = time.time() - 60
    os.utime(path, (old, old))
    res = archive.run("daemon", "--once")
    assert res.returncode == 0
    assert (folder / f"{case} invoice.pdf").exists()
    assert archive.status()["running"] is False
    assert archive.search("invoice.pdf")[0]["case"] == case


def test_status_json_has_every_field_staff_need(archive: Archive) -> None:
    _case(archive)
    proc = archive.start()
    status = archive.json("status")
    assert status["running"] is True and status["pid"] == proc.pid
    for key in (
        "uptime_seconds",
        "records",
        "last_reconcile",
        "pending_events",
        "violations",
        "unfiled",
        "last_backup",
        "next_backup",
    ):
        assert key in status
    assert status["records"] == 1
    text = archive.run("status").stdout
    assert f"running (pid {proc.pid}" in text


def test_spawn_starts_a_detached_daemon_once(archive: Archive) -> None:
    from archivist.daemon import running, spawn

    pid = spawn(archive.cfg)
    try:
        assert running(archive.cfg) == pid
        assert spawn(archive.cfg) == pid
    finally:
        os.kill(pid, signal.SIGTERM)
        eventually(lambda: running(archive.cfg) is None, timeout=5, what="the spawned daemon to stop")


def test_python_m_archivist_daemon_help_lists_once() -> None:
    res = subprocess.run([sys.executable, "-m", "archivist", "daemon", "--help"], capture_output=True, text=True)
    assert "--once" in res.stdout


def test_backup_missed_while_the_daemon_was_down_runs_at_its_start(tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / ".archivist-backup").write_text("", encoding="utf-8")
    (tmp_path / "office").mkdir()
    archive = Archive(tmp_path / "office", extra=f"backup:\n  target: {drive}\n  schedule: daily\n  time: '00:00'\n")
    try:
        _case(archive)
        assert archive.status()["backup_overdue"] is True
        archive.start()
        # a snapshot folder appears as soon as rsync starts; only a complete one is a backup
        snapshot = eventually(lambda: backup.latest_complete(drive), timeout=60, what="a complete snapshot on the drive")
        assert any((snapshot.path / "customers").iterdir())
        eventually(lambda: archive.status()["backup_overdue"] is False, timeout=30, what="the backup no longer overdue")
    finally:
        archive.stop_all()
