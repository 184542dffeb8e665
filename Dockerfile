# syntax=docker/dockerfile:1
# Build: the same static build as `make build` (CGO_ENABLED=0, -trimpath).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the build context (.dockerignore): pass the version in,
# e.g. --build-arg VERSION=$(git describe --tags) --build-arg COMMIT=$(git rev-parse --short HEAD).
ARG VERSION=dev
ARG COMMIT=unknown
RUN make build VERSION=$VERSION COMMIT=$COMMIT && mkdir -p /out/data

# Run: a small image (CA certificates and time zones, no shell), non-root,
# data in a volume.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="PM Assistant" \
      org.opencontainers.image.description="Self-hosted project-management assistant: one binary, one data file" \
      org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$COMMIT
COPY --from=build /src/bin/pmassist /usr/local/bin/pmassist
# The volume's mount point must belong to the non-root user (distroless has
# no shell to chown); a named volume inherits it, a bind-mounted host folder
# must be writable by uid 65532.
COPY --from=build --chown=65532:65532 /out/data /data
# Scheduled backups are off unless PMASSIST_BACKUP_DIR is set at run time,
# e.g. -e PMASSIST_BACKUP_DIR=/data/backups, or a second volume (see
# docs/operations.md).
ENV PMASSIST_DATA_DIR=/data \
    PMASSIST_ADDR=:8080
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
# `pmassist healthcheck` exits 0 when http://127.0.0.1:$PORT/readyz answers
# 200 within 5 s (the port from PMASSIST_ADDR). /readyz also waits for the
# search index, which a start after a restore rebuilds: hence the long
# start period.
HEALTHCHECK --interval=30s --timeout=6s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/pmassist", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/pmassist"]
CMD ["serve"]
