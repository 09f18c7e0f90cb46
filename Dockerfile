# syntax=docker/dockerfile:1
# Multi-stage build: a full Rust toolchain builds, a slim Debian image runs.

FROM rust:1-slim-bookworm AS builder
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && for b in verify dedup parse api_client; do echo 'fn main() {}' > "benches/$b.rs"; done \
    && cargo build --release --locked \
    && rm -rf src benches
COPY config ./config
COPY src ./src
COPY benches ./benches
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin alexa
COPY --from=builder /src/target/release/alexa-endpoint /usr/local/bin/alexa-endpoint
COPY config/default.toml /etc/alexa-endpoint/config.toml
USER 10001
ENV RUST_LOG=info
# 8080: the Alexa listener; 9090: /healthz, /readyz, /metrics (server.admin_listen)
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["alexa-endpoint", "healthcheck", "http://127.0.0.1:9090/healthz"]
ENTRYPOINT ["alexa-endpoint"]
CMD ["serve", "--config", "/etc/alexa-endpoint/config.toml"]
