#!/usr/bin/env bash
# A text summary of a bench profile: bench/perf-summary.sh PERF_DATA JOBS > bench/perf-….txt
# (the bench's --perf FILE records the worker over the measured window; JOBS is its --jobs).
set -eu
data=$1 jobs=$2
here=$(cd "$(dirname "$0")" && pwd)
echo "# perf report of the worker over the measured window (cpu-clock, 999 Hz, DWARF call graphs), release build (fat LTO)"
echo "# $(basename "$data"), $jobs jobs"
echo "# CPU per job by part (bench/breakdown.py):"
perf script -i "$data" 2>/dev/null > "$data.txt"
python3 "$here/breakdown.py" "$data.txt" "$jobs"
rm -f "$data.txt"
echo "# by library:"
perf report -i "$data" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
echo "# system calls (inclusive):"
perf report -i "$data" --children --sort sym -g none 2>/dev/null | grep '__x64_sys' | head -14
echo "# functions (inclusive), ours and our dependencies':"
perf report -i "$data" --children --sort sym -g none 2>/dev/null | grep '\[\.\]' \
    | grep -v -E '\[\.\] (0x[0-9a-f]+$|std::|core::|alloc::|__|_start|main$|start_thread|clone)|\(inlined\)' \
    | head -50 | cut -c1-150 || true
