"""Benchmark the index against plain-file baselines measured on the same tree, in one run.

`python -m bench.run --root PATH [--config CONFIG] [--queries 200] [--grep-sample 8]`

Prints figures and ratios:
- cold `archivist reindex` (no index file) vs reading every log with `cat` (the floor), twice:
  with the page cache warm (cat run just before, then timed, then the reindex at once) and, where
  this process may drop the page cache (root), cold (dropped before each side). Each with its CPU
  seconds, the reindex's own "writing" share (the part its worker processes cannot share), and
  what parsing the same logs with yaml's C loader alone would cost (a sample, scaled);
- no-change refresh of the whole tree (`Index.reconcile`);
- search p50/p95/p99 over mixed queries drawn from the archive (names, typos, Arabic letters,
  codes in Persian digits, numbers, tax IDs, phones in other written forms, notes, file names),
  and `grep -rli` for the same query text (timed on a sample of the queries: each takes seconds);
- index size vs the logs' size; peak RSS of the reindex process and of this one.
Search and grep run with the page cache warm for both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from archivist.config import Config, load_config
from archivist.index import open_index, schema
from archivist.record import LOG_NAME

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
AR = str.maketrans({"ی": "ي", "ک": "ك"})


def logs_size(root: Path) -> tuple[int, int]:
    total = count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".archivist" and d != "inbox"]
        if LOG_NAME in filenames:
            total += os.stat(os.path.join(dirpath, LOG_NAME)).st_size
            count += 1
    return total, count


def timed(cmd: list[str] | str, shell: bool = False, env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    res = subprocess.run(cmd, shell=shell, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if res.returncode not in (0, 1):
        raise SystemExit(f"{cmd!r} failed ({res.returncode}): {res.stderr[-500:]}")
    return elapsed, res.stdout


def cat_command(root: Path) -> str:
    return f"find {sh(str(root))} -name {LOG_NAME} -not -path '*/.archivist/*' -print0 | xargs -0 cat > /dev/null"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_cpu(cmd: list[str] | str, shell: bool = False) -> tuple[float, float, str]:
    """(seconds, CPU seconds of the command and its children, stdout)."""
    before = children_cpu()
    seconds, out = timed(cmd, shell=shell)
    return seconds, children_cpu() - before, out


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only); False when this process may not."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def reindex_vs_cat(root: Path, cfg: Config, base_cmd: list[str], cold: bool) -> dict[str, float] | None:
    """One cat-floor/reindex pair in the same page-cache state; None if a cold one cannot be made."""
    cat = cat_command(root)
    if cold:
        if not drop_page_cache():
            return None
        cat_s, cat_cpu, _ = timed_cpu(cat, shell=True)
    else:
        timed(cat, shell=True)  # warm the page cache; the floor is the best of three after it
        cat_s, cat_cpu, _ = min(timed_cpu(cat, shell=True) for _ in range(3))
    if cold:
        drop_page_cache()
    schema.remove_files(cfg.index_file)
    seconds, cpu, out = timed_cpu([*base_cmd, "reindex", "--json"])
    done = json.loads(out)
    return {
        "cat_s": round(cat_s, 2),
        "cat_cpu_s": round(cat_cpu, 1),
        "reindex_s": round(seconds, 2),
        "reindex_cpu_s": round(cpu, 1),
        "writing_s": done["write_seconds"],
        "ratio": round(seconds / cat_s, 2),
    }


def python_loop_seconds() -> float:
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - start


def print_pair(state: str, pair: dict[str, float]) -> None:
    print(
        f"page cache {state}: cat of every log (floor) {pair['cat_s']:6.2f} s (CPU {pair['cat_cpu_s']} s); "
        f"cold reindex {pair['reindex_s']:6.2f} s = {pair['ratio']:4.1f}x the floor "
        f"(CPU {pair['reindex_cpu_s']} s on {os.cpu_count()} cores; writing the index {pair['writing_s']} s)"
    )


def parse_with_yaml_c_loader(root: Path, count: int, sample: int = 2000) -> float:
    """Seconds yaml.load(CSafeLoader) alone would take for `count` logs, from a sample of them."""
    import yaml

    paths = sorted(root.glob(f"customers/*/{LOG_NAME}"))[:sample] or sorted(root.glob(f"*/*/{LOG_NAME}"))[:sample]
    texts = [p.read_bytes() for p in paths]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    start = time.perf_counter()
    for text in texts:
        yaml.load(text, Loader=loader)  # noqa: S506 - CSafeLoader is the safe loader
    return (time.perf_counter() - start) / max(len(texts), 1) * count


def sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def typo(word: str, rng: random.Random) -> str:
    """One wrong, missing or extra letter, away from the first letter."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    return word[:i] + ("ا" if word[i] != "ا" else "و") + word[i + 1 :]


def make_queries(cfg: Config, n: int, seed: int) -> list[tuple[str, str, str]]:
    """(kind, query, expected lead or '') drawn from the index's own records, deterministically."""
    rng = random.Random(seed)
    with open_index(cfg) as idx:
        rows = [
            dict(r)
            for r in idx.db.execute(
                'SELECT lead, "case", company, contact, contract, invoices, files FROM records '
                "WHERE status IS NOT NULL ORDER BY id"
            )
        ]
    cases = [r for r in rows if r["case"]]
    with_inv = [r for r in cases if r["invoices"]]
    out: list[tuple[str, str, str]] = []
    kinds = [
        "company",
        "company",
        "company-word",
        "typo",
        "arabic",
        "lead",
        "case-fa",
        "contract",
        "invoice",
        "tax_id",
        "phone",
        "email",
        "person",
        "note",
        "file",
    ]
    import json

    notes = ["پیش\u200cفاکتور", "تماس", "بازدید", "هیئت مدیره", "portfolio", "ممیزی"]
    files = ["گواهینامه", "technical file", "قرارداد", "audit report", "کاتالوگ"]
    while len(out) < n:
        kind = kinds[len(out) % len(kinds)]
        r = rng.choice(rows)
        contact = (r["contact"] or "").split("\x1f") + [""] * 6
        if kind == "company":
            out.append((kind, r["company"], r["lead"]))
        elif kind == "company-word":
            words = [w for w in r["company"].split() if len(w) >= 4]
            out.append((kind, rng.choice(words) if words else r["company"], ""))
        elif kind == "typo":
            words = sorted(r["company"].split(), key=len)
            out.append((kind, " ".join(typo(w, rng) if w == words[-1] else w for w in r["company"].split()), r["lead"]))
        elif kind == "arabic":
            out.append((kind, r["company"].translate(AR), r["lead"]))
        elif kind == "lead":
            out.append((kind, r["lead"], r["lead"]))
        elif kind == "case-fa" and cases:
            c = rng.choice(cases)
            out.append((kind, c["case"].translate(FA), c["lead"]))
        elif kind == "contract" and cases:
            c = rng.choice([x for x in cases if x["contract"]] or cases)
            out.append((kind, c["contract"] or c["case"], c["lead"]))
        elif kind in ("invoice", "tax_id") and with_inv:
            c = rng.choice(with_inv)
            inv = json.loads(c["invoices"])[0]
            value = inv[0] if kind == "invoice" or not inv[1] else inv[1]
            out.append((kind, value, c["lead"]))
        elif kind == "phone" and contact[2]:
            digits = "".join(ch for ch in contact[2].translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")) if ch.isdigit())
            if digits.startswith("0098"):
                digits = "0" + digits[4:]
            elif digits.startswith("98"):
                digits = "0" + digits[2:]
            form = rng.choice([digits, "+98 " + digits[1:4] + " " + digits[4:7] + " " + digits[7:], digits.translate(FA)])
            out.append((kind, form, ""))
        elif kind == "email" and contact[5]:
            out.append((kind, contact[5], ""))
        elif kind == "person" and contact[0]:
            out.append((kind, contact[0], ""))
        elif kind == "note":
            out.append((kind, rng.choice(notes), ""))
        elif kind == "file":
            out.append((kind, rng.choice(files), ""))
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True)
    p.add_argument("--config", help="config.yaml (default: the usual lookup)")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--grep-sample", type=int, default=8, help="how many of the queries to time with grep -rli")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--no-reindex",
        dest="reindex",
        action="store_false",
        help="keep the existing index: measure refresh, search and grep only (e.g. to repeat them)",
    )
    args = p.parse_args(argv)
    cfg = load_config(args.config, root=args.root)
    root = cfg.root
    base_cmd = [sys.executable, "-m", "archivist", "--root", str(root)]
    if args.config:
        base_cmd[3:3] = ["--config", args.config]

    size, count = logs_size(root)
    print(f"archive: {root}: {count} logs, {size / 1e6:.1f} MB of logs")
    print(
        f"this machine now: a 10-million-step Python loop takes {python_loop_seconds():.2f} s "
        "(compare runs by it: shared machines vary)"
    )

    summary: dict[str, Any] = {"records": count, "logs_mb": round(size / 1e6, 1)}
    if args.reindex:
        warm = reindex_vs_cat(root, cfg, base_cmd, cold=False)
        assert warm is not None
        print_pair("warm", warm)
        c_loader = parse_with_yaml_c_loader(root, count)
        print(f"  for scale: yaml's C loader alone would parse these logs in ~{c_loader:.0f} s of one core")
        summary.update(
            cat_s=warm["cat_s"],
            reindex_s=warm["reindex_s"],
            reindex_vs_cat=warm["ratio"],
            reindex_writing_s=warm["writing_s"],
            yaml_c_loader_s=round(c_loader),
        )
    rss_reindex = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    with open_index(cfg) as idx:
        start = time.perf_counter()
        result = idx.reconcile()
        refresh = time.perf_counter() - start
        print(f"no-change refresh of all:       {refresh:8.2f} s   ({result})")
        index_bytes = idx.stats()["index_bytes"]

    queries = make_queries(cfg, args.queries, args.seed)
    times: list[float] = []
    found = expected = 0
    with open_index(cfg) as idx:
        for _kind, q, _lead in queries[:20]:
            idx.search(q, limit=50)  # warm the page cache like a running TUI would be
        for _kind, q, lead in queries:
            start = time.perf_counter()
            hits = idx.search(q, limit=50)
            times.append(time.perf_counter() - start)
            if lead:
                expected += 1  # ties (the same company registered twice) count if it is among the best
                found += bool(hits) and lead in [h["lead"] for h in hits if h["score"] == hits[0]["score"]]
    p50, p95, p99 = (pct(times, x) * 1000 for x in (50, 95, 99))
    print(
        f"search over {len(queries)} mixed queries:  p50 {p50:.2f} ms  p95 {p95:.2f} ms  p99 {p99:.2f} ms  "
        f"max {max(times) * 1000:.2f} ms"
    )
    print(f"  expected record ranked first (or tied first): {found}/{expected}")

    rng = random.Random(args.seed)
    sample = rng.sample(queries, min(args.grep_sample, len(queries)))
    grep_times = []
    for _kind, q, _lead in sample:
        t, _ = timed(["grep", "-rli", "--exclude-dir=.archivist", "-e", q, str(root)])
        grep_times.append(t)
    g50 = statistics.median(grep_times) * 1000
    print(
        f"grep -rli, {len(sample)} of the same queries: median {g50:.0f} ms  min {min(grep_times) * 1000:.0f} ms  "
        f"max {max(grep_times) * 1000:.0f} ms"
    )
    print(
        f"  search vs grep: p50 {g50 / p50:,.0f}x faster, p95 {g50 / p95:,.0f}x faster "
        f"(grep's fastest vs search p95: {min(grep_times) * 1000 / p95:,.0f}x)"
    )

    print(f"index size:                     {index_bytes / 1e6:8.1f} MB = {100 * index_bytes / size:.1f}% of the logs")
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak RSS: reindex (largest process) {rss_reindex:.0f} MB; search process {rss_self:.0f} MB"
        if args.reindex
        else f"peak RSS: search process {rss_self:.0f} MB"
    )
    summary.update(
        {
            "refresh_s": round(refresh, 2),
            "search_p50_ms": round(p50, 2),
            "search_p95_ms": round(p95, 2),
            "search_p99_ms": round(p99, 2),
            "grep_median_ms": round(g50),
            "grep_vs_p95": round(g50 / p95),
            "index_mb": round(index_bytes / 1e6, 1),
            "index_pct_of_logs": round(100 * index_bytes / size, 1),
            "rss_reindex_mb": round(rss_reindex),
            "rss_search_mb": round(rss_self),
        }
    )
    if args.reindex:  # last: an empty page cache would slow every measurement after it
        cold = reindex_vs_cat(root, cfg, base_cmd, cold=True)
        if cold is None:
            print("page cache cold: not measured (dropping the page cache needs root)")
        else:
            print_pair("cold", cold)
        summary["reindex_cold_cache"] = cold
    print("summary:", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
