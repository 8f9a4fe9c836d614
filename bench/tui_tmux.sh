#!/usr/bin/env bash
# Drive the real `archivist tui` in a real terminal (tmux): generate an archive, start the TUI,
# type a query, open the first record, and capture each screen as text.
#
#   bash bench/tui_tmux.sh [RECORDS] [OUT_DIR]     (default 2000 records; captures in $TMPDIR/archivist-tui-captures)
#
# Exits non-zero when a screen does not show what it should (results for the query, the record's
# header), so it doubles as a smoke test of the installed entry point.
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-2000}"
out="${2:-${TMPDIR:-/tmp}/archivist-tui-captures}"
mkdir -p "$out"
work="$(mktemp -d)"
session="archivist-tui-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT

{ grep -v "^root:" config.yaml; echo "root: $work/archive"; } >"$work/config.yaml"
python3 -m bench.generate --records "$records" --root "$work/archive" --config "$work/config.yaml" >/dev/null

wait_for() {  # wait_for TEXT FILE: poll the pane until TEXT shows (10 s), saving the capture to FILE
  for _ in $(seq 100); do
    tmux capture-pane -t "$session" -p >"$1.tmp"
    if grep -qF -- "$2" "$1.tmp"; then mv "$1.tmp" "$1"; return 0; fi
    sleep 0.1
  done
  mv "$1.tmp" "$1"; echo "timed out waiting for '$2'; screen was:" >&2; cat "$1" >&2; return 1
}

tmux new-session -d -s "$session" -x 100 -y 30 \
  "cd '$work' && ARCHIVIST_STAFF=01 TERM=xterm-256color archivist --config '$work/config.yaml' tui; sleep 60"
wait_for "$out/1-start.txt" "type to search"
start=$(date +%s.%N)
tmux send-keys -t "$session" -l "پارس"
wait_for "$out/2-search.txt" "records ·"
echo "results for 'پارس' after $(python3 -c "print(round(($(date +%s.%N) - $start) * 1000))") ms (includes polling)"
tmux send-keys -t "$session" Enter
wait_for "$out/3-record.txt" "registered"  # the first event: the timeline has loaded
tmux send-keys -t "$session" F3
wait_for "$out/4-my-day.txt" "daemon"
tmux send-keys -t "$session" C-q
for f in "$out"/[1-4]-*.txt; do echo "=== $f"; cat "$f"; done

# `archivist start` at the built-in default root (a config.yaml with no root:, as the repo's),
# which does not exist yet: it must create the archive, start the daemon and open the TUI. (A
# root: set in the config is refused when it holds no archive: only init creates one there.)
mkdir -p "$work/office"
fresh="$work/office/archive"
grep -v "^root:" "$work/config.yaml" >"$work/office/config.yaml"
tmux kill-session -t "$session" 2>/dev/null || true
tmux new-session -d -s "$session" -x 100 -y 30 \
  "cd '$work/office' && ARCHIVIST_STAFF=01 archivist --config '$work/office/config.yaml' start; sleep 60"
wait_for "$out/5-start.txt" "type to search"
test -f "$fresh/registry.yaml" && test -d "$fresh/applicants" || { echo "start did not create the archive" >&2; exit 1; }
pid=$(python3 -c "from archivist.config import load_config; from archivist import daemon; print(daemon.running(load_config('$work/office/config.yaml')) or '')")
tmux send-keys -t "$session" C-q
if [ -n "$pid" ]; then echo "archivist start: archive created, daemon running (pid $pid), TUI open"; kill "$pid"; else
  echo "archivist start: archive created, TUI open, but no daemon is running" >&2; exit 1; fi
