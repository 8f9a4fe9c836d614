"""The daemon through a day on a big archive: first pass, daily review, a backup, 2,000 inbox files.

    python -m bench.daemon_day --root COPY [--config config.yaml] [--files 2000]
                               [--backup-target DIR | --no-backup] [--no-telegram]

Runs the real `archivist daemon` (a child process, this checkout) on COPY — a copy of a generated
archive (`cp -a /work/bench-archive COPY`), never the shared one: the inbox files are filed into
its records and the review, outbox and backup state are written. Issue 17's targets: all inbox
files filed ≤ 30 s after they settle, none lost; the daemon's peak RSS (VmHWM from
/proc/<pid>/status, sampled through the whole run) ≤ 150 MB with the daily review included. The
daemon with its child processes (rsync) is printed beside it: sampled VmRSS, summed.

The config given is copied to a temporary file with: the review time set a minute back (the review
is due the moment the daemon starts; this day's mark is removed from schedule.json), a daily
backup due now into `--backup-target` (default `<root>.day-backup`, marked with `backup
init-target`; the first snapshot copies the whole archive, so it needs the archive's size free),
Telegram chats for every staff member pointed at a closed local port (the morning digests are
built and queued; sending fails and they stay in the outbox) unless `--no-telegram`.

Order: start → first pass (the index reconciled with the folders) → the review file written →
the backup's snapshot made → N files named `<record code> daemon-day-<i>.pdf` for N different
records renamed into the inbox at once → every one gone from the inbox → each checked in its
record's folder with a `filed` event in its log. Printed beside it, measured in the same run:
`python -c pass`, a `find` of every log (the walk floor), and the same N files renamed into their
record folders and back by a plain Python loop with one fsync per folder (the filing floor:
what moving them costs without any bookkeeping). Each line gives wall seconds, CPU seconds
(user+sys) and the load average, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from archivist.config import Config, load_config
from archivist.dates import now as tz_now
from archivist.liveness import read_state
from archivist.record import LOG_NAME
from archivist.store import layout_of
from bench.proc import cpu_seconds, rss_mb

ROOT = Path(__file__).resolve().parent.parent


def descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid` (the daemon's rsync, and anything it starts): pid → name."""
    parent: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        parent[int(entry.name)], names[int(entry.name)] = int(rest[1]), name
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        for child, ppid in parent.items():
            if ppid == p and child not in found:
                found[child] = names[child]
                todo.append(child)
    return found


class Sampler(threading.Thread):
    """VmRSS/VmHWM of the daemon every `every` seconds, and the peak per named phase; beside it the
    daemon together with its child processes (rsync during the backup: its memory is not the
    daemon's, but the machine has to hold both), sampled VmRSS summed."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        self.hwm = 0.0
        self.with_children = 0.0
        self.children_seen: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            cur, hwm = rss_mb(self.pid)
            if hwm:
                self.hwm = hwm
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), cur)
            kids = descendants(self.pid)
            self.children_seen.update(kids.values())
            self.with_children = max(self.with_children, cur + sum(rss_mb(k)[0] for k in kids))
            self.stop.wait(self.every)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(argv: list[str] | str, shell: bool = False) -> tuple[float, float]:
    """(wall, user+sys CPU of the children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, shell=shell, check=False, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def line(name: str, wall: float, cpu: float | None = None, extra: str = "") -> None:
    cpu_s = f"{cpu:7.2f} s CPU" if cpu is not None else " " * 13
    print(f"{name:<44} {wall:8.2f} s  {cpu_s}   load {load():<14} {extra}", flush=True)


class Day:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        base = load_config(args.config, root=args.root)
        self.root = base.root
        self.tmp = Path(tempfile.mkdtemp(prefix="daemon-day-"))
        self.target = Path(args.backup_target or f"{self.root}.day-backup").resolve()
        self.config = self._config(base)
        self.cfg: Config = load_config(str(self.config), root=str(self.root))
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), ARCHIVIST_STAFF="01")
        self.env.pop("ARCHIVIST_NOW", None)
        self.base = [sys.executable, "-m", "archivist", "--config", str(self.config), "--root", str(self.root)]
        self.rng = random.Random(args.seed)
        self.pid = 0
        self.snapshots_before: set[str] = set()

    def _config(self, base: Config) -> Path:
        src = Path(base.path) if base.path else ROOT / "config.yaml"
        data: dict[str, Any] = yaml.safe_load(src.read_text(encoding="utf-8")) or {}
        now = tz_now(base.timezone)
        back = (now - timedelta(minutes=1)).strftime("%H:%M")
        if now.strftime("%H:%M") < back:  # just after midnight: a minute back is yesterday
            back = "00:00"
        data["root"] = str(base.root)
        data.setdefault("daemon", {})["review_time"] = back
        if not self.args.no_backup:
            data["backup"] = {**(data.get("backup") or {}), "target": str(self.target), "schedule": "daily", "time": back}
        else:
            data["backup"] = {**(data.get("backup") or {}), "target": None}
        if not self.args.no_telegram:
            tg = data.setdefault("telegram", {}) or {}
            tg["api_base"] = "http://127.0.0.1:9"
            tg["staff_chats"] = {str(s): f"10{i}" for i, s in enumerate(base.staff)}
            data["telegram"] = tg
        path = self.tmp / "config.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    def arch(self, *args: str) -> list[str]:
        return [*self.base, *args]

    # -- baselines ----------------------------------------------------------------------------------
    def baselines(self, picked: list[tuple[str, Path]]) -> float:
        wall, cpu = timed([sys.executable, "-c", "pass"])
        line("python -c pass", wall, cpu)
        wall, cpu = timed(f"find {self.root} -name {LOG_NAME} -not -path '*/.archivist/*' | wc -l", shell=True)
        line("find every log (the walk floor)", wall, cpu)
        stage = self.root.parent / f".{self.root.name}.day-floor"
        stage.mkdir(exist_ok=True)
        files = []
        for i, (_code, folder) in enumerate(picked):
            p = stage / f"floor-{i}.pdf"
            p.write_bytes(b"%PDF-1.4 floor\n" * 40)
            files.append((p, folder / p.name))
        c0, started = time.process_time(), time.perf_counter()
        for src, dst in files:
            os.rename(src, dst)
        for _src, dst in files:
            fd = os.open(dst.parent, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        floor = time.perf_counter() - started
        line(f"{len(files)} renames into their folders (filing floor)", floor, time.process_time() - c0)
        for src, dst in files:
            os.rename(dst, src)
        shutil.rmtree(stage)
        return floor

    # -- the daemon ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        sched = layout_of(self.cfg).state / "schedule.json"
        state = json.loads(sched.read_text()) if sched.exists() else {}
        state.pop("review", None)
        sched.parent.mkdir(parents=True, exist_ok=True)
        sched.write_text(json.dumps(state))
        review = sched.parent / "review" / f"{tz_now(self.cfg.timezone).date().isoformat()}.txt"
        review.unlink(missing_ok=True)
        self.review = review
        from archivist.backup.snapshots import snapshots

        self.snapshots_before = {s.name for s in snapshots(self.target) if s.complete}
        if not self.args.no_backup:
            self.target.mkdir(parents=True, exist_ok=True)
            r = subprocess.run(self.arch("backup", "init-target", str(self.target)), env=self.env, capture_output=True, text=True)
            if r.returncode != 0 and "already" not in (r.stderr + r.stdout):
                print(f"backup init-target: {r.stderr.strip() or r.stdout.strip()}")
        # the index at this checkout's schema (a rebuild is not part of the day)
        started = time.perf_counter()
        subprocess.run(self.arch("search", "00001"), env=self.env, stdout=subprocess.DEVNULL, check=True)
        print(f"index ready ({time.perf_counter() - started:.1f} s, not timed)")

    def pick(self, n: int) -> list[tuple[str, Path]]:
        """n different records: (code the file is named with, the record's folder)."""
        from archivist.index import open_index

        idx = open_index(self.cfg, build_if_missing=False)
        try:
            rows = [r for r in idx.records() if r["lead"]]
        finally:
            idx.close()
        chosen = self.rng.sample(rows, n)
        return [((r["case"] if r["case"] and i % 2 else r["lead"]), Path(r["path"])) for i, r in enumerate(chosen)]

    def run(self) -> int:
        picked = self.pick(self.args.files)
        floor = self.baselines(picked)
        self.prepare()
        err = open(self.tmp / "daemon.err", "wb")  # noqa: SIM115
        started = time.perf_counter()
        proc = subprocess.Popen(self.arch("daemon"), stdout=subprocess.DEVNULL, stderr=err, env=self.env)
        self.pid = proc.pid
        sampler = Sampler(proc.pid)
        sampler.start()
        failed = False
        try:
            sampler.phase = "first pass"
            self.wait(proc, self.first_pass_done, "first pass")
            line("daemon start → index reconciled", time.perf_counter() - started, cpu_seconds(proc.pid), self.walk())
            sampler.phase = "review"
            t0, c0 = time.perf_counter(), cpu_seconds(proc.pid)
            self.wait(proc, self.review.exists, "daily review")
            line(
                "→ daily review written",
                time.perf_counter() - t0,
                cpu_seconds(proc.pid) - c0,
                f"{self.review.stat().st_size / 1e6:.1f} MB",
            )
            if not self.args.no_backup:
                sampler.phase = "backup"
                t0, c0 = time.perf_counter(), cpu_seconds(proc.pid)
                self.wait(proc, self.backup_done, "backup", timeout=self.args.timeout)
                line(
                    "→ backup snapshot made",
                    time.perf_counter() - t0,
                    cpu_seconds(proc.pid) - c0,
                    f"(CPU: the daemon's own); {self.walk()}",
                )
            sampler.phase = "inbox"
            filed = self.inbox(proc, picked, floor)
            failed = not filed
            sampler.phase = "idle after"
            time.sleep(2)
        finally:
            cur, hwm = rss_mb(sampler.pid)
            sampler.stop.set()
            proc.terminate()
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            err.close()
            peaks = ", ".join(f"{k} {v:.0f}" for k, v in sampler.peaks.items())
            hwm = max(hwm, sampler.hwm)
            verdict = "met" if hwm <= 150 else "MISSED"
            print(f"daemon RSS at the end {cur:.0f} MB; peak per phase (MB): {peaks}")
            print(f"daemon peak RSS (VmHWM, the daemon process alone) {hwm:.0f} MB   target ≤ 150 MB: {verdict}", flush=True)
            kids = ", ".join(sorted(sampler.children_seen)) or "none seen"
            print(
                f"daemon + its child processes ({kids}), peak of the summed VmRSS samples: {sampler.with_children:.0f} MB",
                flush=True,
            )
            tail = (self.tmp / "daemon.err").read_text(errors="replace")[-600:]
            if proc.returncode not in (0, -15) and tail:
                print(f"daemon stderr: {tail}")
        return 1 if failed else 0

    def first_pass_done(self) -> bool:
        """The index reconciled with the folders (the daemon's own stat walk of every folder may go
        on: on a first start it looks at all 100,000, a slice at a time between live events)."""
        st = read_state(self.cfg)
        if st.get("pid") != self.pid:  # what a daemon before this one published
            return False
        if self.args.wait_walk:
            return bool(st.get("last_reconcile") and st.get("index") == "ok" and st.get("pending_events") == 0)
        return bool(st.get("index_reconcile") and st.get("index") == "ok")

    def walk(self) -> str:
        st = read_state(self.cfg)
        checked = st.get("reconcile_checked")
        return "daemon's walk: done" if checked is None else f"daemon's walk: {checked} folders looked at so far"

    def backup_done(self) -> bool:
        """A complete snapshot on the target that was not there when the day began."""
        from archivist.backup.snapshots import snapshots

        return any(s.complete and s.name not in self.snapshots_before for s in snapshots(self.target))

    def wait(self, proc: subprocess.Popen[bytes], done: Any, what: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.args.timeout)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the daemon exited ({proc.returncode}) during {what}: {self.tmp / 'daemon.err'}")
            if done():
                return
            time.sleep(0.5)
        raise SystemExit(f"{what} did not happen within {timeout or self.args.timeout} s")

    def inbox(self, proc: subprocess.Popen[bytes], picked: list[tuple[str, Path]], floor: float) -> bool:
        inbox = self.root / "inbox"
        stage = self.root.parent / f".{self.root.name}.day-drop"
        stage.mkdir(exist_ok=True)
        names = []
        for i, (code, _folder) in enumerate(picked):
            name = f"{code} daemon-day-{os.getpid()}-{i}.pdf"
            (stage / name).write_bytes(b"%PDF-1.4 daemon day\n" * 40)
            names.append(name)
        c0 = cpu_seconds(proc.pid)
        started = time.perf_counter()
        for name in names:  # renames within one filesystem: dropped at once
            os.rename(stage / name, inbox / name)
        dropped = time.perf_counter() - started
        stage.rmdir()
        left = set(names)
        deadline = time.monotonic() + self.args.timeout
        while left and time.monotonic() < deadline and proc.poll() is None:
            left &= {e.name for e in os.scandir(inbox)}
            if left:
                time.sleep(0.1)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid) - c0
        settle = float(self.cfg.daemon.settle_seconds)
        after = seconds - dropped - settle
        lost = []
        for name, (_code, folder) in zip(names, picked, strict=True):
            log_text = (folder / LOG_NAME).read_text(encoding="utf-8") if (folder / LOG_NAME).exists() else ""
            if not (folder / name).exists() or name not in log_text:
                lost.append(name)
        n = len(names)
        verdict = "met" if after <= 30 and not left and not lost else "MISSED"
        line(
            f"inbox: {n} files for {n} records, drop → all filed",
            seconds,
            cpu,
            f"dropped in {dropped:.2f} s, settle {settle:g} s → {after:.1f} s after settling "
            f"(target ≤ 30 s: {verdict}); {after / floor if floor else float('nan'):.0f}× the filing floor",
        )
        print(
            f"  filed and in their records with a filed event: {n - len(lost)}/{n}; still in the inbox: {len(left)}; {self.walk()}"
        )
        if lost:
            print(f"  NOT FILED / no event: {len(lost)} (e.g. {lost[:3]})")
        return not left and not lost

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.daemon_day", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--root", required=True, help="a COPY of a generated archive (the day writes into it)")
    p.add_argument("--config", help="config.yaml (default: $ARCHIVIST_CONFIG or ./config.yaml)")
    p.add_argument("--files", type=int, default=2000, help="inbox files, each for a different record")
    p.add_argument("--backup-target", help="the backup folder (default: <root>.day-backup)")
    p.add_argument("--no-backup", action="store_true")
    p.add_argument("--no-telegram", action="store_true", help="no morning digests (they are built by the review tick)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds each phase may take")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument(
        "--wait-walk",
        action="store_true",
        help="wait for the daemon's stat walk of every folder too (on a first start it looks at each of them)",
    )
    args = p.parse_args(argv)
    day = Day(args)
    print(f"archive {day.root}; daemon from {ROOT}; {os.cpu_count()} cores; load {load()}", flush=True)
    try:
        return day.run()
    finally:
        day.close()


if __name__ == "__main__":
    sys.exit(main())
