#!/usr/bin/env bash
# From a fresh clone to articles, in one command:
#
#   scripts/quickstart.sh [HEADLINES.ndjson]      (default: examples/headlines.ndjson)
#
# Builds rewriter, makes sure RabbitMQ runs on this machine, picks an LLM, enqueues the
# headlines and runs one worker until the queue is drained. Articles land in $REWRITER_OUT
# (default ./content). The LLM is yours when OPENAI_BASE_URL or OPENAI_API_KEY is set;
# otherwise a local llama.cpp server with SmolLM2-135M is built and started
# (scripts/local-llm.sh; the first build takes 10-15 minutes on 2 cores, later runs seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

input="${1:-examples/headlines.ndjson}"
say() { printf '\n==> %s\n' "$*"; }

say "building rewriter (release)"
cargo build --release --locked --quiet
bin=target/release/rewriter

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
    eval "$(bash scripts/local-llm.sh start)"
    # A model this small keeps to v1's four small schemas, not to v2's one large one
    # (prompts/CHANGELOG.md); a version set by the caller wins.
    export REWRITER_PROMPT_VERSION="${REWRITER_PROMPT_VERSION:-1}"
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
say "enqueueing $input"
"$bin" enqueue "$input"

say "running a worker until the queue is drained"
started=$(date +%s)
"$bin" worker --exit-when-idle
elapsed=$(($(date +%s) - started))

articles=$(find "$REWRITER_OUT/articles" -name '*.md' 2>/dev/null | wc -l)
drafts=$(grep -l '^draft: true$' "$REWRITER_OUT"/articles/*.md 2>/dev/null | wc -l || true)
say "done in ${elapsed}s: $articles article(s) in $REWRITER_OUT/articles, $drafts of them drafts"
echo "dead letters (jobs that could not be done, with their reasons) are in the queue ${REWRITER_QUEUE:-rewriter.jobs}.dead"
