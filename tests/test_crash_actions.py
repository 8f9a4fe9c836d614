"""Crash points at every step of convert, archive and reopen: one daemon pass or one `doctor --fix`
finishes the action a killed run left (issue 13, "crash leftovers finished, not deleted").

The kill is the one test_adversarial uses for register and filing: `Killed` (a BaseException no
`except` clause catches, no cleanup runs) raised at the Nth call of a step, then the intents are
given the pid of a process that has exited, then a real `archivist daemon --once` or
`archivist doctor --fix` process runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from archivist import allocation, intents, journal, notify, store, workflow
from archivist.config import Config
from archivist.record import LOG_NAME, load_record
from tests.test_adversarial import Killed, _as_if_dead, _kill_at, _run

# (module, function, calls let through before the kill): every step of a conversion in order
CONVERT_STEPS: list[tuple[Any, str, int]] = [
    (intents, "begin", 0),  # the intent itself
    (allocation, "allocate_case_code", 0),
    (intents, "update", 0),  # the case code allocated (registry written), not yet in the intent
    (notify, "announce_conversion", 0),
    (store, "write_record", 0),
    (journal, "record_events", 0),
    (store, "move", 0),
    (store, "fsync_dir", 0),
    (intents, "done", 0),
]
# archive and reopen: a log write and a move
MOVE_STEPS: list[tuple[Any, str, int]] = [
    (intents, "begin", 0),
    (store, "write_record", 0),
    (journal, "record_events", 0),
    (store, "move", 0),
    (store, "fsync_dir", 0),
    (intents, "done", 0),
]


def _ids(steps: list[tuple[Any, str, int]]) -> list[str]:
    return [f"{m.__name__.rsplit('.', 1)[-1]}.{n}" for m, n, _a in steps]


def _folders_of(cfg: Config, lead: str) -> list[Path]:
    """Every record folder (any area, any name) whose log has this applicant code."""
    out = []
    for _area, folder in store.iter_record_folders(store.layout_of(cfg)):
        if (folder / LOG_NAME).exists() and load_record(folder).lead == lead:
            out.append(folder)
    return out


def _outbox_for(cfg: Config, case: str) -> list[dict[str, Any]]:
    found = []
    for folder in (notify.outbox_dir(cfg), notify.sent_dir(cfg)):
        for p in folder.glob(f"*-{case}.json"):
            found.append(json.loads(p.read_text(encoding="utf-8")))
    return found


def _finish(config_file: Path, how: str) -> None:
    r = _run(config_file, *(["daemon", "--once"] if how == "daemon" else ["doctor", "--fix"]))
    assert "Traceback" not in r.stderr, r.stderr


@pytest.fixture
def applicant(cfg: Config, config_file: Path) -> str:
    assert _run(config_file, "init").returncode == 0
    return workflow.register(cfg, company="شرکت نیمه‌راه", staff="01", services=["training"]).lead


@pytest.mark.parametrize("how", ["daemon", "doctor"])
@pytest.mark.parametrize(("module", "step", "after"), CONVERT_STEPS, ids=_ids(CONVERT_STEPS))
def test_convert_killed_at_any_step_is_finished_by_one_pass(
    module: Any, step: str, after: int, how: str, applicant: str, cfg: Config, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        _kill_at(m, module, step, after)
        with pytest.raises(Killed):
            workflow.convert(cfg, applicant, service="3", by="01", note="signed today")
    _as_if_dead(cfg)
    _finish(config_file, how)

    folders = _folders_of(cfg, applicant)
    assert len(folders) == 1, folders
    rec = load_record(folders[0])
    if (module, step) == (intents, "begin"):  # killed before anything was done: nothing to finish
        assert rec.case is None and rec.status == "new" and folders[0] == store.home_of(cfg, rec)
        assert allocation.read_registry(store.layout_of(cfg)).case == {} and _outbox_for(cfg, "3001") == []
        return
    assert rec.case and rec.status == "open"
    assert folders[0] == store.home_of(cfg, rec)  # under its case name, in customers/, at once
    assert [e["kind"] for e in rec.events].count("converted") == 1
    assert [e.get("note") for e in rec.events if e["kind"] == "converted"] == ["signed today"]
    reg = allocation.read_registry(store.layout_of(cfg))
    assert reg.case.get("3") == int(rec.case)  # the registry holds the code given, no second one
    assert [m["case"] for m in _outbox_for(cfg, rec.case)] == [rec.case]  # announced once
    assert intents.pending(cfg) == []
    # the next conversion gets the next code: none was issued twice
    other = workflow.register(cfg, company="شرکت بعدی", staff="01")
    assert workflow.convert(cfg, other.lead, service="3", by="01").case == str(int(rec.case) + 1)


def _archived(cfg: Config, lead: str) -> None:
    workflow.convert(cfg, lead, service="3", by="01")
    workflow.record_service(cfg, lead, note="course held", by="01")
    workflow.clear(cfg, lead, by="01")
    workflow.crm(cfg, lead, by="01")


@pytest.mark.parametrize("how", ["daemon", "doctor"])
@pytest.mark.parametrize("action", ["archive", "reopen"])
@pytest.mark.parametrize(("module", "step", "after"), MOVE_STEPS, ids=_ids(MOVE_STEPS))
def test_archive_and_reopen_killed_at_any_step_are_finished_by_one_pass(
    module: Any,
    step: str,
    after: int,
    action: str,
    how: str,
    applicant: str,
    cfg: Config,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _archived(cfg, applicant)
    if action == "reopen":
        workflow.archive(cfg, applicant, by="01")
    with monkeypatch.context() as m:
        _kill_at(m, module, step, after)
        with pytest.raises(Killed):
            getattr(workflow, action)(cfg, applicant, by="01", note="by request")
    _as_if_dead(cfg)
    _finish(config_file, how)

    folders = _folders_of(cfg, applicant)
    assert len(folders) == 1, folders
    rec = load_record(folders[0])
    if (module, step) == (intents, "begin"):  # killed before anything was done: nothing to finish
        assert rec.status == ("crm-done" if action == "archive" else "archived") and folders[0] == store.home_of(cfg, rec)
        return
    assert rec.status == ("archived" if action == "archive" else "in-service")
    assert folders[0] == store.home_of(cfg, rec)
    kind = {"archive": "archived", "reopen": "reopened"}[action]
    assert [e["kind"] for e in rec.events].count(kind) == 1
    assert [e for e in rec.events if e["kind"] == "renamed"] == []  # never through a wrong name
    assert intents.pending(cfg) == []
    assert yaml.safe_load((folders[0] / LOG_NAME).read_text(encoding="utf-8"))["case"] == rec.case
