"""Several accounts, one archive: two real OS accounts of one group share it (made by the test)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from .accounts import Office, office_accounts, run_as, spawn_as
from .conftest import CONFIG_TEXT


@pytest.fixture
def office() -> Iterator[Office]:
    with office_accounts() as o:
        (o.base / "config.yaml").write_text(CONFIG_TEXT, encoding="utf-8")
        yield o


def _cli(office: Office, who: int, *args: str, staff: str = "01") -> tuple[int, str, str]:
    code, out, err = run_as(
        office.users[who], ["--config", str(office.base / "config.yaml"), *args], env={"ARCHIVIST_STAFF": staff}
    )
    assert "Traceback" not in err, err
    return code, out, err


def test_two_accounts_of_one_group_both_register_log_and_search(office: Office) -> None:
    assert _cli(office, 0, "init")[0] == 0
    code, out, err = _cli(office, 0, "register", "--company", "شرکت سارا", "--staff", "01")
    assert code == 0, err
    sara_lead = out.strip()
    code, out, err = _cli(office, 0, "search", "سارا", "--json")  # builds the index as sara
    assert code == 0 and sara_lead in out, err
    code, out, err = _cli(office, 1, "register", "--company", "شرکت رضا", "--staff", "02", staff="02")
    assert code == 0, err
    reza_lead = out.strip()
    assert {sara_lead, reza_lead} == {"00001", "00002"}
    assert _cli(office, 1, "log", sara_lead, "--kind", "call", "--note", "رضا زنگ زد", staff="02")[0] == 0
    assert _cli(office, 0, "log", reza_lead, "--kind", "note", "--note", "سارا دید")[0] == 0
    for who in (0, 1):
        code, out, err = _cli(office, who, "search", "شرکت", "--json")
        assert code == 0, err
        assert {r["lead"] for r in json.loads(out)} == {"00001", "00002"}
    assert _cli(office, 1, "reindex", staff="02")[0] == 0
    code, out, err = _cli(office, 0, "show", reza_lead, "--json")
    assert code == 0 and "سارا دید" in out, err
    # everything archivist made belongs to the group and is group-writable
    root = office.base / "archive"
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            st = (Path(dirpath) / name).lstat()
            assert st.st_gid == office.gid, f"{dirpath}/{name} is not the group's"
            assert st.st_mode & stat.S_IRGRP and st.st_mode & stat.S_IWGRP, f"{dirpath}/{name} is not group-writable"


def test_sixteen_registrations_at_once_from_two_accounts_get_sixteen_codes(office: Office) -> None:
    assert _cli(office, 0, "init")[0] == 0
    config = str(office.base / "config.yaml")
    running = [
        spawn_as(
            office.users[i % 2],
            ["--config", config, "register", "--company", f"شرکت همزمان {i}", "--staff", "01", "--yes"],
            env={"ARCHIVIST_STAFF": "01"},
        )
        for i in range(16)
    ]
    results = [r.collect() for r in running]
    for code, _out, err in results:
        assert code == 0 and "Traceback" not in err, err
    leads = sorted(out.strip() for _code, out, _err in results)
    assert leads == [f"{n:05d}" for n in range(1, 17)]
    assert len(list((office.base / "archive" / "applicants").iterdir())) == 16


def test_read_only_state_for_one_account_search_still_answers_and_nothing_is_deleted(office: Office) -> None:
    assert _cli(office, 0, "init")[0] == 0
    assert _cli(office, 0, "register", "--company", "شرکت نمونه پارس", "--staff", "01")[0] == 0
    assert _cli(office, 0, "search", "پارس")[0] == 0
    state = office.base / "archive" / ".archivist"
    before = sorted(p.name for p in state.iterdir())
    os.chmod(state, 0o2750)  # the group may read the state, not change it
    try:
        code, out, err = _cli(office, 1, "search", "پارس", "--json")
        assert code == 0, err
        assert [r["lead"] for r in json.loads(out)] == ["00001"]
        assert sorted(p.name for p in state.iterdir()) == before
        # an owner-only index (left by an old install): one plain line, exit 1, still nothing deleted
        os.chmod(state / "index.sqlite", 0o600)
        code, out, err = _cli(office, 1, "search", "پارس")
        assert code == 1 and len(err.strip().splitlines()) == 1 and "index" in err, err
        assert sorted(p.name for p in state.iterdir()) == before
    finally:
        os.chmod(state, 0o2770)
