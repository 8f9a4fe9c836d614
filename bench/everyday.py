"""Everyday commands on a big archive, each as a whole process, beside plain-tool baselines.

`python -m bench.everyday --root PATH [--config CONFIG] [--runs 5] [--only a,b] [--skip a,b]
                          [--checkout DIR] [--daemon] [--inbox 2000] [--full-doctor] [--no-live-index]`

Every row of issue 17's table, on a writable copy of the generated archive:
`python -m bench.everyday --root /work/perf3-archive --runs 5 --full-doctor --inbox 2000`
(`--skip doctor` leaves out the long doctor runs; `--checkout /path/to/old/tree` for a "before").

Each command of issue 17's table runs `--runs` times as `python -m archivist …` (a fresh process,
as staff run it, with this interpreter: not the pyenv shim on PATH), no daemon running unless
`--daemon`; printed: the median wall time, the median user+sys CPU seconds (wall times are noisy
on a shared machine, CPU much less), the largest peak RSS (the process and its reaped children,
from wait4), the median as a multiple of `python -c pass` and of `archivist --help` measured in
the same run, the target and the 1-minute load average; at the end every row again as one
markdown table. Baselines, on the same tree: `python -c pass` (interpreter start), `archivist
--help` (the CLI's own start-up), `grep -rli` for the search word, and `plocate` when installed.
The checkout under test is byte-compiled first (this environment sets PYTHONDONTWRITEBYTECODE=1;
an installed wheel ships .pyc files).

Without a daemon, a reading command on an archive past `catchup.SYNC_FOLDERS` folders answers
from the index and leaves the hand-edit walk to a detached process: the bench waits (untimed) for
that process after each run so it does not slow the next one, and times the walk alone in the row
"catch-up walk". `--live-index` (on by default) then times the same commands holding the daemon's
lock, as with a daemon running.

Commands that write act on a different record each run, chosen from the index by stage (a
`convert` needs an applicant that is new or following, an `archive` a record whose CRM is done…),
so every run is a real action. The archive is changed by them (events appended, records moved
between stages): run this on a copy (`cp -a`), never on the shared generated archive.

`register` on a full archive (99,999 records: every 5-digit code issued) would only be refused, so
for its runs the bench sets the highest applicant folders aside, lowers the registry by as many,
registers, then deletes the new folders, puts the set-aside ones back and restores the registry
byte for byte (and tells the index).

`--checkout DIR` runs another copy of archivist (e.g. `/work/main` before a change) in the child
processes: the before/after table of a change comes from two runs of this bench.

`--daemon` starts a real daemon first (waits for its first pass), then times the reading commands
with it running. `--inbox N` (implies a daemon) also drops N files into the inbox for N different
records at once and times until every one is filed (none may stay), and makes the daily review
due at the daemon's start so its peak RSS (VmHWM) covers the review too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from archivist.config import Config, load_config
from archivist.store import AREAS
from bench.proc import rss_mb
from bench.run import cat_command, python_loop_seconds, sh

Argv = list[str]


@dataclass
class Result:
    name: str
    seconds: list[float]
    peak_mb: float
    target_s: float | None
    target_mb: float | None
    note: str = ""
    cpu: list[float] = field(default_factory=list)  # user + sys seconds of each run (children included)
    load: float = float("nan")  # 1-minute load average when the row finished

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


TIME = "/usr/bin/time"  # GNU time: a 2 MB parent, so a child's peak RSS is its own


def run_once(
    argv: Argv, env: dict[str, str], count_lines: bool = False, cwd: str | None = None
) -> tuple[float, float, int, int, str, float]:
    """(seconds, peak RSS MB, exit code, stdout lines, stderr tail, user+sys CPU seconds) of one
    whole process (its reaped children included).

    Through GNU time when installed: a child forked from this bench starts with the bench's own
    resident pages counted in its peak RSS (≈ 26 MB for `python -c pass` instead of 13 MB), so
    wait4's ru_maxrss is only the fallback."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as report:
        timed = os.access(TIME, os.X_OK)
        if timed:
            argv = [TIME, "-f", "%x %U %S %M", "-o", report.name, *argv]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE if count_lines else subprocess.DEVNULL, stderr=err, env=env, cwd=cwd)
        lines = 0
        if count_lines:  # what `| wc -l` does: read the pipe as it fills
            assert proc.stdout is not None
            while chunk := proc.stdout.read(1 << 16):
                lines += chunk.count(b"\n")
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.stdout:
            proc.stdout.close()
        err.seek(0)
        tail = err.read().decode("utf-8", "replace")[-400:]
        peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        if timed:
            fields = report.read().split()[-4:]  # the last line: a signal report may come first
            try:
                code, user, system, kb = int(fields[0]), float(fields[1]), float(fields[2]), int(fields[3])
                proc.returncode, peak, cpu = code, kb / 1024, user + system
            except (IndexError, ValueError):
                pass
    return seconds, peak, proc.returncode, lines, tail, cpu


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg: Config = load_config(args.config, root=args.root)
        self.root = self.cfg.root
        checkout = str(Path(args.checkout).resolve()) if args.checkout else str(Path(__file__).resolve().parent.parent)
        self.checkout = checkout
        self.env = dict(os.environ, PYTHONPATH=checkout, ARCHIVIST_STAFF="01")
        self.env.pop("ARCHIVIST_NOW", None)
        # `python -m` puts the working folder first on sys.path: the children run in an empty
        # folder so that PYTHONPATH alone decides which archivist they are
        config = ["--config", str(Path(self.cfg.path).resolve())] if self.cfg.path else []
        self.base: Argv = [sys.executable, "-m", "archivist", *config, "--root", str(self.root)]
        self.rng = random.Random(args.seed)
        self.results: list[Result] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="everyday-"))
        self._used: set[str] = set()

    # -- choosing records -----------------------------------------------------------------------
    def codes(self, status: str, n: int, case: bool | None = None) -> list[str]:
        """n distinct codes of records in `status` (case code when the record has one)."""
        import sqlite3

        db = sqlite3.connect(f"file:{self.cfg.index_file}?mode=ro", uri=True)
        try:
            rows = db.execute('SELECT lead, "case" FROM records WHERE status = ? AND stale = 0', (status,)).fetchall()
        finally:
            db.close()
        pool = [
            (c or lead) if case is not False else lead
            for lead, c in rows
            if lead and (case is None or bool(c) == case) and lead not in self._used
        ]
        picked = self.rng.sample(pool, min(n, len(pool)))
        for code in picked:
            self._used.add(code if len(code) == 5 else next(lead for lead, c in rows if c == code))
        if len(picked) < n:
            print(f"  (only {len(picked)} records in stage {status})")
        return picked

    # -- timing -----------------------------------------------------------------------------------
    def measure(
        self,
        name: str,
        argvs: list[Argv],
        target_s: float | None,
        target_mb: float | None,
        count_lines: bool = False,
        ok_codes: tuple[int, ...] = (0,),
        note: str = "",
    ) -> Result:
        seconds, cpu, peak = [], [], 0.0
        for argv in argvs:
            s, mb, code, _lines, tail, used = run_once(argv, self.env, count_lines, cwd=str(self.tmp))
            if code not in ok_codes:
                print(f"  {name}: exit {code}: {tail.strip()}")
            seconds.append(s)
            cpu.append(used)
            peak = max(peak, mb)
            self.settle()
        r = Result(name, seconds, peak, target_s, target_mb, note, cpu, os.getloadavg()[0])
        self.results.append(r)
        self.show(r)
        return r

    def settle(self) -> None:
        """Wait (untimed) for a background catch-up a command started (no daemon, big archive), so
        that it does not compete with the next command measured; its cost has a row of its own."""
        try:
            from archivist.index import catchup
        except ImportError:  # a checkout before the background catch-up
            return
        catchup.wait(self.cfg, 600)

    def baseline(self, name: str) -> float | None:
        return next((r.median for r in self.results if r.name == name and r.seconds), None)

    def ratios(self, r: Result) -> str:
        """The median as a multiple of `python -c pass` and of `archivist --help` in this run."""
        out = []
        for name, tag in (("python -c pass", "×pass"), ("archivist --help", "×help")):
            base = self.baseline(name)
            out.append(f"{r.median / base:5.1f}{tag}" if base and r.seconds and r.name != name else " " * (5 + len(tag)))
        return " ".join(out)

    @staticmethod
    def verdict(r: Result) -> str:
        if r.target_s is None:
            return ""
        ok = r.median <= r.target_s and (r.target_mb is None or r.peak_mb <= r.target_mb)
        return "met" if ok else "MISSED"

    @staticmethod
    def target(r: Result) -> str:
        target = f"≤ {r.target_s:.3g} s" if r.target_s is not None else ""
        if r.target_mb is not None:
            target += f"{', ' if target else ''}≤ {r.target_mb:g} MB"
        return target

    def show(self, r: Result) -> None:
        runs = " ".join(f"{s:.2f}" for s in r.seconds)
        print(
            f"{r.name:<38} {r.median:7.3f} s  cpu {r.cpu_median:6.3f} s {r.peak_mb:6.0f} MB  {self.ratios(r)}  "
            f"{self.target(r):<18} {self.verdict(r):<7} load {r.load:4.1f} [{runs}] {r.note}",
            flush=True,
        )

    def summary(self) -> None:
        """Every row again as one markdown table (for a closing note)."""
        print()
        print(
            "| command | median wall s | median user+sys s | peak RSS MB | × `python -c pass` | × `--help` | target | verdict | load |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in self.results:
            cells = [f"`{r.name}`"]
            cells.append(f"{r.median:.3f}" if r.seconds else "—")
            cells.append(f"{r.cpu_median:.3f}" if r.cpu else "—")
            cells.append(f"{r.peak_mb:.0f}")
            for name in ("python -c pass", "archivist --help"):
                base = self.baseline(name)
                cells.append(f"{r.median / base:.1f}" if base and r.seconds and r.name != name else "")
            cells += [self.target(r), self.verdict(r), f"{r.load:.1f}"]
            print("| " + " | ".join(cells) + " |")

    def arch(self, *args: str) -> Argv:
        return [*self.base, *args]

    def wanted(self, name: str) -> bool:
        only = self.args.only.split(",") if self.args.only else None
        skip = self.args.skip.split(",") if self.args.skip else []
        key = name.split()[0]
        return (only is None or key in only or name in only) and key not in skip and name not in skip

    # -- the table ----------------------------------------------------------------------------------
    def baselines(self, word: str) -> None:
        n = self.args.runs
        self.measure("python -c pass", [[sys.executable, "-c", "pass"]] * n, None, None)
        self.measure("archivist --help", [self.arch("--help")] * n, None, None)
        self.measure(
            f"grep -rli {word}",
            [["grep", "-rli", "--exclude-dir=.archivist", "-e", word, str(self.root)]] * 3,
            None,
            None,
            ok_codes=(0, 1),
            note="(3 runs)",
        )
        plocate = shutil.which("plocate")
        if plocate:
            self.measure(f"plocate -i {word}", [[plocate, "-i", word]] * n, None, None, ok_codes=(0, 1))
        else:
            print(f"{'plocate':<34} not installed here")

    def reading(self, word: str, daemon: bool = False, tag: str = "") -> None:
        """`daemon`: the index is live (the daemon's lock is held, or a daemon runs): no catch-up."""
        n = self.args.runs
        tag = tag or (" (index live)" if daemon else "")
        some = self.codes("following", n) + self.codes("open", n, case=True)
        if self.wanted("show"):
            self.measure(f"show <applicant code>{tag}", [self.arch("show", c) for c in some[:n]], 0.3, 60)
            self.measure(f"show <case code>{tag}", [self.arch("show", c) for c in some[n : 2 * n]], 0.3, 60)
        if self.wanted("search"):
            self.measure(f"search {word}{tag}", [self.arch("search", word)] * n, 0.3, 60)
            if not daemon and (Path(self.checkout) / "archivist" / "index" / "__main__.py").exists():
                config = ["--config", str(Path(self.cfg.path).resolve())] if self.cfg.path else []
                walk = [sys.executable, "-m", "archivist.index", *config, "--root", str(self.root)]
                self.measure(
                    "catch-up walk (background, no change)",
                    [walk] * n,
                    None,
                    None,
                    note="(what a read command leaves to a detached process without a daemon)",
                )
        if self.wanted("due"):
            self.measure(f"due{tag}", [self.arch("due")] * n, 0.3, 60)
            self.measure(f"due --json{tag}", [self.arch("due", "--json")] * n, 0.3, 60)
        if self.wanted("trace"):
            numbers = self._contracts(n)
            self.measure(f"trace <contract>{tag}", [self.arch("trace", c) for c in numbers], 0.3, 60)
        if self.wanted("list"):
            self.measure(f"list | wc -l{tag}", [self.arch("list")] * n, 1.0, None, count_lines=True)
        if self.wanted("status"):
            self.measure(f"status{tag}", [self.arch("status")] * n, None, None)

    def _contracts(self, n: int) -> list[str]:
        import sqlite3

        db = sqlite3.connect(f"file:{self.cfg.index_file}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in db.execute("SELECT contract FROM records WHERE contract IS NOT NULL")]
        finally:
            db.close()
        return self.rng.sample(rows, min(n, len(rows)))

    def writing(self, daemon: bool = False, tag: str = "") -> None:
        n = self.args.runs
        tag = tag or (" (index live)" if daemon else "")
        if self.wanted("register"):
            with self.room_for_new_applicants(n) as made:
                argvs = [
                    self.arch(
                        "register",
                        "--company",
                        f"شرکت آزمون روزانه {i} {os.getpid()}",
                        "--staff",
                        "01",
                        "--mobile",
                        f"0912{self.rng.randrange(10**7):07d}",
                        "--yes",
                    )
                    for i in range(n)
                ]
                self.measure(f"register --yes{tag}", argvs, 0.3, 60)
                made.extend(f"شرکت آزمون روزانه {i} {os.getpid()}" for i in range(n))
        steps: list[tuple[str, str, bool | None, Callable[[str], Argv]]] = [
            ("log --kind call", "following", False, lambda c: self.arch("log", c, "--kind", "call", "--note", "تماس")),
            ("followup", "following", False, lambda c: self.arch("followup", c, "--at", "+2d")),
            ("convert", "following", False, lambda c: self.arch("convert", c, "--service", "1")),
            ("decline", "new", False, lambda c: self.arch("decline", c)),
            ("contract", "open", True, lambda c: self.arch("contract", c)),
            ("invoice", "contracted", True, lambda c: self.arch("invoice", c, "--amount", "1000")),
            ("service", "contracted", True, lambda c: self.arch("service", c, "--note", "ممیزی")),
            ("clear", "in-service", True, lambda c: self.arch("clear", c)),
            ("crm", "cleared", True, lambda c: self.arch("crm", c)),
            ("archive", "crm-done", None, lambda c: self.arch("archive", c)),
            ("reopen", "archived", None, lambda c: self.arch("reopen", c)),
        ]
        for name, stage, case, argv in steps:
            if not self.wanted(name):
                continue
            chosen = self.codes(stage, n, case=case)
            if chosen:
                self.measure(f"{name}{tag}", [argv(c) for c in chosen], 0.3, 60)

    def reports(self) -> None:
        n = self.args.runs
        if self.wanted("export"):
            self.measure(
                "export --format csv", [self.arch("export", "--format", "csv", "-o", str(self.tmp / "m.csv"))] * n, 2.0, 100
            )
            self.measure(
                "export --format xlsx", [self.arch("export", "--format", "xlsx", "-o", str(self.tmp / "m.xlsx"))] * n, 6.0, 100
            )
        if self.wanted("doctor"):
            runs = max(1, self.args.doctor_runs)
            self.measure("doctor --json (nothing changed)", [self.arch("doctor", "--json")] * runs, 10.0, None, ok_codes=(0, 1))
            if self.args.full_doctor:
                cat = cat_command(self.root)
                self.measure(
                    f"cat of every log{' (cold)' if self._drop() else ''}",
                    [["sh", "-c", f"{self._drop()}{cat}"]] * runs,
                    None,
                    None,
                )
                full = self.results[-1].median
                self.measure(
                    f"doctor --full --json{' (cold)' if self._drop() else ''}",
                    [["sh", "-c", f"{self._drop()}exec {' '.join(map(sh, self.arch('doctor', '--full', '--json')))}"]] * runs,
                    2 * full,
                    None,
                    ok_codes=(0, 1),
                    note="(target: 2× the cat above)",
                )

    def _drop(self) -> str:
        if self.args.cold and os.geteuid() == 0 and os.path.exists("/proc/sys/vm/drop_caches"):
            return "sync; echo 3 > /proc/sys/vm/drop_caches; "
        return ""

    # -- register on a full archive -------------------------------------------------------------
    @contextlib.contextmanager
    def room_for_new_applicants(self, n: int) -> Iterator[list[str]]:
        """Set the n highest applicant codes' folders aside and lower the registry by n (a full
        archive refuses every register); afterwards delete what was registered and put everything
        back byte for byte. Only child processes of the checkout under test touch the index (its
        schema may differ from this bench's own archivist)."""
        import json
        import re
        import sqlite3

        registry = self.root / "registry.yaml"
        saved = registry.read_bytes()
        held = self.root.parent / f".{self.root.name}.everyday-held"
        moved: list[tuple[Path, Path]] = []
        made: list[str] = []
        high = int(re.search(rb"^applicant:\s*(\d+)", saved, re.M).group(1))  # type: ignore[union-attr]
        if high + n > 99999:
            db = sqlite3.connect(f"file:{self.cfg.index_file}?mode=ro", uri=True)
            leads = [r[0] for r in db.execute("SELECT lead FROM records WHERE lead > ? ORDER BY lead", (f"{99999 - n:05d}",))]
            db.close()
            for lead in leads:
                out = subprocess.run(
                    self.arch("show", lead, "--json"), env=self.env, cwd=str(self.tmp), capture_output=True, text=True
                )
                if out.returncode == 0:
                    src = Path(json.loads(out.stdout)["path"])
                    dst = held / src.relative_to(self.root)
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(src, dst)
                    moved.append((src, dst))
            registry.write_bytes(re.sub(rb"^applicant:\s*\d+", f"applicant: {99999 - n}".encode(), saved, flags=re.M))
            self.reconcile_index()  # the index forgets the folders set aside (a live one too)
        try:
            yield made
        finally:
            for company in made:
                for folder in (self.root / "applicants").glob(f"{company} - *"):
                    shutil.rmtree(folder)
            for src, dst in moved:
                os.rename(dst, src)
            registry.write_bytes(saved)
            shutil.rmtree(held, ignore_errors=True)
            self.reconcile_index()  # the index learns of it now (untimed), not in the next command measured

    def reconcile_index(self) -> None:
        """Bring the index up to date with what the bench moved, through the checkout under test
        (its schema may differ from this bench's own archivist): its catch-up process when it has
        one (it reconciles even while the daemon's lock is held, as a running daemon would have
        seen the moves), else a read command, which reconciles when no daemon runs."""
        if (Path(self.checkout) / "archivist" / "index" / "__main__.py").exists():
            config = ["--config", str(Path(self.cfg.path).resolve())] if self.cfg.path else []
            argv = [sys.executable, "-m", "archivist.index", *config, "--root", str(self.root)]
        else:
            argv = self.arch("search", "00001")
        self.settle()  # a catch-up already walking would make this one return at once
        subprocess.run(argv, env=self.env, cwd=str(self.tmp), capture_output=True)
        self.settle()

    @contextlib.contextmanager
    def live_index(self) -> Iterator[None]:
        """Hold the daemon's lock, as a running daemon does, without doing its work: the reading
        commands then trust the index as live and skip the catch-up walk. What they cost with the
        daemon running, without a first pass over 100,000 folders (and its CPU) in the way."""
        from archivist.daemon.instance import acquire_lock

        fd = acquire_lock(self.cfg)
        try:
            yield
        finally:
            os.close(fd)

    # -- a daemon ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def daemon(self) -> Iterator[subprocess.Popen[bytes]]:
        from archivist.daemon import running
        from bench.daemon_bench import wait_first_pass

        if running(self.cfg):
            raise SystemExit(f"a daemon already runs for {self.root}; stop it first")
        if self.args.inbox:  # the daily review becomes due at the start: its memory is measured too
            import json

            sched = self.root / ".archivist" / "schedule.json"
            state = json.loads(sched.read_text()) if sched.exists() else {}
            state.pop("review", None)
            sched.write_text(json.dumps(state))
        started = time.monotonic()
        proc = subprocess.Popen(
            [*self.base, "daemon"], stdout=subprocess.DEVNULL, stderr=open(self.tmp / "daemon.err", "wb"), env=self.env
        )  # noqa: SIM115
        try:
            wait_first_pass(self.cfg, proc, 3600)
            print(f"daemon up after {time.monotonic() - started:.1f} s, RSS {rss_mb(proc.pid)[0]:.0f} MB")
            yield proc
        finally:
            cur, hwm = rss_mb(proc.pid)
            print(f"daemon RSS now {cur:.0f} MB, peak (VmHWM) {hwm:.0f} MB   target ≤ 150 MB {'met' if hwm <= 150 else 'MISSED'}")
            self.results.append(Result("daemon peak RSS (VmHWM)", [], hwm, None, 150))
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def inbox(self, proc: subprocess.Popen[bytes], n: int) -> None:
        """n files for n different records dropped at once; seconds until every one is filed."""
        import sqlite3

        db = sqlite3.connect(f"file:{self.cfg.index_file}?mode=ro", uri=True)
        rows = db.execute('SELECT lead, "case" FROM records WHERE status IS NOT NULL AND stale = 0').fetchall()
        db.close()
        picked = self.rng.sample(rows, n)
        inbox = self.root / "inbox"
        names = []
        stage = self.tmp / "drop"
        stage.mkdir(exist_ok=True)
        for i, (lead, case) in enumerate(picked):
            code = case if case and i % 2 else lead
            name = f"{code} everyday-{os.getpid()}-{i}.pdf"
            (stage / name).write_bytes(b"%PDF-1.4 everyday bench\n" * 40)
            names.append(name)
        started = time.perf_counter()
        for name in names:  # renames within one filesystem: "dropped at once"
            os.rename(stage / name, inbox / name)
        dropped = time.perf_counter() - started
        left = set(names)
        deadline = time.monotonic() + 1800
        while left and time.monotonic() < deadline:
            present = {e.name for e in os.scandir(inbox)}
            left &= present
            if not left:
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        settle = self.cfg.daemon.settle_seconds if hasattr(self.cfg.daemon, "settle_seconds") else None
        note = f"{n - len(left)}/{n} filed, dropped in {dropped:.2f} s" + (f", settle {settle} s" if settle else "")
        r = Result(f"inbox: {n} files for {n} records", [seconds], rss_mb(proc.pid)[1], 30.0 + (settle or 0), 150, note)
        self.results.append(r)
        self.show(r)
        if left:
            print(f"  NOT FILED: {len(left)} (e.g. {sorted(left)[:3]})")

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.everyday", description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="a writable archive (a copy: the write commands change it)")
    p.add_argument("--config", help="config.yaml (default: $ARCHIVIST_CONFIG or ./config.yaml)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--doctor-runs", type=int, default=1, help="doctor runs (each is long before the change)")
    p.add_argument("--full-doctor", action="store_true", help="also time doctor --full against a cat of every log")
    p.add_argument(
        "--cold",
        action="store_true",
        help="drop the page cache (root) before cat and doctor --full: slows every process on the machine",
    )
    p.add_argument("--only", help="comma-separated command names to run (show,search,register,…)")
    p.add_argument("--skip", help="comma-separated command names to leave out")
    p.add_argument("--checkout", help="the archivist checkout the child processes run (default: this one)")
    p.add_argument("--word", default="کیمیا", help="the search word (also given to grep and plocate)")
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--daemon", action="store_true", help="also time the reading commands with a daemon running")
    p.add_argument("--live-only", action="store_true", help="only the baselines and the --live-index part")
    p.add_argument(
        "--live-index",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time them holding the daemon's lock, as a running daemon does (the index is live); on by default",
    )
    p.add_argument("--inbox", type=int, default=0, help="with a daemon: drop N files for N records, time the filing")
    args = p.parse_args(argv)
    bench = Bench(args)
    records = sum(1 for a in AREAS if (bench.root / a).is_dir() for _ in os.scandir(bench.root / a))
    print(
        f"archive {bench.root}: {records} record folders; {args.runs} runs each, medians; children run "
        f"{bench.env['PYTHONPATH']} with {sys.executable}"
    )
    precompile(Path(bench.checkout) / "archivist")
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"machine speed at the start: a 10-million-step Python loop in {python_loop_seconds():.2f} s (quiet here: about 0.3 s)")
    # a missing index, or one another version of archivist built, is (re)built now, untimed
    started = time.perf_counter()
    subprocess.run([*bench.base, "search", "00001"], env=bench.env, cwd=str(bench.tmp), check=True, stdout=subprocess.DEVNULL)
    bench.settle()  # that command may have started a catch-up walk (no daemon, big archive)
    print(f"index ready ({time.perf_counter() - started:.1f} s, not timed)")
    try:
        if bench.wanted("baselines"):
            bench.baselines(args.word)
        if not args.live_only:
            bench.reading(args.word)
            bench.writing()
            bench.reports()
        if args.live_index or args.live_only:
            with bench.live_index():
                bench.reading(args.word, daemon=True)
                bench.writing(daemon=True)
        if args.daemon or args.inbox:
            with bench.daemon() as proc:
                bench.reading(args.word, daemon=True, tag=" (daemon running)")
                if args.inbox:
                    bench.inbox(proc, args.inbox)
    finally:
        bench.close()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"machine speed at the end: the loop in {python_loop_seconds():.2f} s")
    bench.summary()
    return 0


def precompile(package: Path) -> None:
    """Byte-compile the checkout under test, as an installed wheel ships it: this environment sets
    PYTHONDONTWRITEBYTECODE=1, so without it every child would compile ~40 modules from source
    (≈ 0.1 s of a 0.4 s command) and the bench would time the compiler."""
    import compileall

    started = time.perf_counter()
    ok = compileall.compile_dir(str(package), quiet=1)
    print(
        f"precompiled {package} (compileall, {time.perf_counter() - started:.1f} s{'' if ok else ', with errors'}); "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r} here, so the .pyc files are read, never written"
    )


if __name__ == "__main__":
    sys.exit(main())
