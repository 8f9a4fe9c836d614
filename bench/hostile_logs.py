"""One bad log must never stop the archive (issue 13): times every everyday command on a generated
archive, clean and then with a FIFO, a /dev/zero symlink, a 4 GB sparse file and an alias bomb
planted as logs, and prints what `doctor` says about each.

`python -m bench.hostile_logs [--records 2000] [--dir /tmp/hostile-bench]`

Ratios are against the clean run measured in the same process; a command that blocks (a FIFO) or
eats memory (/dev/zero, the bomb) would show as a timeout (60 s) instead of a ratio near 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from archivist.record import LOG_NAME

from .scratch import fresh_config, generate

ALIAS_BOMB = (
    "\n".join(
        ["form: F-31-08-01", "a: &a [x, x, x, x, x, x, x, x, x]"]
        + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    )
    + "\n"
)

CONFIG = """root: ./archive
staff: {"01": "a", "02": "b", "03": "c", "04": "d", "05": "e", "06": "f", "07": "g", "08": "h"}
services: {"1": ISO certification, "2": Product certification, "3": Training, "4": Consulting}
"""


def _commands(code: str) -> list[tuple[str, ...]]:
    return [
        ("search", "پارس"),
        ("search", code),
        ("list",),
        ("due",),
        ("show", code),
        ("reindex",),
        ("register", "--company", "شرکت تازه", "--staff", "01", "--yes"),
        ("log", code, "--kind", "note", "--note", "x"),
        ("trace", "1405-0001"),
        ("doctor", "--json"),
    ]


def _time(config: Path, args: tuple[str, ...]) -> tuple[float, int, str]:
    t = time.perf_counter()
    try:
        r = subprocess.run(
            [sys.executable, "-m", "archivist", "--config", str(config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "ARCHIVIST_STAFF": "01"},
            cwd=config.parent,
        )
    except subprocess.TimeoutExpired:
        return 60.0, -1, "TIMEOUT"
    return time.perf_counter() - t, r.returncode, r.stdout if args[0] == "doctor" else r.stderr[-200:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=2000)
    p.add_argument("--dir", default="/tmp/hostile-bench")
    a = p.parse_args(argv)
    config = fresh_config(a.dir, CONFIG)
    base = config.parent
    generate(config, a.records)
    folders = sorted((base / "archive" / "applicants").iterdir())
    code = folders[0].name.rsplit(" - ", 1)[-1]
    clean = {}
    for args in _commands(code):
        clean[args] = _time(config, args)
    bad = dict(zip(("fifo", "dev-zero", "sparse-4gb", "alias-bomb"), folders[-4:], strict=True))
    for kind, folder in bad.items():
        log = folder / LOG_NAME
        log.unlink()
        if kind == "fifo":
            os.mkfifo(log)
        elif kind == "dev-zero":
            log.symlink_to("/dev/zero")
        elif kind == "sparse-4gb":
            with open(log, "wb") as f:
                f.truncate(4 << 30)
        else:
            log.write_text(ALIAS_BOMB, encoding="utf-8")
    print(f"{'command':<40} {'clean s':>8} {'4 bad logs s':>13} {'ratio':>6}  exit")
    for args in _commands(code):
        t0, _c0, _ = clean[args]
        t1, c1, out = _time(config, args)
        print(f"{' '.join(args)[:40]:<40} {t0:8.2f} {t1:13.2f} {t1 / t0:6.2f}  {c1}")
        if args[0] == "doctor":
            found = {Path(v["path"]).parent: v["message"] for v in json.loads(out)["violations"] if v["rule"] == "invalid-log"}
            for kind, folder in bad.items():
                print(f"  doctor on {kind:<11}: {found.get(folder, 'NOT REPORTED')[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
