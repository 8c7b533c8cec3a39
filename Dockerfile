# rewriter: multi-stage build. The builder compiles the release binary; the runtime image is
# Debian slim with CA certificates, the binary, the prompt sets, and a non-root user.
#
#   docker build -t rewriter .
#   docker run --rm -e AMQP_URL=… -e OPENAI_BASE_URL=… -v "$PWD/content:/data/content" rewriter worker
#
# docker-compose.yml builds and runs this image; tests/e2e/deployment.rs checks it ships the
# prompts and runs the worker.

# ---- builder ---------------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS builder

# rustls uses aws-lc-rs, whose aws-lc-sys compiles C (and may use CMake); no OpenSSL is needed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, against placeholder sources, so that editing src/ reuses this layer.
# Every target Cargo.toml names must exist for the manifest to load, the test target included.
COPY Cargo.toml Cargo.lock ./
# Build settings: jemalloc's compiled-in options.
COPY .cargo ./.cargo
RUN mkdir -p src tests/e2e \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs tests/e2e/main.rs \
    && cargo build --release --locked \
    && rm -rf src tests target/release/.fingerprint/rewriter-* \
              target/release/deps/rewriter-* target/release/deps/librewriter-*

# The real sources. Touch them so that cargo never mistakes them for the placeholders.
COPY src ./src
COPY tests ./tests
COPY prompts ./prompts
RUN find src tests -type f -exec touch {} + \
    && cargo build --release --locked \
    && cp target/release/rewriter /usr/local/bin/rewriter

# ---- runtime ---------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 rewriter \
    && useradd --system --uid 10001 --gid rewriter --home-dir /app --shell /usr/sbin/nologin rewriter \
    && mkdir -p /data/content \
    && chown -R rewriter:rewriter /data

COPY --from=builder /usr/local/bin/rewriter /usr/local/bin/rewriter
COPY prompts /app/prompts

WORKDIR /app
ENV REWRITER_PROMPTS=/app/prompts \
    REWRITER_OUT=/data/content
# The worker's /metrics, /healthz and /readyz, when REWRITER_METRICS_ADDR=0.0.0.0:9100 (as
# docker-compose.yml sets it); `rewriter health` is the health check, as the image has no curl.
# Not set here: the endpoint stays opt-in, as outside a container, and an image default would
# also open it in every one-off `docker run` and make two workers on one host network collide.
EXPOSE 9100
VOLUME /data
USER rewriter:rewriter

ENTRYPOINT ["rewriter"]
CMD ["worker"]
