# Many tables: one pipeline per raw catalog table through the pipelines-per-table module.

terraform {
  required_version = ">= 1.0"
  required_providers {
    gluepipe = {
      source = "gluepipe/gluepipe"
    }
  }
}

provider "gluepipe" {
  region = "us-east-1"
}

variable "curated_bucket" {
  type    = string
  default = "gluepipe-demo-curated"
}

variable "artifact_bucket" {
  type    = string
  default = "gluepipe-demo-artifacts"
}

module "raw_to_curated" {
  source = "../../modules/pipelines-per-table"

  name_prefix     = "curated-"
  target_root     = "s3://${var.curated_bucket}/"
  artifact_bucket = var.artifact_bucket
  on_failure      = "warn"
  tags            = { team = "data" }

  tables = {
    orders = {
      catalog_database = "raw"
      catalog_table    = "orders_json"
      mappings = [
        { from = "id", to = "order_id", type = "bigint" },
        { from = "amount", to = "amount", type = "double" },
        { from = "order_date", to = "order_date", type = "string" },
      ]
      ruleset      = "Rules = [ RowCount > 0, IsComplete \"order_id\" ]"
      partition_by = ["order_date"]
    }
    customers = {
      catalog_database = "raw"
      catalog_table    = "customers_json"
      mappings         = []
      ruleset          = null
      partition_by     = []
    }
  }
}

output "state_machine_arns" {
  value = module.raw_to_curated.state_machine_arns
}
