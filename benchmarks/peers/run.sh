#!/usr/bin/env bash
# The peer benchmark: the same agent-loop workload on Rewind (SQLite) and on LangGraph with its
# SQLite checkpointer, in one run, then a table of the figures and their ratios.
#
#   benchmarks/peers/run.sh [SIZES]     # SIZES defaults to 10,100,1000
#
# Each size runs PEERS_REPETITIONS times (default 5) on each side, each time on a new file, and
# the table shows the medians; PEERS_FORMAT=--markdown prints it as a Markdown table.
#
# It creates a Python virtual environment under .build/peers-venv and installs LangGraph and
# langgraph-checkpoint-sqlite from PyPI into it (once), and builds rewind-bench in release mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes="${1:-10,100,1000}"
repetitions="${PEERS_REPETITIONS:-5}"
venv=.build/peers-venv
if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv and installing LangGraph from PyPI" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet langgraph langgraph-checkpoint-sqlite
fi
out=$(mktemp -d)
# REWIND_BENCH_SCRATCH: another build folder (e.g. .build-release), so that a debug build in
# .build is not rebuilt or locked.
scratch="${REWIND_BENCH_SCRATCH:-.build}"
echo "== building rewind-bench (release, in $scratch)" >&2
swift build -c release --product rewind-bench --scratch-path "$scratch" >&2
bench="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/rewind-bench"
echo "== Rewind: agent loop, N = $sizes, $repetitions repetitions" >&2
"$bench" --peer-workload "$sizes" --repetitions "$repetitions" > "$out/rewind.json"
echo "== LangGraph: agent loop, N = $sizes, $repetitions repetitions (N = 1,000 takes minutes)" >&2
"$venv/bin/python" benchmarks/peers/langgraph_agent_loop.py "$sizes" "$repetitions" > "$out/langgraph.json"
python3 benchmarks/peers/compare.py "$out/rewind.json" "$out/langgraph.json" "${PEERS_FORMAT:---text}"
echo "(raw results: $out)" >&2
