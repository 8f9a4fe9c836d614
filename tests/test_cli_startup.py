"""CLI start-up: a command imports what it needs and nothing else (issue 17's ≤ 0.3 s commands).

Real processes (`python -c` calling the CLI's main), real archives in tmp_path; the assertions are
about which modules a command loads, never about timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from archivist import workflow
from archivist.cli import TABLE, build_parser
from archivist.config import Config
from archivist.i18n import _, language
from archivist.index import reindex

HEAVY = (
    "archivist.cli.records",
    "archivist.cli.trace",
    "archivist.cli.daemon",
    "archivist.cli.backup",
    "archivist.cli.tui",
    "archivist.cli.index",
    "archivist.cli.web",
    "archivist.index",
    "archivist.web",
    "http.client",
    "urllib.request",
    "ctypes",
    "textual",
    "starlette",
)


# What only some commands need, each costing every other command's start-up milliseconds:
# yaml (a log or config file read: its Reader compiles a regex at import), config's dataclasses
# (`--help` reads no config), the writers of records, the export's writers, doctor and its
# memory (hashlib's OpenSSL), the Violation type (the daemon's), logging (only a warning writes to it).
LAZY = (
    "yaml",
    "dataclasses",
    "archivist.config",
    "archivist.store",
    "archivist.workflow",
    "archivist.allocation",
    "archivist.actions",
    "archivist.index.export",
    "archivist.index.checked",
    "archivist.doctor",
    "archivist.violations",
    "hashlib",
    "logging",
    "csv",
)


def _loaded_after(*argv: str, cwd: Path, watch: tuple[str, ...] = HEAVY) -> tuple[int, list[str], str]:
    """(exit code, the `watch` modules loaded, stderr) after `archivist ARGV` in a fresh process."""
    code = (
        "import json, sys\n"
        "from archivist.cli import main\n"
        "try:\n"
        f"    rc = main({list(argv)!r})\n"
        "except SystemExit as e:\n"
        "    rc = e.code or 0\n"
        f"print(json.dumps([rc, [m for m in {watch!r} if m in sys.modules]]), file=sys.__stdout__)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)
    rc, loaded = json.loads(res.stdout.strip().splitlines()[-1])
    return rc, loaded, res.stderr


def test_the_command_table_is_what_the_modules_register() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    registered = [(c.dest, c.help) for c in sub._choices_actions]
    assert registered == [(name, _(text)) for name, (_module, text) in TABLE.items()]
    for name, (module, _text) in TABLE.items():  # each module registers exactly its own commands
        only = next(a for a in build_parser((module,))._actions if isinstance(a, argparse._SubParsersAction))
        assert name in only.choices, f"{name} is not registered by cli/{module}.py"


def test_help_lists_every_command_without_importing_any(tmp_path: Path) -> None:
    full = build_parser().format_help()
    assert build_parser(names_only=True).format_help() == full
    rc, loaded, _err = _loaded_after("--help", cwd=tmp_path)
    assert rc == 0 and loaded == []
    rc, loaded, err = _loaded_after("shwo", "00001", cwd=tmp_path)  # a typo: argparse lists the commands
    assert rc == 2 and "invalid choice: 'shwo'" in err and "'show'" in err and loaded == []


def test_show_and_a_stage_action_load_neither_http_nor_the_other_commands(cfg: Config, config_file: Path, tmp_path: Path) -> None:
    lead = workflow.register(cfg, company="شرکت نمونه پارس", staff="01", by="01").lead
    rc, loaded, err = _loaded_after("--config", str(config_file), "show", lead, cwd=tmp_path)
    assert rc == 0, err
    assert not {"http.client", "urllib.request", "ctypes", "archivist.cli.trace", "archivist.cli.web", "textual"} & set(loaded), (
        loaded
    )
    rc, loaded, err = _loaded_after("--config", str(config_file), "log", lead, "--kind", "call", "--note", "تماس", cwd=tmp_path)
    assert rc == 0, err
    assert not {"http.client", "urllib.request", "archivist.cli.trace", "archivist.cli.web", "textual"} & set(loaded), loaded


def test_help_and_a_typo_load_no_config_no_dataclasses_no_yaml(tmp_path: Path) -> None:
    rc, loaded, _err = _loaded_after("--help", cwd=tmp_path, watch=LAZY)
    assert rc == 0 and loaded == []
    rc, loaded, err = _loaded_after("shwo", "00001", cwd=tmp_path, watch=LAZY)
    assert rc == 2 and "'show'" in err and loaded == []


def test_help_still_speaks_the_config_files_language(tmp_path: Path) -> None:
    """The config is found without config.py (config_path): its `ui.language` still words --help
    (the office default is Persian; this config asks for English)."""
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVIST_LANGUAGE"}
    run = [sys.executable, "-m", "archivist", "--help"]
    res = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, env=env)
    with language("fa"):
        persian = _("show this help message and exit")
    assert res.returncode == 0 and persian in res.stdout, res.stderr
    (tmp_path / "config.yaml").write_text("ui:\n  language: en\n", encoding="utf-8")
    res = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "show this help message and exit" in res.stdout and persian not in res.stdout
    assert TABLE["due"][1] in " ".join(res.stdout.split())  # argparse wraps it to the width


def test_due_and_search_read_the_index_without_yaml_or_the_writers(cfg: Config, config_file: Path, tmp_path: Path) -> None:
    lead = workflow.register(cfg, company="شرکت نمونه پارس", staff="01", by="01", contact={"mobile": "۰۹۱۲۱۲۳۴۵۶۷"}).lead
    reindex(cfg)
    elsewhere = tmp_path / "elsewhere"  # no config.yaml here: the built-in defaults, nothing to parse
    elsewhere.mkdir()
    root = str(cfg.root)
    for argv in (("due",), ("due", "--json"), ("search", "نمونه"), ("search", lead)):
        rc, loaded, err = _loaded_after("--root", root, *argv, cwd=elsewhere, watch=LAZY)
        assert rc == 0, err
        expected = {"dataclasses", "archivist.config", "archivist.store"}  # the config and the layout
        assert set(loaded) == expected, (argv, loaded)
    # with a config file read before, what it gave is remembered (config_path.py): no yaml either;
    # a text never read before is parsed by yaml; still none of the writers, the export or logging
    rc, loaded, err = _loaded_after("--config", str(config_file), "due", cwd=tmp_path, watch=LAZY)
    assert rc == 0, err
    assert set(loaded) == {"dataclasses", "archivist.config", "archivist.store"}, loaded
    config_file.write_text(config_file.read_text("utf-8") + "# changed\n", "utf-8")
    rc, loaded, err = _loaded_after("--config", str(config_file), "due", cwd=tmp_path, watch=LAZY)
    assert rc == 0, err
    assert set(loaded) == {"yaml", "dataclasses", "archivist.config", "archivist.store"}, loaded


def test_show_and_log_load_neither_doctor_nor_the_export(cfg: Config, config_file: Path, tmp_path: Path) -> None:
    lead = workflow.register(cfg, company="شرکت نمونه پارس", staff="01", by="01").lead
    reindex(cfg)
    for argv in (("show", lead), ("log", lead, "--kind", "call", "--note", "تماس", "--by", "01")):
        rc, loaded, err = _loaded_after("--config", str(config_file), *argv, cwd=tmp_path, watch=LAZY)
        assert rc == 0, err
        assert not {"archivist.doctor", "archivist.index.checked", "hashlib", "archivist.index.export", "csv", "logging"} & set(
            loaded
        ), (argv, loaded)
