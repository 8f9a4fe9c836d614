"""The issue-13 race, full length: an editor-style save (read, wait, write temp, rename) about every
0.5 s racing two `archivist log` loops, with the daemon running, for 60 s.

`python -m bench.editor_race [--seconds 60] [--dir /tmp/editor-race]`

Prints: events `log` confirmed (exit 0), how many of them are missing from the log once the daemon
has settled, hand edits made, hand edits overwritten by a CLI write (seen as the editor's next read
not holding its own last edit), and the `edited` events the daemon wrote (restorations named).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time

import yaml

from archivist.config import load_config
from archivist.daemon import status
from archivist.record import LOG_NAME, dump_yaml, load_record

from .scratch import fresh_config

CONFIG = """root: ./archive
staff: {"01": "a", "02": "b"}
services: {"1": ISO certification}
daemon: {debounce_ms: 300, polling: "off"}
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--dir", default="/tmp/editor-race")
    a = p.parse_args(argv)
    config = fresh_config(a.dir, CONFIG)
    base = config.parent
    env = {**os.environ, "ARCHIVIST_STAFF": "01"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "archivist", "--config", str(config), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=base,
            timeout=120,
        )

    cli("init")
    lead = cli("register", "--company", "شرکت مسابقه", "--staff", "01", "--yes").stdout.strip()
    cfg = load_config(config)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "archivist", "--config", str(config), "daemon"],
        cwd=base,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not status(cfg).get("running"):
        time.sleep(0.1)
    folder = next((cfg.root / "applicants").iterdir())
    log = folder / LOG_NAME
    end = time.monotonic() + a.seconds
    confirmed: list[str] = []
    failed: list[str] = []
    edits = overwritten = 0

    def logger(who: str) -> None:
        i = 0
        while time.monotonic() < end:
            i += 1
            note = f"{who}-{i}"
            r = cli("log", lead, "--kind", "note", "--note", note)
            (confirmed if r.returncode == 0 else failed).append(note if r.returncode == 0 else r.stderr.strip()[-150:])

    def editor() -> None:
        nonlocal edits, overwritten
        rnd = random.Random(1)
        last = None
        while time.monotonic() < end:
            try:
                text = log.read_text(encoding="utf-8")
                data = yaml.safe_load(text)
                if last is not None and data["contact"]["person"] != last:
                    overwritten += 1
                time.sleep(rnd.uniform(0.2, 0.5))  # the person types
                edits += 1
                last = f"edit-{edits}"
                data["contact"]["person"] = last
                tmp = log.with_name(".editor-save.tmp")
                tmp.write_bytes(dump_yaml(data))
                os.replace(tmp, log)
            except (OSError, yaml.YAMLError, TypeError, KeyError):
                pass

    threads = [threading.Thread(target=logger, args=(w,)) for w in ("a", "b")] + [threading.Thread(target=editor)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # let the daemon settle: nothing pending twice in a row, a second apart
    quiet = 0
    while quiet < 3:
        time.sleep(1)
        quiet = quiet + 1 if status(cfg).get("pending_events") == 0 else 0
    rec = load_record(folder)
    notes = [e.get("note") for e in rec.events]
    lost = [n for n in confirmed if n not in notes]
    twice = [n for n in confirmed if notes.count(n) > 1]
    edited = [e for e in rec.events if e["kind"] == "edited"]
    restored = [e for e in edited if "restored" in str(e.get("note"))]
    daemon.terminate()
    daemon.wait(timeout=30)
    print(f"seconds: {a.seconds:.0f}")
    print(f"events confirmed by `log` (exit 0): {len(confirmed)}; failed calls: {len(failed)}")
    print(f"confirmed events missing at the end: {len(lost)} {lost[:5]}")
    print(f"confirmed events present twice: {len(twice)}")
    print(f"hand edits saved: {edits}; overwritten by a CLI write before the editor's next read: {overwritten}")
    print(f"final contact.person: {rec.contact.get('person')} (last edit: edit-{edits})")
    print(f"edited events: {len(edited)}, of which restorations: {len(restored)}")
    print(f"events in date order: {[e['at'] for e in rec.events] == sorted(e['at'] for e in rec.events)}")
    for f in failed[:3]:
        print("  failed:", f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
