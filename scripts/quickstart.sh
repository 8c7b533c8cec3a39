#!/usr/bin/env bash
# From a fresh clone to articles, in one command:
#
#   scripts/quickstart.sh [--keep-llm] [HEADLINES.ndjson]   (default: examples/headlines.ndjson)
#
# Builds rewriter, makes sure RabbitMQ runs on this machine, picks an LLM, enqueues the
# headlines on a queue of its own (rewriter.quickstart, so that no other worker on this machine
# takes its jobs; REWRITER_QUEUE overrides it) and runs one worker until the queue is drained.
# Articles land in $REWRITER_OUT (default ./content). The LLM is yours when OPENAI_BASE_URL or
# OPENAI_API_KEY is set; otherwise a local llama.cpp server with SmolLM2-135M is built and
# started (scripts/local-llm.sh; the first build takes 10-15 minutes on 2 cores, later runs
# seconds), and stopped again at the end unless --keep-llm is given.
#
# It ends by saying what happened to every job, and exits 0 only when every headline became an
# article: 1 when a line was rejected, a job was dead-lettered or taken by another consumer, or
# no article was written; 2 on a bad command line; 3 when rewriter could not run at all.
# REWRITER_BIN=path/to/rewriter uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

keep_llm=0
input=""
for arg in "$@"; do
    case "$arg" in
        --keep-llm) keep_llm=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "quickstart: unknown option $arg (see --help)" >&2; exit 2 ;;
        *) [[ -z "$input" ]] || { echo "quickstart: one headlines file at most" >&2; exit 2; }
           input="$arg" ;;
    esac
done
input="${input:-examples/headlines.ndjson}"
say() { printf '\n==> %s\n' "$*"; }

if [[ -n "${REWRITER_BIN:-}" ]]; then
    bin="$REWRITER_BIN"
    say "using $bin"
else
    say "building rewriter (release)"
    cargo build --release --locked --quiet
    bin=target/release/rewriter
fi

say "checking RabbitMQ on ${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
if [[ -z "${AMQP_URL:-}" ]] && command -v rabbitmqctl >/dev/null 2>&1; then
    if ! rabbitmqctl -q status >/dev/null 2>&1; then
        echo "starting RabbitMQ (rabbitmq-server -detached)"
        rabbitmq-server -detached
        rabbitmqctl -q await_startup --timeout 120
    fi
elif [[ -z "${AMQP_URL:-}" ]]; then
    echo "no rabbitmqctl here: install RabbitMQ (apt-get install rabbitmq-server) or run" >&2
    echo "'docker compose up -d rabbitmq' and set AMQP_URL=amqp://rewriter:rewriter@127.0.0.1:5672/%2f" >&2
fi

if [[ -z "${OPENAI_BASE_URL:-}" && -z "${OPENAI_API_KEY:-}" ]]; then
    say "no OPENAI_BASE_URL or OPENAI_API_KEY: using a local llama.cpp server with SmolLM2-135M"
    if ! bash scripts/local-llm.sh status >/dev/null 2>&1; then
        if (( keep_llm )); then
            echo "(--keep-llm: the server keeps running afterwards; stop it with: scripts/local-llm.sh stop)"
        else
            # Started here, so stopped here, however the script ends.
            trap 'say "stopping the local llama.cpp server (keep it next time with --keep-llm)"; bash scripts/local-llm.sh stop' EXIT
        fi
    else
        echo "(the server was already running; it is left running: scripts/local-llm.sh stop stops it)"
    fi
    eval "$(bash scripts/local-llm.sh start)"
    # A model this small keeps to small schemas (v3: four calls, one per section), not to one
    # large one (v4); a version set by the caller wins. prompts/CHANGELOG.md has the figures.
    export REWRITER_PROMPT_VERSION="${REWRITER_PROMPT_VERSION:-3}"
    cat <<'NOTE'
SmolLM2-135M is a very small model: expect its articles to be saved as drafts (draft: true,
with the reasons under ai.flags), not published. For publishable text point rewriter at a real
provider or a bigger model, e.g.
  OPENAI_API_KEY=sk-... scripts/quickstart.sh                       (OpenAI)
  OPENAI_BASE_URL=http://127.0.0.1:11434/v1 REWRITER_MODEL=llama3.1 scripts/quickstart.sh   (Ollama)
NOTE
else
    say "using the LLM at ${OPENAI_BASE_URL:-https://api.openai.com/v1}"
fi

export REWRITER_OUT="${REWRITER_OUT:-./content}"
export REWRITER_QUEUE="${REWRITER_QUEUE:-rewriter.quickstart}"
say "enqueueing $input on $REWRITER_QUEUE"
set +e
enqueue_out=$("$bin" enqueue "$input")
enqueue_status=$?
set -e
printf '%s\n' "$enqueue_out"
if (( enqueue_status > 1 )); then
    echo "quickstart: rewriter enqueue failed (exit $enqueue_status); nothing was done" >&2
    exit "$enqueue_status"
fi
enqueued=$(sed -n 's/^enqueued \([0-9]*\) job(s).*/\1/p' <<<"$enqueue_out")
enqueued=${enqueued:-0}

say "running a worker until the queue is drained"
marker=$(mktemp)
started=$(date +%s)
set +e
worker_out=$("$bin" worker --exit-when-idle)
worker_status=$?
set -e
elapsed=$(($(date +%s) - started))
printf '%s\n' "$worker_out"
# "worker done: W written, A already written, D dead-lettered, R requeued"
read -r written already dead requeued < <(
    sed -n 's/^worker done: \([0-9]*\) written, \([0-9]*\) already written, \([0-9]*\) dead-lettered, \([0-9]*\) requeued$/\1 \2 \3 \4/p' <<<"$worker_out"
    echo "0 0 0 0"
)
drafts=$(find "$REWRITER_OUT/articles" -name '*.md' -newer "$marker" -exec grep -l '^draft: true$' {} + 2>/dev/null | wc -l || true)
rm -f "$marker"

say "done in ${elapsed}s: $enqueued job(s) enqueued on $REWRITER_QUEUE"
echo "  $written article(s) written to $REWRITER_OUT/articles ($drafts of them drafts: draft: true, reasons under ai.flags)"
(( already == 0 )) || echo "  $already already written earlier with this prompt version (enqueue --force writes them again)"
status=0
if (( worker_status != 0 )); then
    echo "  the worker stopped with exit code $worker_status: see its error above" >&2
    status=$(( worker_status == 1 ? 1 : 3 ))
fi
if (( dead > 0 )); then
    echo "  $dead job(s) could not be done and were dead-lettered; to see why:" >&2
    echo "    REWRITER_QUEUE=$REWRITER_QUEUE $bin dead list" >&2
    status=1
fi
missing=$(( enqueued - written - already - dead ))
if (( missing > 0 )); then
    if (( requeued > 0 )); then
        echo "  $missing job(s) went back to $REWRITER_QUEUE unfinished when the worker stopped" >&2
    else
        echo "  $missing job(s) were taken by another consumer of $REWRITER_QUEUE (another worker?)" >&2
    fi
    status=1
fi
if (( enqueue_status == 1 )); then
    echo "  some lines of $input were rejected (see above)" >&2
    status=1
fi
if (( written + already == 0 )); then
    echo "quickstart: no article was written" >&2
    status=$(( status == 0 ? 1 : status ))
fi
exit "$status"
