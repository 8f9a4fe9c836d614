"""The standing adversarial suite (issue 13): hostile files where logs belong, hostile log texts,
and the fast log reader checked against the strict one on generated documents.

Every command here runs as a real child process with a timeout, so a reader that blocks on a FIFO
or reads /dev/zero fails the test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist import fastlog, workflow
from archivist.config import Config
from archivist.errors import InvalidLogError
from archivist.record import LOG_NAME, dump_yaml, load_record, parse_record, read_log, safe_load_log
from bench.generate import generate
from tests.yaml_compare import same_value

NOW = "2026-11-23T10:00:00+03:30"
ALIAS_BOMB = (
    "\n".join(
        ["form: F-31-08-01", "a: &a [x, x, x, x, x, x, x, x, x]"]
        + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    )
    + "\n"
)


def _good_log(lead: str = "00001") -> dict[str, Any]:
    return {
        "form": "F-31-08-01",
        "schema": 1,
        "lead": lead,
        "case": None,
        "staff": "01",
        "company": "شرکت آزمون",
        "status": "new",
        "next_followup": None,
        "events": [{"at": datetime.fromisoformat(NOW), "by": "01", "kind": "registered", "note": ""}],
    }


# -- the reader refuses what is not a log file, before reading it --------------------------------------


def _plant(kind: str, path: Path) -> str:
    """Put a hostile thing where a log belongs; returns the words doctor must give as the reason."""
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
        return "named pipe"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
        return "symbolic link"
    if kind == "sparse-4gb":
        with open(path, "wb") as f:
            f.truncate(4 << 30)
        return "more than"
    if kind == "folder":
        path.mkdir()
        return "a folder"
    if kind == "alias-bomb":
        path.write_text(ALIAS_BOMB, encoding="utf-8")
        return "aliases"
    if kind == "impossible-date":
        path.write_bytes(dump_yaml(_good_log()).replace(b"2026-11-23T10", b"2026-02-30T10"))
        return "day is out of range"
    if kind == "duplicate-key":
        text = dump_yaml(_good_log()).decode()
        path.write_text(text + "company: شرکت دوم\n", encoding="utf-8")
        return "appears twice"
    if kind == "jalali-date":
        path.write_bytes(dump_yaml(_good_log()).replace(b"next_followup: null", b"next_followup: 1405-06-31"))
        return "1405-06-31"
    raise AssertionError(kind)


HOSTILE = ("fifo", "dev-zero", "sparse-4gb", "folder", "alias-bomb", "impossible-date", "duplicate-key", "jalali-date")


@pytest.mark.parametrize("kind", HOSTILE)
def test_log_reader_refuses_hostile_file_with_its_reason(kind: str, tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    folder.mkdir()
    reason = _plant(kind, folder / LOG_NAME)
    with pytest.raises(InvalidLogError) as e:
        load_record(folder)
    assert reason in str(e.value)


def test_log_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / LOG_NAME
    path.write_bytes(dump_yaml(_good_log()) + b"# " + b"x" * 2000 + b"\n")
    with pytest.raises(InvalidLogError, match="more than the 1,000"):
        read_log(path, limit=1000)
    assert read_log(path, limit=10_000)[1].startswith(b"form:")


def test_alias_bomb_is_refused_fast_and_without_expanding(tmp_path: Path) -> None:
    # 9^9 = 387 million items if built; refused by looking at the node graph only
    with pytest.raises(InvalidLogError, match="aliases"):
        parse_record(ALIAS_BOMB.encode(), tmp_path / LOG_NAME)


def test_duplicate_events_key_after_a_botched_merge_is_invalid(tmp_path: Path) -> None:
    text = dump_yaml(_good_log()).decode()
    merged = text + "events:\n- at: 2026-11-24T10:00:00+03:30\n  by: '01'\n  kind: call\n  note: ''\n"
    with pytest.raises(InvalidLogError, match="'events' appears twice") as e:
        parse_record(merged.encode(), tmp_path / LOG_NAME)
    assert e.value.line == merged.count("\n") - 4  # the second `events:`


@pytest.fixture
def hostile_archive(cfg: Config, config_file: Path) -> tuple[Config, dict[str, Path]]:
    generate(cfg, 30, seed=3, now=datetime.fromisoformat(NOW))
    folders = sorted((cfg.root / "applicants").iterdir())
    planted = {}
    for kind, folder in zip(HOSTILE, folders[-len(HOSTILE) :], strict=True):
        planted[kind] = folder
        _plant(kind, folder / LOG_NAME)
    return cfg, planted


def _run(config_file: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARCHIVIST_STAFF": "01", "ARCHIVIST_NOW": NOW}
    return subprocess.run(
        [sys.executable, "-m", "archivist", "--config", str(config_file), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=config_file.parent,
    )


def test_one_bad_log_never_stops_the_archive(hostile_archive: tuple[Config, dict[str, Path]], config_file: Path) -> None:
    cfg, planted = hostile_archive
    good = load_record(sorted((cfg.root / "applicants").iterdir())[0])
    for args in (
        ("reindex",),
        ("search", good.company.split()[-1]),
        ("list",),
        ("due",),
        ("show", good.code),
        ("search", "00001", "--json"),
        ("log", good.code, "--kind", "note", "--note", "still works"),
        ("register", "--company", "شرکت تازه", "--staff", "02", "--yes"),
    ):
        r = _run(config_file, *args)
        assert r.returncode == 0, (args, r.stderr)
        assert "Traceback" not in r.stderr
    r = _run(config_file, "doctor", "--json")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    found = {Path(v["path"]).parent: v for v in json.loads(r.stdout)["violations"] if v["rule"] == "invalid-log"}
    for kind, folder in planted.items():
        assert folder in found, kind
        assert _plant.__doc__ and found[folder]["message"], kind
    reasons = {kind: found[folder]["message"] for kind, folder in planted.items()}
    assert "named pipe" in reasons["fifo"] and "symbolic link" in reasons["dev-zero"]
    assert "more than" in reasons["sparse-4gb"] and "aliases" in reasons["alias-bomb"]
    assert "appears twice" in reasons["duplicate-key"] and "folder" in reasons["folder"]
    # every bad log is listed by the index as invalid too (reindex and search agreed on it)
    r = _run(config_file, "show", load_record.__name__ and planted["impossible-date"].name.rsplit(" - ", 1)[-1])
    assert r.returncode == 1 and "out of range" in r.stderr and r.stderr.count("\n") == 1


# -- the fast reader agrees with the strict reader on everything it accepts ----------------------------

_PIECES = st.sampled_from(
    list("ab0917-: #'\"&*!%@`|>[]{},?~\t.")
    + [
        "\u200c",
        "پ",
        "ي",
        "\x07",
        "\x85",
        "\u2028",
        "null",
        "yes",
        "1.5",
        "0x1F",
        "2026-02-30",
        "2026-11-23T10:00:00+03:30",
        "1405-06-31",
        "-5",
        "1_000",
        ".inf",
    ]
)
_BENIGN = st.sampled_from(
    [
        "ab",
        "0912",
        "شرکت",
        "\u200c",
        " ",
        "-",
        "07",
        ":",
        "'",
        "#",
        "null",
        "yes",
        "1.5",
        "2026-11-23T10:00:00+03:30",
        "00417",
        "x",
    ]
)
# mostly text the fast reader takes (so the comparison runs), sometimes hostile pieces
_TEXT = st.one_of(
    st.lists(_BENIGN, max_size=4).map("".join),
    st.lists(_BENIGN, max_size=4).map("".join),
    st.lists(_PIECES, max_size=6).map("".join),
)
_KEYS = st.sampled_from(
    ["form", "lead", "case", "note", "events", "company", "status", "a", "b", "by", "kind", "at", "yes", "1", "x-y", "_k"]
)


def _scalar_line(value: str, style: str) -> str:
    if style == "plain":
        return value
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "anchor":
        return "&a " + value
    if style == "alias":
        return "*a"
    return '"' + value + '"'


_STYLE = st.sampled_from(["plain", "plain", "plain", "single", "single", "double", "anchor", "alias"])


@st.composite
def _documents(draw: st.DrawFn) -> str:
    lines = []
    # keys mostly distinct (a key twice is one hostile case among many, not most documents)
    keys = draw(st.lists(_KEYS, min_size=1, max_size=5, unique=True))
    if draw(st.integers(0, 9)) == 0:
        keys.append(keys[0])
    for key in keys:
        shape = draw(st.sampled_from(["scalar", "map", "list", "items"]))
        if shape == "scalar":
            lines.append(f"{key}: {_scalar_line(draw(_TEXT), draw(_STYLE))}")
        elif shape == "map":
            lines.append(f"{key}:")
            for _ in range(draw(st.integers(1, 3))):
                lines.append(f"  {draw(_KEYS)}: {_scalar_line(draw(_TEXT), draw(_STYLE))}")
        elif shape == "list":
            lines.append(f"{key}:")
            for _ in range(draw(st.integers(1, 3))):
                lines.append(f"- {_scalar_line(draw(_TEXT), draw(_STYLE))}")
        else:
            lines.append(f"{key}:")
            for _ in range(draw(st.integers(1, 2))):
                k = draw(_KEYS)
                lines.append(f"- {k}: {_scalar_line(draw(_TEXT), draw(_STYLE))}")
                for _ in range(draw(st.integers(0, 2))):
                    lines.append(f"  {draw(_KEYS)}: {_scalar_line(draw(_TEXT), draw(_STYLE))}")
    return "\n".join(lines) + "\n"


def _check_agreement(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    fast = fastlog.load_bytes(raw)
    if fast is None:
        return
    # whatever the fast reader accepts, yaml.safe_load and the strict reader accept, identically
    assert same_value(fast, yaml.safe_load(text)), text
    assert same_value(fast, safe_load_log(text)), text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_fast_reader_agrees_with_safe_load_on_hostile_documents(text: str) -> None:
    _check_agreement(text)


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40), st.text(max_size=20))
def test_fast_reader_agrees_on_logs_with_hostile_notes_and_names(note: str, company: str) -> None:
    data = _good_log()
    data["company"] = company or "x"
    data["events"][0]["note"] = note
    text = dump_yaml(data).decode()
    _check_agreement(text)
    assert same_value(yaml.safe_load(text), safe_load_log(text))


@pytest.mark.parametrize(
    "text",
    [
        "form: F-31-08-01\nform: F-31-08-01\n",
        "a:\n  b: 1\n  b: 2\n",
        "a:\n- k: 1\n  k: 2\n",
        "a: &x [1, 2]\nb: *x\n",
        "a: &x\n  k: 1\nb: *x\n",
    ],
)
def test_fast_reader_leaves_keys_twice_and_aliases_to_the_strict_reader(text: str) -> None:
    assert fastlog.load_bytes(text.encode()) is None
    with pytest.raises(yaml.YAMLError):
        safe_load_log(text)


def test_alias_of_a_single_value_as_yaml_safe_dump_writes_it_is_read() -> None:
    text = "a: &x 2026-11-23T10:00:00+03:30\nb: *x\n"
    assert fastlog.load_bytes(text.encode()) is None  # the slow path reads it
    assert safe_load_log(text) == yaml.safe_load(text)


def test_redone_write_keeps_a_hand_edit_made_between_read_and_write(cfg: Config) -> None:
    rec = workflow.register(cfg, company="شرکت مسابقه", staff="01")
    log = rec.folder / LOG_NAME

    real_write = workflow.store.write_record
    edited = []

    def edit_then_write(record: Any) -> None:
        if not edited:  # an editor saves a hand edit while `log` holds the record in memory
            data = yaml.safe_load(log.read_text(encoding="utf-8"))
            data["contact"]["person"] = "خانم رضایی"
            tmp = log.with_name("editor.tmp")
            tmp.write_bytes(dump_yaml(data))
            os.replace(tmp, log)
            edited.append(True)
        real_write(record)

    workflow.store.write_record = edit_then_write  # type: ignore[assignment]
    try:
        workflow.log_event(cfg, rec.lead, kind="request", note="نمونه کار", by="01")
    finally:
        workflow.store.write_record = real_write  # type: ignore[assignment]
    after = load_record(rec.folder)
    assert after.contact["person"] == "خانم رضایی"  # the hand edit survived
    assert [e["kind"] for e in after.events] == ["registered", "request"]
    assert after.requests == ["نمونه کار"]


# -- bad configs: refused at load, naming the key, never later in a thread --------------------------


@pytest.mark.parametrize(
    ("snippet", "key"),
    [
        ("daemon:\n  review_time: 7am\n", "daemon.review_time"),
        ("backup:\n  time: 2am\n", "backup.time"),
        ("backup:\n  time: '25:00'\n", "backup.time"),
        ("followup:\n  first_call_hours: -5\n", "followup.first_call_hours"),
        ("daemon:\n  debounce_ms: -1\n", "daemon.debounce_ms"),
        ("daemon:\n  settle_seconds: -2\n", "daemon.settle_seconds"),
        ("root: $HOME/archive\n", "root"),
        ("root: /\n", "root"),
        ("backup:\n  target: ${BACKUP}/drive\n", "backup.target"),
        ("naming:\n  case_folder: '../../{case}'\n", "naming.case_folder"),
        ("naming:\n  case_folder: '/srv/{case}'\n", "naming.case_folder"),
        ("naming:\n  applicant_folder: '{company}/{staff} - {lead}'\n", "naming.applicant_folder"),
        ("limits:\n  max_log_bytes: 10\n", "limits.max_log_bytes"),
    ],
)
def test_bad_setting_is_refused_at_load_naming_the_key(snippet: str, key: str, tmp_path: Path) -> None:
    from archivist.config import load_config
    from archivist.errors import ConfigError
    from tests.conftest import CONFIG_TEXT

    text = CONFIG_TEXT.replace("root: ./archive\n", "") if snippet.startswith("root") else CONFIG_TEXT
    path = tmp_path / "config.yaml"
    path.write_text(text + snippet, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(path)


def test_good_times_are_accepted_and_normalized(tmp_path: Path) -> None:
    from archivist.config import load_config
    from tests.conftest import CONFIG_TEXT

    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_TEXT + "daemon:\n  review_time: '7:30'\nbackup:\n  time: '۰۲:۰۰'\n", encoding="utf-8")
    cfg = load_config(path)
    assert (cfg.daemon.review_time, cfg.backup.time) == ("07:30", "02:00")


def test_non_utf8_config_is_one_clear_line(config_file: Path) -> None:
    config_file.write_bytes(config_file.read_bytes() + "company: شرکت\n".encode("cp1256"))
    r = _run(config_file, "list")
    assert r.returncode == 1 and "not UTF-8" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1


# -- one top-level boundary: one line, exit 1, never a traceback --------------------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB tmpfs (needs root, as CI runs; elsewhere the failure says why)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.fail("the disk-full test needs root to mount a small tmpfs", pytrace=False)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs here: {r.stderr.strip()}", pytrace=False)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    with contextlib.suppress(OSError), open(disk / "filler2", "wb") as f:  # the last few blocks too
        while True:
            f.write(b"\0" * 512)
            f.flush()
    return filler


def test_disk_full_is_one_line_and_the_index_survives(full_disk: Path) -> None:
    config = full_disk.parent / "config.yaml"
    from tests.conftest import CONFIG_TEXT

    config.write_text(CONFIG_TEXT.replace("root: ./archive", f"root: {full_disk / 'archive'}"), encoding="utf-8")
    assert _run(config, "init").returncode == 0
    for name in ("شرکت اول", "شرکت دوم"):
        assert _run(config, "register", "--company", name, "--staff", "01", "--yes").returncode == 0
    assert _run(config, "reindex").returncode == 0
    index = full_disk / "archive" / ".archivist" / "index.sqlite"
    before = index.read_bytes()
    filler = _fill(full_disk)
    for args in (
        ("register", "--company", "شرکت سوم", "--staff", "01", "--yes"),
        ("log", "00001", "--kind", "note", "--note", "x" * 5000),
        ("search", "شرکت"),
        ("reindex",),
    ):
        r = _run(config, *args)
        assert "Traceback" not in r.stderr, (args, r.stderr)
        assert r.returncode in (0, 1) and r.stderr.count("\n") <= 1, (args, r.stderr)
        if r.returncode == 1:
            assert "disk is full" in r.stderr or "full" in r.stderr, (args, r.stderr)
        assert index.exists(), args  # never deleted for a full disk
    filler.unlink()
    (full_disk / "filler2").unlink(missing_ok=True)
    r = _run(config, "search", "شرکت", "--json")
    assert r.returncode == 0 and "rebuilding" not in r.stderr, r.stderr
    assert {h["company"] for h in json.loads(r.stdout)} >= {"شرکت اول", "شرکت دوم"}
    assert index.read_bytes()[:100] == before[:100]
    assert "00003" not in {h.get("lead") for h in json.loads(r.stdout)}  # no half-registered record


def test_invalid_utf8_argument_is_refused_before_a_code_is_issued(config_file: Path, cfg: Config) -> None:
    assert _run(config_file, "init").returncode == 0
    env = {**os.environ, "ARCHIVIST_STAFF": "01"}
    r = subprocess.run(
        [
            sys.executable.encode(),
            b"-m",
            b"archivist",
            b"--config",
            os.fsencode(config_file),
            b"register",
            b"--company",
            b"\xff\xfe bad",
            b"--staff",
            b"01",
            b"--yes",
        ],
        capture_output=True,
        env=env,
        cwd=config_file.parent,
        timeout=60,
    )
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 1 and "not valid UTF-8" in err and "Traceback" not in err
    assert _run(config_file, "register", "--company", "شرکت درست", "--staff", "01", "--yes").stdout.strip() == "00001"


def test_escape_sequences_in_names_never_reach_the_terminal(config_file: Path, cfg: Config) -> None:
    assert _run(config_file, "init").returncode == 0
    evil = "شرکت\x1b]0;pwned\x07\x1b[2J\x9b31m"
    code = _run(config_file, "register", "--company", evil, "--staff", "01", "--yes").stdout.strip()
    assert code == "00001"
    for args in (
        ("show", code),
        ("search", "شرکت"),
        ("list",),
        ("due",),
        ("search", "شرکت", "--json"),
        ("show", code, "--json"),
        ("list", "--json"),
        ("due", "--json"),
    ):
        r = _run(config_file, *args)
        assert r.returncode == 0, (args, r.stderr)
        assert not any(c in r.stdout for c in "\x1b\x07\x9b"), args
    out = cfg.root.parent / "list.xlsx"
    r = _run(config_file, "export", str(out))
    assert r.returncode == 0, r.stderr


def test_unexpected_error_is_one_line_naming_the_report(config_file: Path, cfg: Config, tmp_path: Path) -> None:
    assert _run(config_file, "init").returncode == 0
    # a bug stands in for every bug: the index file replaced by a folder makes sqlite raise oddly
    boom = tmp_path / "boom.py"
    boom.write_text(
        "import archivist.workflow as w\n"
        "def bad(*a, **k):\n    raise ZeroDivisionError('a bug')\n"
        "w.register = bad\n"
        "import sys\nfrom archivist.cli import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    r = subprocess.run(
        [sys.executable, str(boom), "--config", str(config_file), "register", "--company", "x", "--staff", "01", "--yes"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ARCHIVIST_STAFF": "01"},
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert "unexpected error (ZeroDivisionError: a bug)" in r.stderr
    report = Path(r.stderr.rsplit("the full report is in ", 1)[1].strip())
    assert "Traceback" in report.read_text(encoding="utf-8")


# -- containment: nothing is written outside the root through a link -----------------------------


def _outside_copy(tmp_path: Path, folder: Path, lead: str) -> Path:
    elsewhere = tmp_path / "elsewhere" / "rec"
    elsewhere.mkdir(parents=True)
    data = yaml.safe_load((folder / LOG_NAME).read_text(encoding="utf-8"))
    data["lead"] = lead
    (elsewhere / LOG_NAME).write_bytes(dump_yaml(data))
    return elsewhere


def test_symlinked_record_folder_inbox_and_area_are_never_written_through(cfg: Config, config_file: Path, tmp_path: Path) -> None:
    from tests.conftest import tree_digest

    assert _run(config_file, "init").returncode == 0
    rec = workflow.register(cfg, company="شرکت واقعی", staff="01")
    outside = _outside_copy(tmp_path, rec.folder, "00099")
    link = cfg.root / "applicants" / "شرکت پیوند - 01 - 00099"
    link.symlink_to(outside, target_is_directory=True)
    outside_inbox = tmp_path / "elsewhere" / "inbox"
    outside_inbox.mkdir()
    (outside_inbox / "00001 from-outside.pdf").write_bytes(b"not ours")
    (cfg.root / "inbox").rmdir()
    (cfg.root / "inbox").symlink_to(outside_inbox, target_is_directory=True)
    before = tree_digest(tmp_path / "elsewhere")

    r = _run(config_file, "log", "00099", "--kind", "note", "--note", "x")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert _run(config_file, "daemon", "--once").returncode == 0
    assert tree_digest(tmp_path / "elsewhere") == before  # nothing moved in or out, no log rewritten
    assert not (rec.folder / "00001 from-outside.pdf").exists()

    r = _run(config_file, "doctor", "--json")
    links = {v["path"] for v in json.loads(r.stdout)["violations"] if v["rule"] == "symlink"}
    assert {str(link), str(cfg.root / "inbox")} <= links

    (cfg.root / "customers").rmdir()
    outside_area = tmp_path / "elsewhere" / "customers"
    outside_area.mkdir()
    (cfg.root / "customers").symlink_to(outside_area, target_is_directory=True)
    r = _run(config_file, "convert", rec.lead, "--service", "1")
    assert r.returncode == 1 and "symbolic link" in r.stderr and "Traceback" not in r.stderr
    assert list(outside_area.iterdir()) == []
    assert rec.folder.is_dir() and load_record(rec.folder).status == "new"  # refused before the log changed


# -- crash points: a killed register or filing batch is finished by the next run -------------------


class Killed(BaseException):
    """SIGKILL at an exact point: nothing after it runs, no cleanup, no except clause catches it."""


def _kill_at(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, after: int) -> None:
    real = getattr(module, name)
    calls = {"n": 0}

    def wrapper(*a: Any, **k: Any) -> Any:
        if calls["n"] == after:
            raise Killed(name)
        calls["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(module, name, wrapper)


def _as_if_dead(cfg: Config) -> None:
    """The killed 'process' is this test: give its intents the pid of a process that has exited."""
    from archivist import intents

    proc = subprocess.Popen(["true"])
    proc.wait()
    for path in intents.pending(cfg):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["pid"] = proc.pid
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


FILING_CRASHES = [("append_events", 0), ("move", 0), ("move", 1), ("move", 2), ("fsync_dir", 0), ("done", 0)]


@pytest.mark.parametrize(("step", "after"), FILING_CRASHES)
def test_filing_batch_killed_at_any_step_is_finished_by_one_doctor_fix(
    step: str, after: int, cfg: Config, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archivist import inbox as inbox_mod
    from archivist import intents, store

    rec = workflow.register(cfg, company="شرکت بایگانی", staff="01")
    names = [f"{rec.lead} scan-{i}.pdf" for i in range(3)]
    for n in names:
        (cfg.root / "inbox" / n).write_bytes(n.encode())
    module = {"append_events": workflow, "move": store, "fsync_dir": store, "done": intents}[step]
    with monkeypatch.context() as m:
        _kill_at(m, module, step, after)
        with pytest.raises(Killed):
            inbox_mod.file_paths(cfg, sorted((cfg.root / "inbox").iterdir()))
    _as_if_dead(cfg)
    r = _run(config_file, "doctor", "--fix")
    assert "Traceback" not in r.stderr
    after_fix = load_record(rec.folder)
    filed = [e["note"] for e in after_fix.events if e["kind"] == "filed"]
    assert sorted(filed) == sorted(names)  # each file once, with its event
    assert all((rec.folder / n).read_bytes() == n.encode() for n in names)
    assert list((cfg.root / "inbox").iterdir()) == []
    assert intents.pending(cfg) == []


@pytest.mark.parametrize(("step", "after"), [("make_folder", 0), ("write_record", 0), ("atomic_write", 1)])
def test_register_killed_after_its_code_is_finished_not_left_empty(
    step: str, after: int, cfg: Config, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archivist import store

    assert _run(config_file, "init").returncode == 0
    with monkeypatch.context() as m:
        _kill_at(m, store, step, after)
        with pytest.raises(Killed):
            workflow.register(cfg, company="شرکت نیمه‌کاره", staff="01")
    _as_if_dead(cfg)
    r = _run(config_file, "daemon", "--once")
    assert r.returncode == 0, r.stderr
    folders = list((cfg.root / "applicants").iterdir())
    assert len(folders) == 1
    rec = load_record(folders[0])
    assert rec.company == "شرکت نیمه‌کاره" and [e["kind"] for e in rec.events] == ["registered"]
    assert _run(config_file, "register", "--company", "شرکت بعدی", "--staff", "01", "--yes").stdout.strip() == "00002"


# -- the backup guard looks at content, not only folder counts ------------------------------------


@pytest.fixture
def backed_up(cfg: Config, tmp_path: Path) -> tuple[Config, Path]:
    from archivist import backup

    generate(cfg, 40, seed=5, now=datetime.fromisoformat(NOW))
    (tmp_path / "drive").mkdir()
    drive = backup.init_target(cfg, tmp_path / "drive" / "archivist")
    assert backup.run_backup(cfg, drive)["ok"]
    return cfg, drive


def test_backup_refuses_when_the_closed_customers_are_gone(
    backed_up: tuple[Config, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from archivist import backup

    cfg, drive = backed_up
    open_cases = sorted((cfg.root / "customers").iterdir())
    cases = list((cfg.root / "archive" / "customers").iterdir()) + open_cases[:1]  # the closed ones and one more
    all_cases = len(open_cases) + len(cases) - 1
    assert all_cases * 0.2 < len(cases) < 40 * 0.2  # a few of many: the folder count alone lets it pass
    for p in cases:
        shutil.rmtree(p)
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-12-01T02:00:00+03:30")
    with pytest.raises(backup.BackupRefused, match="customer cases"):
        backup.run_backup(cfg, drive)
    assert backup.run_backup(cfg, drive, force=True)["ok"]


def test_backup_refuses_when_the_logs_were_emptied(backed_up: tuple[Config, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from archivist import backup

    cfg, drive = backed_up
    for log in cfg.root.glob(f"*/*/{LOG_NAME}"):
        log.write_bytes(b"")
    for log in cfg.root.glob(f"archive/*/*/{LOG_NAME}"):
        log.write_bytes(b"")
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-12-01T02:00:00+03:30")
    with pytest.raises(backup.BackupRefused, match="logs with content"):
        backup.run_backup(cfg, drive)


def test_sparse_file_stays_sparse_on_the_drive(backed_up: tuple[Config, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from archivist import backup

    cfg, drive = backed_up
    folder = next((cfg.root / "customers").iterdir())
    with open(folder / "disk-image.img", "wb") as f:
        f.truncate(64 << 20)
    monkeypatch.setenv("ARCHIVIST_NOW", "2026-12-01T02:00:00+03:30")
    done = backup.run_backup(cfg, drive)
    copy = Path(done["path"]) / folder.relative_to(cfg.root) / "disk-image.img"
    assert copy.stat().st_size == 64 << 20
    assert copy.stat().st_blocks * 512 < 1 << 20  # not written out in full


# -- "is this really my archive?" -------------------------------------------------------------------


def test_empty_mount_point_never_gets_a_second_archive(tmp_path: Path) -> None:
    from tests.conftest import CONFIG_TEXT

    mount = tmp_path / "drive"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)]).returncode:
        pytest.fail("needs root to mount an empty tmpfs as the unplugged drive's mount point", pytrace=False)
    try:
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG_TEXT.replace("root: ./archive", "root: ./drive"), encoding="utf-8")
        r = _run(config, "register", "--company", "شرکت گمشده", "--staff", "01", "--yes")
        assert r.returncode == 1 and "empty drive" in r.stderr and str(mount) in r.stderr
        assert list(mount.iterdir()) == []  # nothing created, no code issued
        assert _run(config, "init").returncode == 0
        assert _run(config, "register", "--company", "شرکت پیدا", "--staff", "01", "--yes").stdout.strip() == "00001"
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_unplugged_drive_of_fstab_gets_no_archive(cfg: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archivist import archive_id
    from archivist.errors import ArchivistError

    cfg = cfg.with_root(tmp_path / "drive")  # the drive's mount point: an ordinary empty folder
    cfg.root.mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text(f"UUID=1234  {cfg.root}  ext4  defaults,nofail  0  2\n", encoding="utf-8")
    monkeypatch.setattr(archive_id, "FSTAB", fstab)
    with pytest.raises(ArchivistError, match="is not mounted"):
        workflow.register(cfg, company="شرکت بی‌دیسک", staff="01")
    assert list(cfg.root.iterdir()) == []  # the empty mount point got nothing


def test_missing_root_and_file_root_are_one_line_saying_where(tmp_path: Path) -> None:
    from tests.conftest import CONFIG_TEXT

    config = tmp_path / "office" / "config.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG_TEXT.replace("root: ./archive", "root: ../elsewhere/archive"), encoding="utf-8")
    r = _run(config, "register", "--company", "x", "--staff", "01", "--yes")
    # relative to the config file's folder, not the working directory
    assert r.returncode == 1 and str(tmp_path / "elsewhere" / "archive") in r.stderr and "exists" in r.stderr
    assert not (tmp_path / "elsewhere").exists()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "archive").write_text("a file")
    for args in (("register", "--company", "x", "--staff", "01", "--yes"), ("search", "x"), ("init",)):
        r = _run(config, *args)
        assert r.returncode == 1 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)


def test_a_different_archive_at_the_same_place_is_refused(config_file: Path, cfg: Config, tmp_path: Path) -> None:
    import shutil

    assert _run(config_file, "init").returncode == 0
    assert _run(config_file, "register", "--company", "شرکت اصلی", "--staff", "01", "--yes").returncode == 0
    assert _run(config_file, "search", "اصلی").returncode == 0  # state remembers this archive
    other = tmp_path / "other.yaml"
    other.write_text(config_file.read_text(encoding="utf-8").replace("root: ./archive", "root: ./other"), encoding="utf-8")
    assert _run(other, "init").returncode == 0
    state = cfg.root / ".archivist"
    shutil.move(str(cfg.root), str(tmp_path / "archive-real"))
    shutil.move(str(tmp_path / "other"), str(cfg.root))  # another archive mounted where this one was
    shutil.rmtree(cfg.root / ".archivist")
    shutil.copytree(tmp_path / "archive-real" / ".archivist", state)  # with this archive's state (state_dir elsewhere)
    for args in (("register", "--company", "x", "--staff", "01", "--yes"), ("search", "x")):
        r = _run(config_file, *args)
        assert r.returncode == 1 and "different archive" in r.stderr, (args, r.stderr)


def test_a_failing_scheduler_tick_is_logged_and_the_thread_goes_on(cfg: Config, caplog: pytest.LogCaptureFixture) -> None:
    import threading

    from archivist.daemon.scheduler import Scheduler

    stop = threading.Event()
    ticks: list[int] = []

    class Flaky(Scheduler):
        TICK = 0.01

        def tick(self, now: datetime | None = None) -> None:
            ticks.append(1)
            if len(ticks) == 1:
                raise ValueError("invalid literal for int() with base 10: '7am'")
            if len(ticks) >= 3:
                stop.set()

    s = Flaky(cfg, stop)
    with caplog.at_level("ERROR", logger="archivist.daemon"):
        s.start()
        s.join(timeout=30)
    assert not s.is_alive() and len(ticks) >= 3  # it went on after the failure
    assert "this tick failed (ValueError" in caplog.text
