# syntax=docker/dockerfile:1
# Build: the same static build as `make build`.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN make build VERSION=$VERSION COMMIT=$COMMIT && mkdir -p /out/data

# Run: a small image, non-root, data in a volume.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/pmassist /usr/local/bin/pmassist
# The volume's mount point must belong to the non-root user (distroless has no shell to chown).
COPY --from=build --chown=65532:65532 /out/data /data
ENV PMASSIST_DATA_DIR=/data \
    PMASSIST_ADDR=:8080
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=6s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/pmassist", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/pmassist"]
CMD ["serve"]
