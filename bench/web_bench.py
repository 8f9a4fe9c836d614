"""The web app under load: N simulated staff on loopback against a big archive.

    python -m bench.web_bench --root /path/to/A-COPY-of-the-archive [--users 30] [--rounds 4] [--seconds 240]

It WRITES (each round logs a call), so point it at a copy (`cp -a /work/bench-archive /tmp/copy`).
The server runs as a real `archivist serve` process (uvicorn) on a free loopback port; each
simulated staff member logs in with their own session and then, per round: types a company
fragment letter by letter at a typist's pace (a search goes out when a pause outlasts the search
box's 250 ms debounce, and after the last letter — what htmx does; `--every-key` sends one per
keystroke instead), opens a record from the results, and logs a call on it through the record
page's form.
Bounded by rounds per user and a wall-clock cap.

Prints p50/p95 per request type, both server-side (the app's Server-Timing header: request in →
response out) and as the client saw it, the error count, and the server's RSS (peak, sampled).
Targets (issue 15): search p95 ≤ 100 ms and record page p95 ≤ 150 ms server-side, 0 errors,
RSS ≤ 300 MB. The machine is shared: the client runs on the same cores as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import yaml

from bench.proc import cpu_seconds, rss_mb

PASSWORD = "bench-password-1405"
TARGETS = {"search": 100.0, "record": 150.0}
DEBOUNCE_S = 0.25  # the search box's hx-trigger `input changed delay:250ms`
RSS_TARGET_MB = 300.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_companies(index: Path, n: int, seed: int) -> list[tuple[str, str]]:
    """(company, code) pairs of open records to type, read from the index (read-only)."""
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    rows = db.execute(
        'SELECT company, coalesce("case", lead) FROM records WHERE area < 2 AND status IS NOT NULL '
        "AND company IS NOT NULL ORDER BY random() LIMIT ?",
        (n * 5,),
    ).fetchall()
    db.close()
    random.Random(seed).shuffle(rows)
    return [(c, code) for c, code in rows if len(c.split()) >= 1][:n]


def fragment(company: str) -> str:
    """What someone types to find a company: its most distinctive word, or two."""
    words = [w for w in company.split() if w not in ("شرکت", "گروه", "صنایع", "موسسه", "تولیدی", "بازرگانی")]
    words = words or company.split()
    return " ".join(words[:2])[:14]


class Stats:
    def __init__(self) -> None:
        self.server: dict[str, list[float]] = defaultdict(list)
        self.client: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []

    def add(self, kind: str, r: httpx.Response, started: float, ok: bool) -> None:
        self.client[kind].append((time.perf_counter() - started) * 1000)
        m = re.search(r"app;dur=([\d.]+)", r.headers.get("server-timing", ""))
        if m:
            self.server[kind].append(float(m.group(1)))
        if not ok:
            self.errors[kind] += 1
            if len(self.samples) < 5:
                self.samples.append(f"{kind}: HTTP {r.status_code} {r.text[:160]!r}")


async def staff_member(
    base: str,
    staff: str,
    targets: list[tuple[str, str]],
    stats: Stats,
    rounds: int,
    deadline: float,
    rng: random.Random,
    every_key: bool,
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False) as c:
        page = await c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        t0 = time.perf_counter()
        r = await c.post("/login", data={"staff": staff, "password": PASSWORD, "csrf_token": token})
        stats.add("login", r, t0, r.status_code == 303)
        for i in range(rounds):
            if time.monotonic() > deadline:
                return
            company, code = targets[i % len(targets)]
            typed = fragment(company)
            for n in range(1, len(typed) + 1):
                # the gap before the next key: mostly a typist's 100-220 ms, sometimes a pause
                gap = rng.uniform(0.10, 0.22) if rng.random() < 0.75 else rng.uniform(0.30, 0.80)
                if every_key:
                    gap = max(gap, DEBOUNCE_S)
                if n < 2 or typed[n - 1] == " " or (gap < DEBOUNCE_S and n < len(typed)):
                    await asyncio.sleep(gap)  # htmx's `delay:250ms` is still waiting: no request
                    continue
                await asyncio.sleep(DEBOUNCE_S)
                t0 = time.perf_counter()
                r = await c.get("/", params={"q": typed[:n]}, headers={"HX-Request": "true", "HX-Target": "results"})
                stats.add("search", r, t0, r.status_code == 200)
                await asyncio.sleep(max(0.0, gap - DEBOUNCE_S))
            t0 = time.perf_counter()
            r = await c.get(f"/records/{code}")
            ok = r.status_code == 200
            stats.add("record", r, t0, ok)
            if not ok:
                continue
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
            await asyncio.sleep(rng.uniform(1.0, 2.0))  # reading the record, making the call
            t0 = time.perf_counter()
            r = await c.post(
                f"/records/{code}/actions/log", data={"kind": "call", "note": f"bench call {staff} {i}", "csrf_token": csrf}
            )
            stats.add("log_call", r, t0, r.status_code == 303)
            t0 = time.perf_counter()
            r = await c.get(f"/records/{code}")  # the page after the redirect
            stats.add("record", r, t0, r.status_code == 200)
            await asyncio.sleep(rng.uniform(0.5, 1.5))


async def run_load(
    base: str,
    users: int,
    staff: list[str],
    targets: list[tuple[str, str]],
    rounds: int,
    seconds: float,
    pid: int,
    seed: int,
    every_key: bool,
) -> tuple[Stats, float, float]:
    stats = Stats()
    peak = rss_mb(pid)[0]
    deadline = time.monotonic() + seconds
    per_user = [targets[i::users] or targets for i in range(users)]
    tasks = [
        asyncio.create_task(
            staff_member(base, staff[i % len(staff)], per_user[i], stats, rounds, deadline, random.Random(seed + i), every_key)
        )
        for i in range(users)
    ]
    started = time.monotonic()
    while not all(t.done() for t in tasks):
        peak = max(peak, rss_mb(pid)[0])
        await asyncio.sleep(0.5)
    for t in tasks:
        if t.exception():
            stats.errors["client"] += 1
            stats.samples.append(f"client: {t.exception()!r}")
    return stats, peak, time.monotonic() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="a COPY of the archive (the benchmark logs calls into it)")
    ap.add_argument("--config", help="config.yaml (default: built-in, with root = --root)")
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=4, help="search + open + log a call, per user")
    ap.add_argument("--seconds", type=float, default=300, help="wall-clock cap for the load")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--every-key",
        action="store_true",
        help="worst case: a search for every keystroke (as if each one waited out the debounce)",
    )
    args = ap.parse_args()

    root = Path(args.root).resolve()
    work = Path(tempfile.mkdtemp(prefix="web-bench-"))
    raw = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) if args.config else {}
    raw["root"] = str(root)
    (work / "config.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    from archivist.config import load_config

    cfg = load_config(work / "config.yaml")
    staff = sorted(cfg.staff)
    from archivist.users import hash_password

    digest = hash_password(PASSWORD)
    (work / "users.yaml").write_text(yaml.safe_dump({"users": {s: {"password": digest} for s in staff}}), encoding="utf-8")

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]),
    }
    if not cfg.index_file.exists():
        t = time.monotonic()
        subprocess.run([sys.executable, "-m", "archivist", "--config", str(work / "config.yaml"), "reindex"], check=True, env=env)
        print(f"reindex of the copy: {time.monotonic() - t:.1f} s")
    targets = sample_companies(cfg.index_file, args.users * args.rounds, args.seed)

    port = free_port()
    log = open(work / "serve.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "archivist", "--config", str(work / "config.yaml"), "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t = time.monotonic()
        while True:
            try:
                httpx.get(base + "/login", timeout=2)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() - t > 120:
                    raise SystemExit(f"server did not start; see {work / 'serve.log'}") from None
                time.sleep(0.2)
        # the first request opens (and, with no daemon, reconciles) the index: not part of the load
        with httpx.Client(base_url=base, timeout=600) as c:
            tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)  # type: ignore[union-attr]
            c.post("/login", data={"staff": staff[0], "password": PASSWORD, "csrf_token": tok})
            t = time.monotonic()
            c.get("/", params={"q": "x"})
            print(f"server up; first request (opens the index): {time.monotonic() - t:.1f} s; RSS {rss_mb(proc.pid)[0]:.0f} MB")
        # the same requests by one person alone first: the baseline the load is compared with
        alone, _, _ = asyncio.run(
            run_load(
                base,
                1,
                staff,
                targets[: max(2, args.rounds)],
                max(2, args.rounds),
                args.seconds,
                proc.pid,
                args.seed + 1000,
                args.every_key,
            )
        )
        cpu_before = cpu_seconds(proc.pid)
        stats, peak, wall = asyncio.run(
            run_load(base, args.users, staff, targets, args.rounds, args.seconds, proc.pid, args.seed, args.every_key)
        )
        end_rss = rss_mb(proc.pid)[0]
        cpu_used = cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    print(
        f"\n{args.users} simulated staff, {args.rounds} rounds each, {'every keystroke' if args.every_key else 'htmx debounce'}, "
        f"{wall:.0f} s wall, load average {os.getloadavg()[0]:.1f}, "
        f"{sum(len(v) for v in stats.client.values())} requests"
    )
    print(
        f"{'request':<10} {'n':>5} {'server p50':>11} {'server p95':>11} {'client p50':>11} {'client p95':>11} "
        f"{'target':>8} {'p95/target':>10} {'errors':>6}"
    )
    for kind in ("login", "search", "record", "log_call"):
        s, c = stats.server.get(kind, []), stats.client.get(kind, [])
        target = TARGETS.get(kind)
        ratio = f"{pct(s, 95) / target:.2f}" if target and s else ""
        print(
            f"{kind:<10} {len(c):>5} {pct(s, 50):>9.1f}ms {pct(s, 95):>9.1f}ms {pct(c, 50):>9.1f}ms "
            f"{pct(c, 95):>9.1f}ms {(f'{target:.0f}ms' if target else ''):>8} {ratio:>10} {stats.errors.get(kind, 0):>6}"
        )
    print("\nbaseline: the same kinds of request by one user alone, same server, same minute")
    for kind in ("search", "record", "log_call"):
        a, s_ = alone.server.get(kind, []), stats.server.get(kind, [])
        if a and s_:
            print(
                f"{kind:<10} alone p50 {pct(a, 50):7.1f}ms p95 {pct(a, 95):7.1f}ms · under load p95/alone p95 "
                f"{pct(s_, 95) / max(pct(a, 95), 0.1):.1f}×"
            )
    n = sum(len(v) for v in stats.client.values())
    print(
        f"server CPU: {cpu_used:.1f} s for {n} requests = {cpu_used * 1000 / max(n, 1):.1f} ms per request; "
        f"{cpu_used / max(wall, 0.001):.2f} cores busy on average"
    )
    if stats.server.get("search"):
        print(f"search server mean {statistics.mean(stats.server['search']):.1f} ms, max {max(stats.server['search']):.1f} ms")
    print(f"errors: {sum(stats.errors.values())}" + ("".join(f"\n  {s}" for s in stats.samples)))
    print(
        f"server RSS: peak {peak:.0f} MB, end {end_rss:.0f} MB (target ≤ {RSS_TARGET_MB:.0f} MB; "
        f"ratio {peak / RSS_TARGET_MB:.2f})"
    )
    print(f"(server log: {work / 'serve.log'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
