"""The reports at 100,000 records, each as a whole process, beside plain-tool baselines.

    python -m bench.reports --root COPY [--config config.yaml] [--runs 5] [--only list,due,export,doctor]
                            [--cold] [--no-live]

Times `list | wc -l`, `due`, `due | head` (the first screen), `due --json`, `due --staff 01`,
`list --json`, `export` CSV and XLSX, `doctor --json` with nothing changed and `doctor --full
--json`, `--runs` times each as `python -m archivist …` from this checkout; printed per command:
median wall seconds, median CPU seconds (user+sys of the process and its children, from wait4),
peak RSS (largest of the runs), the target of issue 17 and the ratio to the baseline measured in
the same run: `python -c pass` and `archivist --help` for the reading commands. Each `doctor --full`
run is paired with a `cat` of every log in the same page-cache state, as bench.run pairs the
reindex: warm (cache filled by a cat, then the timed cat and the timed doctor) and, with `--cold`
as root, also cold (the page cache dropped before each side); each pair's ratio is printed, then
the medians (the target: ≤ 2× the cold cat). The checkout is byte-compiled first (this environment
sets PYTHONDONTWRITEBYTECODE=1). The load average is printed with each line: on a shared machine
wall times follow the load, CPU seconds and peak RSS much less.

Unless `--no-live`, the reading commands run while this bench holds the daemon's lock, as a
running daemon does (the index is trusted as live, no catch-up walk: what the commands cost with
the daemon running). Doctor always runs without it (it refuses nothing, but a daemon would be
checking folders too). The archive is not changed, except the index's doctor memory and the
export files written into a temporary folder; run it on a copy anyway
(`cp -a /work/bench-archive COPY`), since a rebuild of the index may be needed first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from archivist.config import Config, load_config
from bench.everyday import precompile
from bench.run import cat_command, drop_page_cache

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Runs:
    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    loads: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")


def run_once(
    argv: list[str], env: dict[str, str], cwd: str, pipe: bool = False, head: int = 0
) -> tuple[float, float, float, int]:
    """(wall s, user+sys CPU s, peak RSS MB, exit code) of one process; `pipe` reads its stdout
    as `| wc -l` would, `head` closes the pipe after that many lines as `| head` does."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE if pipe or head else subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd
    )
    if proc.stdout is not None:
        lines = 0
        while chunk := proc.stdout.read(1 << 16):
            lines += chunk.count(b"\n")
            if head and lines >= head:
                break
        proc.stdout.close()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg: Config = load_config(args.config, root=args.root)
        self.root = self.cfg.root
        self.tmp = Path(tempfile.mkdtemp(prefix="reports-"))
        self.checkout = Path(args.checkout).resolve() if args.checkout else ROOT
        self.env = dict(os.environ, PYTHONPATH=str(self.checkout), ARCHIVIST_STAFF="01")
        self.env.pop("ARCHIVIST_NOW", None)
        config = ["--config", str(Path(self.cfg.path).resolve())] if self.cfg.path else []
        self.base = [sys.executable, "-m", "archivist", *config, "--root", str(self.root)]
        self.baseline: dict[str, float] = {}

    def arch(self, *args: str) -> list[str]:
        return [*self.base, *args]

    def wanted(self, key: str) -> bool:
        return not self.args.only or key in self.args.only.split(",")

    def measure(
        self,
        name: str,
        argv: list[str],
        runs: int,
        target_s: float | None = None,
        target_mb: float | None = None,
        against: str | None = None,
        pipe: bool = False,
        head: int = 0,
        ok: tuple[int, ...] = (0,),
    ) -> Runs:
        r = Runs(name)
        for _ in range(runs):
            self.once(r, argv, ok, pipe=pipe, head=head)
        self.show(r, target_s, target_mb, against)
        return r

    def show(self, r: Runs, target_s: float | None, target_mb: float | None, against: str | None) -> None:
        target = ""
        verdict = ""
        if target_s is not None:
            target = f"≤ {target_s:g} s" + (f", ≤ {target_mb:g} MB" if target_mb else "")
            verdict = "met" if r.median <= target_s and (target_mb is None or r.peak_mb <= target_mb) else "MISSED"
        ratio = ""
        if against and self.baseline.get(against):
            ratio = f"{r.median / self.baseline[against]:6.1f}× {against}"
        print(
            f"{r.name:<34} {r.median:7.2f} s {r.cpu_median:6.2f} s CPU {r.peak_mb:5.0f} MB  "
            f"{target:<17} {verdict:<6} {ratio:<24} load {statistics.median(r.loads):4.1f}  "
            f"[{' '.join(f'{w:.2f}' for w in r.wall)}]",
            flush=True,
        )

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        """Hold the daemon's lock as a running daemon does (without doing its work)."""
        if self.args.no_live:
            yield
            return
        from archivist.daemon.instance import acquire_lock

        fd = acquire_lock(self.cfg)
        try:
            yield
        finally:
            os.close(fd)

    def run(self) -> None:
        n = self.args.runs
        started = time.perf_counter()
        subprocess.run(self.arch("search", "00001"), env=self.env, cwd=str(self.tmp), stdout=subprocess.DEVNULL, check=True)
        print(f"index ready ({time.perf_counter() - started:.1f} s, not timed)")
        pass_ = self.measure("python -c pass", [sys.executable, "-c", "pass"], n)
        helped = self.measure("archivist --help", self.arch("--help"), n)
        self.baseline = {"python -c pass": pass_.median, "--help": helped.median}
        with self.live():
            tag = "" if self.args.no_live else " (index live)"
            if self.wanted("list"):
                self.measure(f"list | wc -l{tag}", self.arch("list"), n, 1.0, 100, "--help", pipe=True)
                self.measure(f"list --json{tag}", self.arch("list", "--json"), n, None, None, "--help", pipe=True)
            if self.wanted("due"):
                self.measure(f"due{tag}", self.arch("due"), n, 0.3, 60, "--help", pipe=True)
                self.measure(f"due | head -40{tag}", self.arch("due"), n, 0.3, 60, "--help", head=40)
                self.measure(f"due --staff 01{tag}", self.arch("due", "--staff", "01"), n, 0.3, 60, "--help", pipe=True)
                self.measure(f"due --json{tag}", self.arch("due", "--json"), n, None, None, "--help", pipe=True)
            if self.wanted("export"):
                csv_ = self.arch("export", "--format", "csv", "-o", str(self.tmp / "m.csv"))
                xlsx = self.arch("export", "--format", "xlsx", "-o", str(self.tmp / "m.xlsx"))
                self.measure(f"export csv{tag}", csv_, n, 2.0, 100, "--help")
                self.measure(f"export xlsx{tag}", xlsx, n, 6.0, 100, "--help")
        if self.wanted("doctor"):
            self.doctor()

    def doctor(self) -> None:
        """doctor with nothing changed, then `doctor --full` each run paired with a `cat` of every
        log in the same page-cache state (as bench.run pairs the reindex): warm (a cat to fill the
        cache, the timed cat, the timed doctor at once) and, with --cold as root, cold (the cache
        dropped before each side). The target is against the cold cat."""
        d = max(1, self.args.doctor_runs)
        # the first run may build doctor's memory of clean folders: not timed
        subprocess.run(self.arch("doctor", "--json"), env=self.env, cwd=str(self.tmp), stdout=subprocess.DEVNULL)
        self.measure("doctor --json (nothing changed)", self.arch("doctor", "--json"), d, 10.0, None, None, ok=(0, 1))
        states = ["warm"]
        if self.args.cold:
            if drop_page_cache():
                states.append("cold")
            else:
                print("page cache cold: not measured (dropping the page cache needs root)")
        full = self.arch("doctor", "--full", "--json")
        for state in states:
            cat, doc = Runs(f"cat of every log ({state})"), Runs(f"doctor --full --json ({state})")
            ratios = []
            for k in range(d):
                if state == "cold":
                    drop_page_cache()
                else:
                    run_once(["sh", "-c", cat_command(self.root)], self.env, str(self.tmp))  # fills the cache
                c = self.once(cat, ["sh", "-c", cat_command(self.root)])
                if state == "cold":
                    drop_page_cache()
                t = self.once(doc, full, ok=(0, 1))
                ratios.append(t / c)
                print(
                    f"  pair {k + 1} ({state}): cat {c:6.2f} s, doctor --full {t:7.2f} s = {t / c:5.1f}× its cat "
                    f"(CPU {cat.cpu[-1]:.1f} / {doc.cpu[-1]:.1f} s; load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
            self.baseline[f"{state} cat"] = cat.median
            self.show(cat, None, None, None)
            self.show(doc, 2 * cat.median if state == "cold" else None, None, f"{state} cat")
            print(f"  doctor --full / its own cat ({state}), median of the pairs: {statistics.median(ratios):.1f}×", flush=True)

    def once(self, into: Runs, argv: list[str], ok: tuple[int, ...] = (0,), pipe: bool = False, head: int = 0) -> float:
        wall, cpu, mb, code = run_once(argv, self.env, str(self.tmp), pipe=pipe, head=head)
        if code not in ok and not (head and code in (-13, 1, 120)):  # SIGPIPE / broken pipe after head
            print(f"  {into.name}: exit {code}")
        into.wall.append(wall)
        into.cpu.append(cpu)
        into.peak_mb = max(into.peak_mb, mb)
        into.loads.append(os.getloadavg()[0])
        return wall

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.reports", description=(__doc__ or "").splitlines()[0])
    p.add_argument("--root", required=True)
    p.add_argument("--config", help="config.yaml (default: $ARCHIVIST_CONFIG or ./config.yaml)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--doctor-runs", type=int, default=3)
    p.add_argument("--only", help="comma-separated: list,due,export,doctor")
    p.add_argument("--cold", action="store_true", help="drop the page cache before each cat and doctor --full (root)")
    p.add_argument("--no-live", action="store_true", help="do not hold the daemon's lock (commands catch up first)")
    p.add_argument(
        "--checkout",
        help="the archivist checkout the timed processes run (default: this one), e.g. an older commit for a before/after "
        "table; give it a config whose state_dir holds an index of that version",
    )
    args = p.parse_args(argv)
    bench = Bench(args)
    precompile(bench.checkout / "archivist")
    print(f"archive {bench.root}; archivist from {bench.checkout}; {args.runs} runs, medians; {os.cpu_count()} cores", flush=True)
    try:
        bench.run()
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
