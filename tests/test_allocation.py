"""Numbers are serial, unique and never reissued (SPEC §4), even under concurrency and lost state."""

from __future__ import annotations

import multiprocessing as mp
import shutil
from pathlib import Path

import pytest
import yaml

from archivist import allocation, workflow
from archivist.config import Config, load_config
from archivist.errors import CodeExhausted, DuplicateNumber
from archivist.record import LOG_NAME

_fork = mp.get_context("fork")


def _register_one(config_path: str, i: int, q) -> None:
    cfg = load_config(config_path)
    rec = workflow.register(cfg, company=f"شرکت همزمان {i}", staff="01")
    q.put(rec.lead)


def _append_one(config_path: str, code: str, i: int) -> None:
    cfg = load_config(config_path)
    workflow.log_event(cfg, code, kind="note", note=f"یادداشت {i}", by="01")


def test_sixteen_processes_get_sixteen_distinct_codes(cfg: Config, config_file: Path) -> None:
    q = _fork.Queue()
    procs = [_fork.Process(target=_register_one, args=(str(config_file), i, q)) for i in range(16)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    leads = sorted(q.get(timeout=5) for _ in range(16))
    assert leads == [f"{n:05d}" for n in range(1, 17)]
    assert len(list((cfg.root / "applicants").iterdir())) == 16


def test_eight_writers_on_one_record_keep_all_events(cfg: Config, config_file: Path) -> None:
    rec = workflow.register(cfg, company="Concurrent Notes Co", staff="01")
    procs = [_fork.Process(target=_append_one, args=(str(config_file), rec.lead, i)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = yaml.safe_load((rec.folder / LOG_NAME).read_text(encoding="utf-8"))
    notes = sorted(e["note"] for e in data["events"] if e["kind"] == "note")
    assert notes == sorted(f"یادداشت {i}" for i in range(8))


def test_code_never_reissued_after_folder_deleted(cfg: Config) -> None:
    first = workflow.register(cfg, company="Gone Co", staff="01")
    shutil.rmtree(first.folder)
    second = workflow.register(cfg, company="Next Co", staff="01")
    assert second.lead == "00002"
    case1 = workflow.convert(cfg, second.lead, service="3", by="01")
    shutil.rmtree(case1.folder)
    third = workflow.register(cfg, company="Third Co", staff="01")
    case2 = workflow.convert(cfg, third.lead, service="3", by="01")
    assert (case1.case, case2.case) == ("3001", "3002")


def test_lost_registry_does_not_reuse_codes_on_disk(cfg: Config) -> None:
    a = workflow.register(cfg, company="Open Applicant", staff="01")
    b = workflow.register(cfg, company="Converted One", staff="01")
    workflow.convert(cfg, b.lead, service="1", by="01")  # its lead now lives only inside customers/1001
    c = workflow.register(cfg, company="Declined One", staff="01")
    workflow.decline(cfg, c.lead, by="01")
    workflow.crm(cfg, c.lead, by="01")
    workflow.archive(cfg, c.lead, by="01")
    contract = workflow.sign_contract(cfg, "1001", by="01").contract
    # the lead with the highest code is the converted one: make sure it is the newest
    d = workflow.register(cfg, company="Newest", staff="01")
    workflow.convert(cfg, d.lead, service="1", by="01")
    (cfg.root / "registry.yaml").unlink()

    e = workflow.register(cfg, company="After Loss", staff="01")
    assert e.lead == "00005", "the converted applicant 00004 is only visible inside its case log"
    f = workflow.convert(cfg, e.lead, service="1", by="01")
    assert f.case == "1003"
    g = workflow.sign_contract(cfg, f.case, by="01")
    assert g.contract != contract
    assert {a.lead, b.lead, c.lead, d.lead, e.lead} == {f"{n:05d}" for n in range(1, 6)}


def test_exhausted_case_range_is_a_clear_error(cfg: Config) -> None:
    reg = allocation.read_registry(allocation.layout_of(cfg))
    reg.case["4"] = 4999
    allocation.write_registry(allocation.layout_of(cfg), reg)
    rec = workflow.register(cfg, company="Too Many", staff="01")
    with pytest.raises(CodeExhausted, match="4001..4999"):
        workflow.convert(cfg, rec.lead, service="Consulting", by="01")
    # nothing half-done: still an applicant, still in applicants/
    assert yaml.safe_load((rec.folder / LOG_NAME).read_text(encoding="utf-8"))["case"] is None


def test_exhausted_applicant_codes_error(cfg: Config) -> None:
    reg = allocation.read_registry(allocation.layout_of(cfg))
    reg.applicant = 99999
    allocation.write_registry(allocation.layout_of(cfg), reg)
    with pytest.raises(CodeExhausted):
        workflow.register(cfg, company="One Too Many", staff="01")


def test_contract_and_invoice_numbers_serial_and_unique(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")  # Jalali 1405
    cases = []
    for name in ("Serial A", "Serial B"):
        rec = workflow.register(cfg, company=name, staff="01")
        cases.append(workflow.convert(cfg, rec.lead, service="1", by="01").case)
    assert workflow.sign_contract(cfg, cases[0], by="01").contract == "1405-0001"
    assert workflow.sign_contract(cfg, cases[1], by="01").contract == "1405-0002"
    inv = [workflow.add_invoice(cfg, cases[0], by="01").invoices[-1]["number"] for _ in range(3)]
    assert inv == ["140500001", "140500002", "140500003"]
    with pytest.raises(DuplicateNumber):
        workflow.add_invoice(cfg, cases[1], by="01", number="۱۴۰۵۰۰۰۰۲")
    # a hand-typed number ahead of the series moves the series past it
    workflow.add_invoice(cfg, cases[1], by="01", number="140500010")
    assert workflow.add_invoice(cfg, cases[1], by="01").invoices[-1]["number"] == "140500011"


def _case_with_numbers(cfg: Config, company: str) -> tuple[str, str, str, str]:
    """A registered, converted, contracted and invoiced case: (lead, case, contract, invoice)."""
    rec = workflow.register(cfg, company=company, staff="01")
    case = workflow.convert(cfg, rec.lead, service="1", by="01").case
    contract = workflow.sign_contract(cfg, case, by="01").contract
    invoice = workflow.add_invoice(cfg, case, by="01").invoices[-1]["number"]
    return rec.lead, case, contract, invoice


def _all_numbers(cfg: Config) -> tuple[list[str], list[str], list[str], list[str]]:
    """Every lead, case, contract and invoice number written in a log under the root."""
    leads, cases, contracts, invoices = [], [], [], []
    for log in cfg.root.glob("**/" + LOG_NAME):
        data = yaml.safe_load(log.read_text(encoding="utf-8"))
        leads.append(data["lead"])
        cases += [data["case"]] if data["case"] else []
        contracts += [data["contract"]] if data["contract"] else []
        invoices += [inv["number"] for inv in data["invoices"]]
    return leads, cases, contracts, invoices


def _assert_nothing_reissued(cfg: Config) -> None:
    for kind, found in zip(("lead", "case", "contract", "invoice"), _all_numbers(cfg), strict=True):
        assert len(found) == len(set(found)), f"a {kind} number was issued twice: {sorted(found)}"


def test_empty_registry_reissues_nothing(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")  # Jalali 1405
    workflow.register(cfg, company="شرکت الف", staff="01")
    lead_b, case_b, contract_b, invoice_b = _case_with_numbers(cfg, "شرکت ب")  # 00002 lives only in its case log
    (cfg.root / "registry.yaml").write_bytes(b"")  # a failed sync or a truncated copy

    c = workflow.register(cfg, company="شرکت ج", staff="01")
    assert c.lead == "00003"
    case_c = workflow.convert(cfg, c.lead, service="1", by="01").case
    assert case_c == "1002"
    assert workflow.sign_contract(cfg, case_c, by="01").contract == "1405-0002" != contract_b
    assert workflow.add_invoice(cfg, case_c, by="01").invoices[-1]["number"] == "140500002" != invoice_b
    _assert_nothing_reissued(cfg)
    assert allocation.read_registry(allocation.layout_of(cfg)).applicant == 3  # rebuilt, then moved on


def test_stale_registry_restored_from_an_old_backup_reissues_nothing(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    _case_with_numbers(cfg, "Early Co")
    old_backup = (cfg.root / "registry.yaml").read_bytes()
    # work done after the backup: the newest applicant is converted (its code only in a case log),
    # and the second case has two invoices and a contract
    workflow.register(cfg, company="Later Applicant", staff="01")
    _lead, case, _contract, _invoice = _case_with_numbers(cfg, "Later Case")
    workflow.add_invoice(cfg, case, by="01")
    (cfg.root / "registry.yaml").write_bytes(old_backup)  # "restored" over the newer registry

    rec = workflow.register(cfg, company="After Restore", staff="01")
    assert rec.lead == "00004"
    new_case = workflow.convert(cfg, rec.lead, service="1", by="01").case
    assert new_case == "1003"
    assert workflow.sign_contract(cfg, new_case, by="01").contract == "1405-0003"
    assert workflow.add_invoice(cfg, new_case, by="01").invoices[-1]["number"] == "140500004"
    _assert_nothing_reissued(cfg)


def test_serial_skips_a_number_typed_by_hand_into_a_log(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    _lead, case, _contract, _invoice = _case_with_numbers(cfg, "Hand Edit Co")
    log = next((cfg.root / "customers").iterdir()) / LOG_NAME
    # someone adds the paper invoice ۱۴۰۵۰۰۰۰۷ to the log by hand, in Persian digits
    text = log.read_text(encoding="utf-8").replace("invoices:\n", "invoices:\n- number: '۱۴۰۵۰۰۰۰۷'\n  tax_id: null\n", 1)
    log.write_text(text, encoding="utf-8")
    assert workflow.add_invoice(cfg, case, by="01").invoices[-1]["number"] == "140500008"


def test_unreadable_registry_is_kept_aside_and_rebuilt(cfg: Config) -> None:
    workflow.register(cfg, company="One", staff="01")
    two = workflow.register(cfg, company="Two", staff="01")
    workflow.convert(cfg, two.lead, service="2", by="01")
    garbage = b"applicant: [2\ncase: {\x00"
    (cfg.root / "registry.yaml").write_bytes(garbage)

    assert workflow.register(cfg, company="Three", staff="01").lead == "00003"
    [kept] = cfg.root.glob("registry.yaml.unreadable-*")
    assert kept.read_bytes() == garbage  # never overwritten without a copy
    reg = allocation.read_registry(allocation.layout_of(cfg))
    assert reg.present and reg.applicant == 3 and reg.case == {"2": 2001}


def test_registry_with_a_wrong_value_names_key_and_file(cfg: Config, cli) -> None:
    workflow.register(cfg, company="One", staff="01")
    path = cfg.root / "registry.yaml"
    path.write_text("applicant: abc\ncase: {}\n", encoding="utf-8")
    code, _out, err = cli("register", "--company", "Two", "--staff", "01", "--yes")
    assert code == 1 and "Traceback" not in err
    assert "'applicant'" in err and str(path) in err and "whole number" in err
    assert path.read_text(encoding="utf-8") == "applicant: abc\ncase: {}\n"
    assert len(list((cfg.root / "applicants").iterdir())) == 1


# -- what allocation reads at 100,000 records (issue 17): the case-log cache, the live index ------


def _case_log_of(cfg: Config, company: str) -> Path:
    return next(p for p in (cfg.root / "customers").glob("*/" + LOG_NAME) if company in p.read_text(encoding="utf-8"))


def test_case_logs_are_read_again_only_when_they_changed(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    _lead, case, _contract, _invoice = _case_with_numbers(cfg, "Cache Co")
    _case_with_numbers(cfg, "Other Co")
    layout = allocation.layout_of(cfg)
    reads: list[str] = []
    real_read = allocation._read
    monkeypatch.setattr(allocation, "_read", lambda folder: reads.append(str(folder)) or real_read(folder))
    monkeypatch.setattr(allocation._CaseCache, "RACY_NS", 0)  # every log counts as settled

    first = sorted((folder, log.raw) for folder, log in allocation._case_logs(layout))
    assert len(first) == 2
    reads.clear()
    again = sorted((folder, log.raw) for folder, log in allocation._case_logs(layout))
    assert again == first and reads == []  # nothing changed: nothing read

    log = _case_log_of(cfg, "Cache Co")
    text = log.read_text(encoding="utf-8").replace("invoices:\n", "invoices:\n- number: '140500007'\n  tax_id: null\n", 1)
    log.write_text(text, encoding="utf-8")  # in place, by hand
    assert workflow.add_invoice(cfg, case, by="01").invoices[-1]["number"] == "140500008"
    assert [Path(r).name for r in reads] == [log.parent.name]  # only the edited log was read again

    cache = cfg.root / ".archivist" / "case-logs.cache"
    damaged = bytearray(cache.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    cache.write_bytes(bytes(damaged))
    reads.clear()
    assert len(list(allocation._case_logs(layout))) == 2 and len(reads) == 2  # a damaged cache is rebuilt
    _assert_nothing_reissued(cfg)


def test_one_changed_log_does_not_rewrite_the_cache_of_every_log(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each contract or invoice changes one case log; rewriting the cache of all 3,700 (~9 MB) after
    each cost an action a tenth of a second. A few changed logs are read again instead, and what
    they hold still counts: no number is issued twice, then or after a registry reset."""
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    cases = [_case_with_numbers(cfg, f"Many Co {i}")[1] for i in range(8)]
    layout = allocation.layout_of(cfg)
    monkeypatch.setattr(allocation._CaseCache, "RACY_NS", 0)  # every log counts as settled
    list(allocation._case_logs(layout))  # every log cached now
    cache = cfg.root / ".archivist" / "case-logs.cache"
    saved = cache.read_bytes()
    assert workflow.add_invoice(cfg, cases[0], by="01").invoices[-1]["number"] == "140500009"
    assert cache.read_bytes() == saved  # one log changed: the cache was not rewritten
    assert workflow.add_invoice(cfg, cases[1], by="01").invoices[-1]["number"] == "140500010"
    (cfg.root / "registry.yaml").write_bytes(b"")  # lost: the numbers come from the logs alone
    assert workflow.add_invoice(cfg, cases[2], by="01").invoices[-1]["number"] == "140500011"
    _assert_nothing_reissued(cfg)
    for _ in range(3):  # the rebuilt registry's check reads every log: then the file is rewritten
        list(allocation._case_logs(layout))
    assert sorted(raw.raw for _folder, raw in allocation._case_logs(layout)) == sorted(
        p.read_bytes() for p in (cfg.root / "customers").glob("*/" + LOG_NAME)
    )


def test_a_same_size_hand_edit_just_made_is_seen(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log written in the last two seconds is always read: its timestamps may not have ticked."""
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    _case_with_numbers(cfg, "Same Size Co")
    _lead, case, contract, _invoice = _case_with_numbers(cfg, "Second Co")
    assert contract == "1405-0002"
    list(allocation._case_logs(allocation.layout_of(cfg)))  # cached
    log = _case_log_of(cfg, "Same Size Co")
    raw = log.read_bytes()
    assert b"1405-0001" in raw
    log.write_bytes(raw.replace(b"1405-0001", b"1405-0009"))  # same size, in place
    third = workflow.register(cfg, company="Third Co", staff="01")
    new_case = workflow.convert(cfg, third.lead, service="1", by="01").case
    assert workflow.sign_contract(cfg, new_case, by="01").contract == "1405-0010"


def _hold_daemon_lock(config_path: str, ready, done) -> None:  # type: ignore[no-untyped-def]
    from archivist.daemon.instance import acquire_lock

    fd = acquire_lock(load_config(config_path))
    ready.set()
    done.wait(60)
    import os

    os.close(fd)


def test_with_a_live_index_the_highest_code_comes_from_it_not_a_walk(
    cfg: Config, config_file: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archivist.index.hook import close_all

    for company in ("Alpha Co", "Beta Co"):
        workflow.register(cfg, company=company, staff="01")
    _case_with_numbers(cfg, "Gamma Co")  # 00003: only its case log names it
    assert cli("reindex")[0] == 0
    old = (cfg.root / "registry.yaml").read_bytes()
    (cfg.root / "registry.yaml").write_bytes(old.replace(b"applicant: 3", b"applicant: 1"))  # restored, stale

    ready, done = _fork.Event(), _fork.Event()
    holder = _fork.Process(target=_hold_daemon_lock, args=(str(config_file), ready, done))
    holder.start()
    try:
        assert ready.wait(30)

        def no_walk(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise AssertionError("the folders were walked although a daemon keeps the index live")

        monkeypatch.setattr(allocation, "_names", no_walk)
        monkeypatch.setattr(allocation, "_case_logs", no_walk)
        code, out, err = cli("register", "--company", "Delta Co", "--staff", "01", "--yes")
        assert code == 0, err
        assert "00004" in out
    finally:
        done.set()
        holder.join(30)
        close_all()
    _assert_nothing_reissued(cfg)


# -- allocation on an unchanged archive (issue 17, session 4): no listing, no case log read -------


def _listed_areas(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The area folders os.listdir / os.scandir are asked for from now on (a spy on both)."""
    import os

    areas = {str(cfg.root / area): area for area in ("applicants", "customers", "archive/applicants", "archive/customers")}
    seen: list[str] = []
    real_listdir, real_scandir = os.listdir, os.scandir

    def listdir(path=".", *args):  # type: ignore[no-untyped-def]
        if str(path) in areas:
            seen.append(areas[str(path)])
        return real_listdir(path, *args)

    def scandir(path=".", *args):  # type: ignore[no-untyped-def]
        if str(path) in areas and areas[str(path)].endswith("applicants"):
            seen.append(areas[str(path)])
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(os, "scandir", scandir)
    return seen


def test_register_on_an_unchanged_archive_lists_no_area_folder(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a daemon a registration listed every area folder (100,000 names, ~0.15 s) to find
    the highest code on disk. While a folder's stat is the one recorded with its last listing
    (the background catch-up records it after its walk), its names cannot have changed."""
    for company in ("Alpha Co", "Beta Co"):
        workflow.register(cfg, company=company, staff="01")
    monkeypatch.setattr(allocation._AreaTops, "RACY_NS", 0)  # every folder's timestamps count as settled
    allocation.refresh_area_tops(cfg)  # what the catch-up does after its walk
    listed = _listed_areas(cfg, monkeypatch)
    assert workflow.register(cfg, company="Gamma Co", staff="01").lead == "00003"
    assert listed == []
    _assert_nothing_reissued(cfg)


def test_a_folder_made_by_hand_after_the_last_listing_is_seen_and_its_code_never_reissued(
    cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow.register(cfg, company="Alpha Co", staff="01")
    monkeypatch.setattr(allocation._AreaTops, "RACY_NS", 0)
    allocation.refresh_area_tops(cfg)
    # a folder copied in by hand (restored from elsewhere) with a code the registry never issued
    hand = cfg.root / "applicants" / "Hand Co - 01 - 00050"
    hand.mkdir()
    (hand / LOG_NAME).write_bytes((next((cfg.root / "applicants").glob("Alpha*")) / LOG_NAME).read_bytes())
    listed = _listed_areas(cfg, monkeypatch)
    assert workflow.register(cfg, company="Beta Co", staff="01").lead == "00051"
    # the folder whose stat changed was listed again (then its names parsed: one is above the
    # registry), the unchanged ones were not
    assert "applicants" in listed and "customers" not in listed
    # and one renamed by hand inside the archive's other area is seen the same way
    moved = cfg.root / "archive" / "applicants" / "Moved Co - 01 - 00070"
    moved.parent.mkdir(parents=True, exist_ok=True)
    hand.rename(moved)
    assert workflow.register(cfg, company="Gamma Co", staff="01").lead == "00071"


def test_a_listing_whose_folder_may_still_tick_is_not_recorded(cfg: Config) -> None:
    """A folder changed less than 2 s before its listing may change again within the same
    timestamp tick without its stat showing it: such a listing is used once, never recorded."""
    workflow.register(cfg, company="Alpha Co", staff="01")  # applicants/ changed just now
    tops = allocation._AreaTops(allocation.layout_of(cfg))
    assert tops.top("applicants") == 1
    assert "applicants" not in tops.known
    tops.refresh(wait=0)  # the catch-up, had it no time to wait
    assert "applicants" not in allocation._AreaTops(allocation.layout_of(cfg)).known


def test_a_damaged_area_listing_record_is_listed_again(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    workflow.register(cfg, company="Alpha Co", staff="01")
    monkeypatch.setattr(allocation._AreaTops, "RACY_NS", 0)
    allocation.refresh_area_tops(cfg)
    path = cfg.root / ".archivist" / "area-codes.cache"
    path.write_bytes(path.read_bytes().replace(b"1]", b"0]", 1))  # the recorded code lowered, checksum kept
    listed = _listed_areas(cfg, monkeypatch)
    assert workflow.register(cfg, company="Beta Co", staff="01").lead == "00002"
    assert "applicants" in listed


def _read_chars() -> int:
    """Bytes this process has read through read(2) so far (/proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs /proc/self/io")
def _big_log_cases(cfg: Config, n: int) -> list[str]:
    """n cases whose logs are large (~40 KB each), so reading them shows in the bytes read."""
    cases = []
    for i in range(n):
        rec = workflow.register(cfg, company=f"Big Log Co {i}", staff="01")
        workflow.log_event(cfg, rec.lead, kind="note", note="یادداشت بلند " * 2000, by="01")
        cases.append(workflow.convert(cfg, rec.lead, service="1", by="01").case)
    return cases


def test_contract_reads_no_case_log_when_none_changed(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A contract or invoice number needs the highest serial in every case log. The cache kept each
    log's bytes and read them all (~9 MB at 3,700 cases) on every action; the numbers derived from
    them are what is needed, so only its table is read while no log changed."""
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    cases = _big_log_cases(cfg, 12)
    layout = allocation.layout_of(cfg)
    monkeypatch.setattr(allocation._CaseCache, "RACY_NS", 0)
    assert workflow.sign_contract(cfg, cases[0], by="01").contract == "1405-0001"
    cache = cfg.root / ".archivist" / "case-logs.cache"
    cache.unlink()
    list(allocation._case_logs(layout))  # every log cached
    allocation.disk_high_serial(cfg, layout, "contract", "1405", 0)  # and what their text shows
    logs = sum(len(p.read_bytes()) for p in (cfg.root / "customers").glob("*/" + LOG_NAME))
    assert cache.stat().st_size > logs  # the cache does hold every log's bytes
    reads: list[str] = []
    real_read = allocation._read
    monkeypatch.setattr(allocation, "_read", lambda folder: reads.append(str(folder)) or real_read(folder))
    before = _read_chars()
    assert allocation.disk_high_serial(cfg, layout, "contract", "1405", 1) == 1  # the registry says 1
    assert reads == [] and _read_chars() - before < logs // 4
    # a hand edit adding a contract number to another case is seen at once
    log = cfg.root / "customers" / cases[5] / LOG_NAME
    log.write_text(log.read_text(encoding="utf-8").replace("contract: null", "contract: 1405-0040", 1), encoding="utf-8")
    assert workflow.sign_contract(cfg, cases[1], by="01").contract == "1405-0041"
    assert [Path(r).name for r in reads] == [cases[5]]
    _assert_nothing_reissued(cfg)


def test_a_damaged_table_reads_every_case_log_again(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    _case_with_numbers(cfg, "Alpha Co")
    _case_with_numbers(cfg, "Beta Co")
    layout = allocation.layout_of(cfg)
    monkeypatch.setattr(allocation._CaseCache, "RACY_NS", 0)
    list(allocation._case_logs(layout))
    allocation.disk_high_serial(cfg, layout, "invoice", "1405", 0)
    cache = cfg.root / ".archivist" / "case-logs.cache"
    damaged = bytearray(cache.read_bytes())
    damaged[len(allocation._CaseCache.MAGIC) + allocation._CaseCache.HEAD.size + 3] ^= 0xFF  # in the names
    cache.write_bytes(bytes(damaged))
    reads: list[str] = []
    real_read = allocation._read
    monkeypatch.setattr(allocation, "_read", lambda folder: reads.append(str(folder)) or real_read(folder))
    assert allocation.disk_high_serial(cfg, layout, "invoice", "1405", 0) == 2
    assert len(reads) == 2


def test_saving_a_log_starts_no_process(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first move of a command looked libc up with ctypes.util.find_library, which runs
    `ldconfig -p` in a subprocess (~10 ms of every contract, invoice and registration)."""
    import subprocess

    from archivist import store

    rec = workflow.register(cfg, company="Alpha Co", staff="01")
    case = workflow.convert(cfg, rec.lead, service="1", by="01").case
    monkeypatch.setattr(store, "_libc", None)  # as in a new process

    def no_process(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess.Popen, "__init__", no_process)
    assert workflow.sign_contract(cfg, case, by="01").contract
    assert store._libc is not False  # renameat2 is still used where the kernel has it


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs /proc/self/io")
def test_logs_read_again_for_one_kind_of_number_are_saved_with_every_kind(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """A contract reads again the logs that changed and saves what their text shows of contract
    numbers; it must save their invoice and applicant-code memos too, or the next invoice reads
    every log's copy (~9 MB) to derive them for those few logs."""
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-11-23T10:00:00+03:30")
    cases = _big_log_cases(cfg, 8)
    layout = allocation.layout_of(cfg)
    monkeypatch.setattr(allocation._CaseCache, "RACY_NS", 0)
    (cfg.root / ".archivist" / "case-logs.cache").unlink()
    list(allocation._case_logs(layout))
    for kind in ("contract", "invoice"):
        allocation.disk_high_serial(cfg, layout, kind, "1405", 0)
    allocation.disk_high_applicant(cfg, layout, 8)
    for case in cases[:6]:  # changed by hand: read again by the next contract, which saves the cache
        log = cfg.root / "customers" / case / LOG_NAME
        log.write_text(log.read_text(encoding="utf-8") + "# checked\n", encoding="utf-8")
    allocation.disk_high_serial(cfg, layout, "contract", "1405", 0)
    logs = sum(len(p.read_bytes()) for p in (cfg.root / "customers").glob("*/" + LOG_NAME))
    reads: list[str] = []
    real_read = allocation._read
    monkeypatch.setattr(allocation, "_read", lambda folder: reads.append(str(folder)) or real_read(folder))
    before = _read_chars()
    assert allocation.disk_high_serial(cfg, layout, "invoice", "1405", 0) == 0
    assert allocation.disk_high_applicant(cfg, layout, 8) == 8
    assert reads == [] and _read_chars() - before < logs // 4


def test_the_live_highest_code_reads_only_the_leads_not_written_as_five_digits(cfg: Config, cli) -> None:
    """With a daemon, register took the highest code from the index: max(lead), then every lead
    not written as 5 ASCII digits, found by reading the whole lead index (~40 ms at 100,000
    records, under load). A partial index holds just those few."""
    from archivist.index.lookup import ODD_LEADS_SQL, close_readers, reader

    workflow.register(cfg, company="Alpha Co", staff="01")
    assert cli("reindex")[0] == 0
    try:
        with reader(cfg) as db:
            assert db is not None
            plan = " | ".join(str(r[3]) for r in db.execute(f"EXPLAIN QUERY PLAN {ODD_LEADS_SQL}"))
    finally:
        close_readers()
    assert "records_odd_lead" in plan, plan
