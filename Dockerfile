# syntax=docker/dockerfile:1
# tokengate: a Cognito JWT validation sidecar proxy.
#   docker build -t tokengate .
#   docker run --read-only -p 8080:8080 -p 9901:9901 \
#     -e COGNITO_REGION=eu-west-1 -e COGNITO_USER_POOL_ID=eu-west-1_XXXX -e COGNITO_CLIENT_ID=... \
#     -e UPSTREAM_URL=http://app:3000 tokengate
# The build command is the one .ci/run runs (`cargo build --release --locked --bin tokengate`).

FROM rust:1.95-bookworm AS build
# `tokengate --version` names the commit: there is no .git in the build context, so pass it:
#   docker build --build-arg TOKENGATE_GIT_COMMIT="$(git rev-parse HEAD)" \
#     --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" -t tokengate .
# (DL3064 reads "TOKEN" in the name as a secret; it is a commit hash.)
# hadolint ignore=DL3064
ARG TOKENGATE_GIT_COMMIT=unknown
ARG SOURCE_DATE_EPOCH
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin tokengate \
    && install -D -m 0755 target/release/tokengate /out/tokengate \
    && install -d -m 0700 /out/cache

# glibc and libgcc only (aws-lc is linked statically); no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/tokengate /usr/local/bin/tokengate
COPY config/tokengate.yaml /etc/tokengate/tokengate.yaml
# The cache_dir mount point, owned by the runtime user: an anonymous volume (VOLUME below,
# `docker run --read-only`) starts as a copy of it, so uid 65532 can write there too.
COPY --from=build --chown=65532:65532 /out/cache/ /var/cache/tokengate/
# The default config reads these; the admin port listens beyond loopback so that probes and
# Prometheus can reach it (keep it off the Service; see deploy/kubernetes).
# (DL3064 reads "TOKEN" in the names as a secret; these are listen addresses.)
# hadolint ignore=DL3064
ENV TOKENGATE_LISTEN=0.0.0.0:8080 \
    TOKENGATE_ADMIN_LISTEN=0.0.0.0:9901
# Numeric non-root user (distroless "nonroot"); nothing is written outside the cache volume,
# so the root filesystem can be read-only.
USER 65532:65532
VOLUME ["/var/cache/tokengate"]
EXPOSE 8080 9901
# The binary checks itself (the image has no shell or curl): GET /readyz on admin.listen.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["tokengate", "healthcheck", "--config", "/etc/tokengate/tokengate.yaml"]
ENTRYPOINT ["tokengate"]
CMD ["run", "--config", "/etc/tokengate/tokengate.yaml"]
