#!/usr/bin/env bash
# Request counts and times of the commands that read a whole archive, for a bucket (moto) and
# a folder of the same N articles (examples/archive.rs writes them, no LLM; bench/moto_loaded.py
# loads them into moto's memory). The bucket's requests are counted from moto's access log; the
# folder's file opens with strace.
#   bench/archive.sh [N]          (default 100000; figures in bench/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
CACHE="${REWRITER_CACHE:-$HOME/.cache/rewriter}"
MOTO="${REWRITER_MOTO_SERVER:-$CACHE/moto-venv/bin/moto_server}"
WORK="$(mktemp -d)"
PORT=$((20000 + RANDOM % 20000))
trap 'kill $MOTO_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --locked -q --bin rewriter --example archive
BIN=target/debug/rewriter
GEN=target/debug/examples/archive

echo "== generate $N articles"
"$GEN" --articles "$N" --out "$WORK/folder" --index-template "$WORK/index.tsv"
# The same archive loaded into moto's memory, with the cost index a worker writes.
"$(dirname "$MOTO")/python" bench/moto_loaded.py "$PORT" "$WORK/folder" "$WORK/index.tsv" bench news \
    2>"$WORK/moto.log" >/dev/null &
MOTO_PID=$!
until (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; do
    kill -0 $MOTO_PID 2>/dev/null || { cat "$WORK/moto.log"; exit 1; }
    sleep 1
done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1 \
    AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ALLOW_HTTP=true

export REWRITER_PROMPTS="$PWD/prompts" REWRITER_QUEUE="bench.archive" RUST_LOG=warn
requests() { grep -cE '"(GET|PUT|HEAD|POST|DELETE) ' "$WORK/moto.log" || true; }

measure() { # label, then the command's arguments
    local label="$1"; shift
    for out in s3://bench/news "$WORK/folder"; do
        local before after start end opens=""
        before=$(requests)
        start=$(date +%s.%N)
        REWRITER_OUT="$out" "$BIN" "$@" >"$WORK/out-$([[ $out == s3://* ]] && echo bucket || echo folder)" 2>&1 || true
        end=$(date +%s.%N)
        if [[ $out != s3://* ]] && command -v strace >/dev/null; then
            # Counted in a second run: strace slows the first one's clock several times over.
            opens=$(REWRITER_OUT="$out" strace -f -c -e trace=openat -o "$WORK/strace" "$BIN" "$@" \
                >/dev/null 2>&1; awk '$NF=="openat"{print $4}' "$WORK/strace")
        fi
        after=$(requests)
        if [[ $out == s3://* ]]; then
            printf '%-36s bucket  %8s requests  %7.1f s\n' "$label" "$((after - before))" "$(echo "$end - $start" | bc)"
        else
            printf '%-36s folder  %8s opens     %7.1f s\n' "$label" "${opens:-?}" "$(echo "$end - $start" | bc)"
        fi
    done
}

measure "prompts list" prompts list
measure "reprocess --outdated --dry-run" reprocess --outdated --dry-run
measure "cost" cost
# The last command's output on each (cost's tables), to check that both added up every article.
cat "$WORK/out-bucket" "$WORK/out-folder"
