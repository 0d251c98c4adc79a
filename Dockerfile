# A small image holding only gluepipe-etl, for the ECS runtime (runtime { kind = "ecs" }).
# Build the binary first (glibc 2.17 baseline, runs on any current glibc):
#   scripts/build-glue-binary.sh
#   docker build -t gluepipe-etl .
# The task runs `gluepipe-etl run s3://…/pipeline.json`; credentials come from the task role.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY target/x86_64-unknown-linux-gnu/release/gluepipe-etl /usr/local/bin/gluepipe-etl
USER nonroot
ENTRYPOINT ["/usr/local/bin/gluepipe-etl"]
CMD ["--help"]
