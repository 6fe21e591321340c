# syntax=docker/dockerfile:1
#
# The a2agrpc binary in a minimal image: a static build (CGO_ENABLED=0; the
# SQLite store is pure Go) on distroless/static, running as uid 65532, with
# no shell and no package manager.
#
#   docker build -t a2agrpc .
#   docker run --rm -p 127.0.0.1:50051:50051 -p 127.0.0.1:8080:8080 -p 127.0.0.1:9090:9090 a2agrpc
#
# The default command serves the echo agent on every interface: gRPC 50051,
# HTTP+JSON/JSON-RPC and the Agent Card 8080, the admin listener (/healthz,
# /readyz, /metrics) 9090, tasks in SQLite under the /data volume. Arguments
# after the image name replace that command (e.g. "gateway -target ...");
# every flag can also be set as A2AGRPC_<FLAG> in the environment. Set
# -advertise/-advertise-http to the names clients use, since the container's
# own address is rarely one of them. deploy/README.md has the rest.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/a2agrpc ./cmd/a2agrpc \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/a2agrpc /usr/local/bin/a2agrpc
# The SQLite store's directory, writable by the runtime user; with a
# read-only root file system (Kubernetes readOnlyRootFilesystem, compose
# read_only) mount a volume here, or use -store memory or postgres://.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
WORKDIR /data
# Numeric, so that Kubernetes can verify runAsNonRoot without runAsUser.
USER 65532:65532
EXPOSE 50051 8080 9090
ENTRYPOINT ["/usr/local/bin/a2agrpc"]
CMD ["serve", "-grpc-addr=0.0.0.0:50051", "-http-addr=0.0.0.0:8080", "-admin-addr=0.0.0.0:9090", "-store=sqlite:/data/a2agrpc.db"]
