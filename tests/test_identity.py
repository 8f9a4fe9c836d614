"""Who acted is the login: staff numbers mapped to OS accounts; only an admin acts for others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from archivist.config import load_config
from archivist.identity import Acting, IdentityError, resolve
from archivist.record import LOG_NAME

from .accounts import Office, office_accounts, run_as
from .conftest import make_archive

STAFF = """\
root: ./archive
staff:
  "01": "مریم احمدی"
  "03": "سارا"
  "05": "Reza Karimi"
services: {"1": ISO certification}
"""


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(STAFF + extra, encoding="utf-8")
    return path


def test_without_accounts_a_single_user_install_says_who_acts_with_by(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, ""))
    assert resolve(cfg, "05", account="anyone") == Acting("05")
    assert resolve(cfg, None, account="anyone") == Acting(None)


def test_mapped_account_acts_as_its_staff_number_and_only_an_admin_names_someone_else(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, 'accounts: {"03": sara, "01": maryam}\nadmins: ["01"]\n'))
    assert resolve(cfg, None, account="sara") == Acting("03")
    assert resolve(cfg, "۰۳", account="sara") == Acting("03")
    with pytest.raises(IdentityError, match="only an admin"):
        resolve(cfg, "05", account="sara")
    assert resolve(cfg, "05", account="maryam") == Acting("01", "05")
    with pytest.raises(IdentityError, match="not mapped"):
        resolve(cfg, "03", account="mallory")


def test_accounts_and_admins_are_validated_at_load(tmp_path: Path) -> None:
    from archivist.errors import ConfigError

    with pytest.raises(ConfigError, match="accounts.09"):
        load_config(_config(tmp_path, 'accounts: {"09": sara}\n'))
    with pytest.raises(ConfigError, match="admins"):
        load_config(_config(tmp_path, 'admins: ["42"]\n'))


# -- with real accounts ---------------------------------------------------------------------------


@pytest.fixture
def office() -> Iterator[Office]:
    with office_accounts() as o:
        sara, reza = o.users
        # sara is staff 03; reza is staff 01 and an admin
        _config(o.base, f'accounts: {{"03": {sara.name}, "01": {reza.name}}}\nadmins: ["01"]\n')
        yield o


def _cli(office: Office, who: int, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    code, out, err = run_as(office.users[who], ["--config", str(office.base / "config.yaml"), *args], env=env)
    assert "Traceback" not in err, err
    return code, out, err


def _events(office: Office) -> list[dict]:
    folder = next((office.base / "archive" / "applicants").iterdir())
    return yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))["events"]


def test_the_login_is_recorded_and_by_for_someone_else_is_refused_unless_admin(office: Office) -> None:
    assert _cli(office, 1, "init")[0] == 0
    code, out, err = _cli(office, 0, "register", "--company", "شرکت نمونه پارس", "--staff", "03")
    assert code == 0, err
    lead = out.strip()
    assert _events(office)[-1]["by"] == "03"  # sara's login, no --by needed

    # sara (03, not an admin) names 05: refused, one line, exit 1, nothing written
    before = _events(office)
    for args in (
        ["log", lead, "--kind", "call", "--note", "x", "--by", "05"],
        ["--by", "05", "log", lead, "--kind", "call", "--note", "x"],
    ):
        code, out, err = _cli(office, 0, *args)
        assert code == 1 and len(err.strip().splitlines()) == 1 and "admin" in err, err
    code, out, err = _cli(office, 0, "log", lead, "--kind", "call", "--note", "x", env={"ARCHIVIST_STAFF": "05"})
    assert code == 1 and "admin" in err, err
    assert _events(office) == before

    # naming herself is fine, before or after the command name
    assert _cli(office, 0, "log", lead, "--kind", "call", "--note", "تماس سارا", "--by", "03")[0] == 0
    assert _events(office)[-1]["by"] == "03" and "for" not in _events(office)[-1]

    # reza is an admin (01): acting for 05 is recorded with both
    code, out, err = _cli(office, 1, "log", lead, "--kind", "note", "--note", "ثبت از طرف رضا", "--by", "05")
    assert code == 0, err
    last = _events(office)[-1]
    assert (last["by"], last["for"], last["note"]) == ("01", "05", "ثبت از طرف رضا")


# -- the TUI ----------------------------------------------------------------------------------------


def test_tui_act_as_someone_else_is_refused_for_a_mapped_non_admin_and_recorded_with_both_for_an_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from archivist import identity, workflow
    from archivist.tui.app import ArchivistApp

    me = identity.os_account()
    monkeypatch.delenv("ARCHIVIST_STAFF", raising=False)
    cfg = make_archive(_config(tmp_path, f'accounts: {{"03": {me}}}\n'))
    rec = workflow.register(cfg, company="شرکت نمونه پارس", staff="03", by="03")

    async def run(cfg) -> str | None:  # type: ignore[no-untyped-def]
        app = ArchivistApp(cfg)
        async with app.run_test(size=(100, 30)) as pilot:
            assert app.by == "03"  # the login, no question asked
            app.act_as("05")
            await pilot.pause()
            return app.by

    assert asyncio.run(run(cfg)) == "03"  # not an admin: still 03

    admin_cfg = load_config(_config(tmp_path, f'accounts: {{"03": {me}}}\nadmins: ["03"]\n'))
    try:
        assert asyncio.run(run(admin_cfg)) == "03"  # the admin stays the one recorded as `by` …
        workflow.log_event(admin_cfg, rec.lead, kind="note", note="از طرف ۰۵", by="03")
    finally:
        identity.act_for_in_process(None)
    last = _events_of(admin_cfg)[-1]
    assert (last["by"], last["for"]) == ("03", "05")  # … and the staff member acted for is beside it


def _events_of(cfg) -> list[dict]:  # type: ignore[no-untyped-def]
    folder = next((cfg.root / "applicants").iterdir())
    return yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))["events"]
