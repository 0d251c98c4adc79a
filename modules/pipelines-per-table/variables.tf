variable "name_prefix" {
  description = "Prefix of every pipeline's name: `<name_prefix><table key>`."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,20}$", var.name_prefix))
    error_message = "The name_prefix must be 1 to 20 characters of letters, digits and +=,.@_-."
  }
}

variable "tables" {
  description = <<-EOT
    One pipeline per entry, keyed by a short name. Each reads a Glue catalog table and writes
    Parquet under `target_root/<key>/`. `mappings` may be empty (keep every column); `ruleset`
    null turns data quality off for that table.
  EOT
  type = map(object({
    catalog_database = string
    catalog_table    = string
    mappings = list(object({
      from = string
      to   = string
      type = string
    }))
    ruleset      = string
    partition_by = list(string)
  }))
  validation {
    condition     = alltrue([for k in keys(var.tables) : can(regex("^[a-z0-9_-]{1,30}$", k))])
    error_message = "Table keys must be 1 to 30 characters of lower-case letters, digits, _ and -."
  }
}

variable "target_root" {
  description = "S3 prefix under which each table's Parquet goes, e.g. `s3://curated/`."
  type        = string
  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(.*/)?$", var.target_root))
    error_message = "The target_root must be an s3://bucket/prefix/ URI ending in '/'."
  }
}

variable "on_failure" {
  description = "What a failed rule does for every table: fail, warn or quarantine."
  type        = string
  default     = "fail"
  validation {
    condition     = contains(["fail", "warn", "quarantine"], var.on_failure)
    error_message = "The on_failure must be one of fail, warn, quarantine."
  }
}

variable "artifact_bucket" {
  description = "Bucket for the pipelines' artifacts; they share the content-addressed ETL binary."
  type        = string
}

variable "etl_binary" {
  description = "Override: local path of the gluepipe-etl binary to upload. Unset (the default), the provider uploads the one its release carries."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of every pipeline."
  type        = map(string)
  default     = {}
}
