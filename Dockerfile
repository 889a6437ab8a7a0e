# Crossdock: one static binary with its migrations, templates and assets embedded.
FROM golang:1.26-bookworm AS build
# Go 1.26.8 has standard-library vulnerabilities Crossdock reaches; 1.27.3 has none (see README).
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/crossdock ./cmd/crossdock

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crossdock /usr/local/bin/crossdock
# In a container, give Crossdock a PostgreSQL with DATABASE_URL (see docker-compose.yml);
# the embedded PostgreSQL default needs the PostgreSQL binaries, which this image leaves out.
ENV CROSSDOCK_ADDR=0.0.0.0:8080 CROSSDOCK_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/crossdock"]
CMD ["serve"]
