# One JSON → Parquet pipeline with good defaults: snappy Parquet, a data-quality gate that fails
# the run before anything is published, a 1/16-DPU Python-shell job.

resource "gluepipe_pipeline" "this" {
  name        = var.name
  description = var.description

  source {
    catalog_database = var.source_path == null ? var.source_catalog_database : null
    catalog_table    = var.source_path == null ? var.source_catalog_table : null
    path             = var.source_path
  }

  dynamic "mapping" {
    for_each = var.mappings
    content {
      from = mapping.value.from
      to   = mapping.value.to
      type = mapping.value.type
    }
  }

  dynamic "data_quality" {
    for_each = var.ruleset == null ? [] : [var.ruleset]
    content {
      ruleset    = data_quality.value
      on_failure = var.on_failure
    }
  }

  target {
    path             = var.target_path
    compression      = var.compression
    partition_by     = var.partition_by
    catalog_database = var.target_catalog_database
    catalog_table    = var.target_catalog_table
  }

  runtime {
    kind            = "python-shell"
    artifact_bucket = var.artifact_bucket
    artifact_prefix = var.artifact_prefix
    etl_binary      = var.etl_binary
    max_capacity    = var.max_capacity
    timeout_minutes = var.timeout_minutes

    # Scale-out only when asked for: unset keeps the single-run state machine. Every shard is a
    # run of the same job, so the job must allow that many runs at once.
    parallelism         = var.parallelism > 1 ? var.parallelism : null
    files_per_shard     = var.parallelism > 1 ? var.files_per_shard : null
    max_concurrent_runs = var.parallelism > 1 ? var.parallelism : null
  }

  tags = var.tags
}
