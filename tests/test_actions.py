"""The one list of actions and the one function per flow: every front-end reaches the same thing."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from textual.widgets import Input, Select, Static

from archivist import actions, workflow
from archivist.cli import build_parser
from archivist.config import Config
from archivist.record import LOG_NAME
from archivist.store import locate
from archivist.tui.app import ArchivistApp
from archivist.tui.screens.record import RecordScreen
from archivist.tui.screens.register import RegisterScreen

NOW = "2026-11-23T09:00:00+03:30"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_shared_action_is_a_cli_command_with_its_fields() -> None:
    commands = _subcommands(build_parser())
    for action in actions.ACTIONS.values():
        assert action.name in commands, f"`archivist {action.name}` is missing"
        options = {o for a in commands[action.name]._actions for o in a.option_strings}
        for f in action.fields:
            assert f.option in options, f"`archivist {action.name}` does not ask for {f.name} ({f.option})"


def test_every_shared_action_has_a_tui_key_on_the_record_screen() -> None:
    bound = {(b.key, b.action) for b in RecordScreen.BINDINGS if not isinstance(b, tuple)}
    keys = [a.key for a in actions.ACTIONS.values()]
    assert len(keys) == len(set(keys)), "two actions share a key"
    for action in actions.ACTIONS.values():
        assert (action.key, f"act('{action.name}')") in bound, f"no TUI key for {action.name}"


def test_qc_is_reachable_from_the_cli_like_from_the_tui(
    cfg: Config, cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    rec = workflow.register(cfg, company="آزمایشگاه کیفیت", staff="01", by="01")
    case = workflow.convert(cfg, rec.lead, service="1", by="01").case
    workflow.record_service(cfg, case, note="ممیزی اول", by="01")
    code, out, err = cli("qc", case, "--note", "بازبینی مدارک")
    assert code == 0, err
    log = yaml.safe_load((locate(cfg, case) / LOG_NAME).read_text(encoding="utf-8"))
    assert (log["events"][-1]["kind"], log["events"][-1]["note"]) == ("qc", "بازبینی مدارک")


def test_the_same_values_do_the_same_thing_whoever_calls(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    """`perform` parses what was typed (Persian digits, relative dates) the same for every front-end."""
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    rec = workflow.register(cfg, company="نمونه", staff="01", by="01")
    done = actions.perform(cfg, rec.lead, "followup", {"when": "+۲d", "note": "پیگیری"}, "01")
    assert done.next_followup is not None and done.next_followup.isoformat() == "2026-11-25T09:00:00+03:30"
    with pytest.raises(ValueError):
        actions.perform(cfg, rec.lead, "no-such-action", {}, "01")


@pytest.fixture
def returning(cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    """The issue's case: "شرکت نمونه" registered earlier; a new user now types "شرکت نمونا"."""
    monkeypatch.setenv("ARCHIVIST_NOW", NOW)
    workflow.register(cfg, company="شرکت نمونه", staff="01", by="01", contact={"mobile": "۰۹۱۲ ۱۲۳ ۴۵۶۷"})
    workflow.register(cfg, company="Kish Trading", staff="02", by="02")
    return cfg


def _related(root: Path, lead: str) -> list[str] | None:
    folder = next(p for p in (root / "applicants").iterdir() if p.name.endswith(lead))
    return yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8")).get("related")


def test_tui_registration_of_a_returning_company_writes_the_same_related_as_the_cli(
    returning: Config, cli: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(returning.root, twin)  # the same archive, registered into by the CLI

    code, out, err = cli("--root", str(twin), "register", "--company", "شرکت نمونا", "--staff", "01", "--yes")
    assert code == 0, err
    by_cli = _related(twin, out.strip())

    async def through_the_tui() -> str:
        app = ArchivistApp(returning)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.press("f4")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, RegisterScreen)
            form.query_one("#company", Input).value = "شرکت نمونا"
            form.query_one("#staff", Select).value = "01"
            for press in ("shows the earlier record", "confirms"):
                await pilot.click("#save")
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                if press == "shows the earlier record":
                    assert app.screen is form
                    assert "looks like an earlier record" in str(form.query_one("#form-error", Static).render())
                    assert len(list((returning.root / "applicants").iterdir())) == 2
            assert isinstance(app.screen, RecordScreen) and app.screen.record is not None
            return app.screen.record.lead

    lead = asyncio.run(through_the_tui())
    assert lead == out.strip() == "00003"
    assert by_cli == ["00001"]
    assert _related(returning.root, lead) == by_cli


def test_unconfirmed_returning_company_is_not_registered(returning: Config) -> None:
    reg = actions.register_applicant(returning, company="شرکت نمونا", staff="01", by="01")
    assert reg.record is None and [m["code"] for m in reg.matches] == ["00001"]
    assert len(list((returning.root / "applicants").iterdir())) == 2
