"""A no-change monthly backup vs plain `rsync -a` of the same tree to the same disk.

`python -m bench.backup_bench --root PATH --target PATH [--mirror PATH] [--rounds N] [--config C]`

Both are primed first (the snapshot target gets a first full snapshot, the mirror a first full
copy), then each round times, back to back on the unchanged archive:
  - archivist: `backup.run_backup` — a new dated snapshot, every file a hard link (--link-dest),
    plus the guards, the marker, the records and `latest`;
  - plain: `rsync -a ROOT/ MIRROR/` into the primed mirror (the baseline the issue names), with
    archivist's filter (.archivist/ out, its outbox in) so both copy the same files;
  - bare link-dest: `rsync -a --link-dest=PREV ROOT/ NEW/` by hand, to show how much of the gap is
    the snapshot design itself (a fresh tree of links) and how much is archivist's own overhead.
Medians are compared; target: archivist ≤ 1.2 × plain.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from archivist import backup
from archivist.config import load_config


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    os.sync()  # start each measurement with no dirty pages left over from the previous one
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# the same file set archivist backs up (derived .archivist/ left out, its outbox kept), so a
# concurrently rebuilt index.sqlite does not inflate the baselines
SAME_TREE = (*backup.INCLUDES, *(f"--exclude={e}" for e in backup.EXCLUDES))


def rsync(*args: str) -> None:
    subprocess.run(["rsync", *SAME_TREE, *args], check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="the archive to back up (e.g. from bench.generate)")
    p.add_argument("--target", required=True, help="snapshot target (created and marked if needed)")
    p.add_argument("--mirror", help="plain rsync destination (default: <target>.plain-rsync)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--config")
    p.add_argument("--keep-snapshots", action="store_true", help="leave the bench snapshots on the target")
    args = p.parse_args(argv)

    cfg = load_config(args.config, root=args.root)
    target = Path(args.target).resolve()
    mirror = Path(args.mirror).resolve() if args.mirror else target.with_name(target.name + ".plain-rsync")
    bare = target.with_name(target.name + ".bare-link-dest")
    target.parent.mkdir(parents=True, exist_ok=True)
    backup.init_target(cfg, target)
    records = backup.count_records(cfg)
    files = sum(len(f) for _, _, f in os.walk(cfg.root))
    print(f"archive {cfg.root}: {records:,} records, {files:,} files; target {target}; mirror {mirror}")

    had_snapshot = backup.latest_complete(target) is not None
    primed: dict = {}
    t_prime = timed(lambda: primed.update(backup.run_backup(cfg, target)))
    t_prime_plain = timed(lambda: rsync("-a", f"{cfg.root}/", str(mirror)))
    print(f"primed: first snapshot {t_prime:.1f} s, first plain copy {t_prime_plain:.1f} s")

    ours: list[float] = []
    plain: list[float] = []
    bare_times: list[float] = []
    made: list[str] = [primed["snapshot"]] if had_snapshot else []  # a re-prime is removed at the end too
    for i in range(args.rounds):
        summary = {}
        ours.append(timed(lambda: summary.update(backup.run_backup(cfg, target))))  # noqa: B023
        made.append(summary["snapshot"])
        plain.append(timed(lambda: rsync("-a", f"{cfg.root}/", str(mirror))))
        shutil.rmtree(bare, ignore_errors=True)
        link_dest = f"--link-dest={target / made[-1]}"
        bare_times.append(timed(lambda: rsync("-a", link_dest, f"{cfg.root}/", str(bare))))  # noqa: B023
        print(
            f"round {i + 1}: archivist {ours[-1]:.2f} s ({summary['copied_files']} copied, "
            f"{summary['files']:,} files linked), plain rsync -a {plain[-1]:.2f} s, "
            f"bare rsync --link-dest {bare_times[-1]:.2f} s"
        )

    m_ours, m_plain, m_bare = (statistics.median(x) for x in (ours, plain, bare_times))
    print(f"median: archivist {m_ours:.2f} s, plain rsync -a {m_plain:.2f} s, bare --link-dest {m_bare:.2f} s")
    print(f"ratio archivist / plain rsync -a = {m_ours / m_plain:.2f}x (target <= 1.2x)")
    print(f"ratio archivist / bare rsync --link-dest = {m_ours / m_bare:.2f}x (archivist's own overhead)")
    shutil.rmtree(bare, ignore_errors=True)
    if not args.keep_snapshots:
        for name in made:
            backup._discard(target, target / name)
        kept = backup.latest_complete(target)
        if kept:
            backup._set_latest(target, kept.name)
        print(f"removed the {len(made)} bench snapshots (the primed one and {mirror} stay for the next run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
