# Quickstart: one gluepipe pipeline that turns the raw JSON orders of a Glue catalog table into
# curated, partitioned Parquet, gated by data-quality rules, run by a Step Functions state machine.
#
# Run it against the local emulator with `scripts/demo.sh` (README), or against AWS with your own
# buckets: terraform apply -var raw_bucket=… -var curated_bucket=… -var artifact_bucket=…

terraform {
  required_version = ">= 1.0"
  required_providers {
    gluepipe = {
      source = "gluepipe/gluepipe"
    }
  }
}

provider "gluepipe" {
  region = var.region
  default_tags = {
    project = "gluepipe-quickstart"
  }
}

resource "gluepipe_pipeline" "orders" {
  name        = var.name
  description = "Raw JSON orders to curated Parquet, checked by DQDL rules"

  source {
    catalog_database = var.raw_database
    catalog_table    = var.raw_table
  }

  # Like Glue's ApplyMapping: pick, rename, cast; dotted paths reach into nested fields.
  mapping {
    from = "id"
    to   = "order_id"
    type = "bigint"
  }
  mapping {
    from = "customer.name"
    to   = "customer_name"
    type = "string"
  }
  mapping {
    from = "customer.address.country"
    to   = "country"
    type = "string"
  }
  mapping {
    from = "status"
    to   = "status"
    type = "string"
  }
  mapping {
    from = "amount"
    to   = "amount"
    type = "decimal(10,2)"
  }
  mapping {
    from = "ordered_at"
    to   = "ordered_at"
    type = "timestamp"
  }
  mapping {
    from = "tags"
    to   = "tags"
    type = "array<string>"
  }
  mapping {
    from = "items"
    to   = "items"
    type = "array<struct<sku:string,qty:int,price:double>>"
  }
  mapping {
    from = "order_date"
    to   = "order_date"
    type = "string"
  }

  data_quality {
    ruleset    = file("${path.module}/orders.dqdl")
    on_failure = "fail"
  }

  # After every run: Glue Data Quality's rule counts (namespace "Glue Data Quality") and the
  # run's counts and outcome (namespace "gluepipe"), for alarms and dashboards.
  metrics {}

  target {
    path         = "s3://${var.curated_bucket}/orders/"
    compression  = "snappy"
    partition_by = ["order_date"]
  }

  runtime {
    kind            = "python-shell"
    artifact_bucket = var.artifact_bucket
    max_capacity    = 0.0625
    timeout_minutes = 30
  }

  tags = {
    team = "data"
  }
}
