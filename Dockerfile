# strongroom on Debian, with Tesseract's runtime for the OCR stage (and its
# orientation data), libtiff and OpenJPEG for the decoders. PDF pages are
# rendered by PDFium compiled to WebAssembly, inside the binary: no library.
# Build:  docker build --build-arg VERSION=$(git describe --always) \
#           --build-arg OCR_LANGUAGES="eng deu fra osd" -t strongroom .
# Run:    docker run -p 8080:8080 -v /srv/strongroom:/var/lib/strongroom strongroom
#         (hot folder /var/lib/strongroom/hot, bags in /var/lib/strongroom/store;
#         configs/container.yaml is the configuration, mount yours over
#         /etc/strongroom/strongroom.yaml). compose.yaml adds MinIO as the store.
# The base images are pinned by version; a release build pins them by digest
# too: --build-arg GO_IMAGE=golang:1.26.8-bookworm@sha256:… and
# --build-arg BASE_IMAGE=debian:12-slim@sha256:… and NODE_IMAGE likewise (from `docker buildx
# imagetools inspect`), so that a rebuild takes the same bytes.
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG BASE_IMAGE=debian:12-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# The book viewer (Mirador, from the npm registry), embedded by the build:
# the same step as scripts/viewer-assets.
FROM ${NODE_IMAGE} AS viewer
RUN mkdir /v && cd /v && npm install --no-audit --no-fund mirador@4.0.0 >/dev/null

FROM ${GO_IMAGE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev libtesseract-dev libleptonica-dev \
      libtiff-dev libopenjp2-7-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=viewer /v/node_modules/mirador/dist/mirador.min.js /v/node_modules/mirador/LICENSE /src/pipeline/review/viewer/
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-X main.buildVersion=${VERSION}" -o /out/strongroom ./cmd/strongroom

FROM ${BASE_IMAGE}
# OCR languages: Tesseract's codes (Debian packages tesseract-ocr-<code>);
# osd finds pages scanned sideways. Name them in access.ocr.languages too.
ARG OCR_LANGUAGES="eng osd"
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates curl libssl3 tesseract-ocr libtiff6 libopenjp2-7 \
      $(for l in ${OCR_LANGUAGES}; do echo tesseract-ocr-$l; done) \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/strongroom --create-home strongroom
COPY --from=build /out/strongroom /usr/local/bin/strongroom
COPY configs/container.yaml /etc/strongroom/strongroom.yaml
COPY configs/strongroom.yaml README.md /usr/share/doc/strongroom/
# Not root: the service's own user, owning only the volume.
USER strongroom
WORKDIR /var/lib/strongroom
VOLUME /var/lib/strongroom
ENV OMP_THREAD_LIMIT=1
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/strongroom"]
CMD ["serve"]
