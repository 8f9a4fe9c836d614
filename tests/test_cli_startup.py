"""CLI start-up: a command imports what it needs and nothing else (issue 17's ≤ 0.3 s commands).

Real processes (`python -c` calling the CLI's main), real archives in tmp_path; the assertions are
about which modules a command loads, never about timings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from archivist import workflow
from archivist.cli import TABLE, build_parser
from archivist.config import Config
from archivist.i18n import _

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


def _loaded_after(*argv: str, cwd: Path) -> tuple[int, list[str], str]:
    """(exit code, the HEAVY modules loaded, stderr) after `archivist ARGV` in a fresh process."""
    code = (
        "import json, sys\n"
        "from archivist.cli import main\n"
        "try:\n"
        f"    rc = main({list(argv)!r})\n"
        "except SystemExit as e:\n"
        "    rc = e.code or 0\n"
        f"print(json.dumps([rc, [m for m in {HEAVY!r} if m in sys.modules]]), file=sys.__stdout__)\n"
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
