# strongroom on Debian, with Tesseract's runtime for the OCR stage (and its
# orientation data), libtiff and OpenJPEG for the decoders. PDF pages are
# rendered by PDFium compiled to WebAssembly, inside the binary: no library.
# Build:  docker build -t strongroom .
# Run:    docker run -v /srv/strongroom:/var/lib/strongroom strongroom
#         (hot folder /var/lib/strongroom/hot, bags in /var/lib/strongroom/store)
FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libssl-dev libtesseract-dev libleptonica-dev \
      libtiff-dev libopenjp2-7-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-X main.buildVersion=${VERSION}" -o /out/strongroom ./cmd/strongroom

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libssl3 tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd libtiff6 libopenjp2-7 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/strongroom --create-home strongroom
COPY --from=build /out/strongroom /usr/local/bin/strongroom
# The defaults, for reference: a config mounted at /etc/strongroom/strongroom.yaml
# (or named by STRONGROOM_CONFIG) is read on top of the embedded ones.
COPY configs/strongroom.yaml /usr/share/doc/strongroom/strongroom.yaml
USER strongroom
WORKDIR /var/lib/strongroom
VOLUME /var/lib/strongroom
ENV OMP_THREAD_LIMIT=1
# The embedded defaults resolve relative paths against the working directory:
# var/hot, var/done, var/failed, var/store and var/data below the volume.
ENTRYPOINT ["/usr/local/bin/strongroom"]
CMD ["serve"]
