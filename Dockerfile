# A small image holding only gluepipe-etl, for the ECS runtime (runtime { kind = "ecs" }), built
# from the release tarball (glibc 2.17 baseline, runs on any current glibc), for either CPU:
#   scripts/release.sh                      # or download the release's dist/ assets
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=0.1.0 -t gluepipe-etl .
# The task runs `gluepipe-etl run s3://…/pipeline.json`; credentials come from the task role.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION
ARG TARGETARCH
# ADD unpacks a local tarball: it holds the one file gluepipe-etl.
ADD dist/gluepipe-etl_${VERSION}_linux_${TARGETARCH}.tar.gz /usr/local/bin/
USER nonroot
ENTRYPOINT ["/usr/local/bin/gluepipe-etl"]
CMD ["--help"]
