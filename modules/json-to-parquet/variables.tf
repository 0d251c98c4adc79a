variable "name" {
  description = "Pipeline name: the Glue job's name and the prefix of its IAM roles and state machine. Letters, digits and `+=,.@_-`."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,50}$", var.name))
    error_message = "The name must be 1 to 50 characters of letters, digits and +=,.@_- (derived IAM role names must stay within 64)."
  }
}

variable "description" {
  description = "Free text shown on the Glue job and state machine."
  type        = string
  default     = null
}

variable "source_catalog_database" {
  description = "Glue catalog database of the source table. Set with `source_catalog_table`, or use `source_path`."
  type        = string
  default     = null
}

variable "source_catalog_table" {
  description = "Glue catalog table to read (its location, columns, types and partition keys)."
  type        = string
  default     = null
}

variable "source_path" {
  description = "An `s3://bucket/prefix/` of JSON files to read instead of a catalog table."
  type        = string
  default     = null
  validation {
    condition     = var.source_path == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.source_path))
    error_message = "The source_path must be an s3://bucket/prefix/ URI."
  }
}

variable "mappings" {
  description = "ApplyMapping entries in order: `from` (dotted path for nested fields), `to`, and a Glue `type`. Empty keeps every column as read."
  type = list(object({
    from = string
    to   = string
    type = string
  }))
  default = []
}

variable "ruleset" {
  description = "DQDL ruleset evaluated on every run, e.g. `Rules = [ RowCount > 0 ]`. Null turns data quality off."
  type        = string
  default     = "Rules = [ RowCount > 0 ]"
}

variable "on_failure" {
  description = "What a failed rule does: `fail` (publish nothing), `warn` (publish and report) or `quarantine` (set failing rows aside)."
  type        = string
  default     = "fail"
  validation {
    condition     = contains(["fail", "warn", "quarantine"], var.on_failure)
    error_message = "The on_failure must be one of fail, warn, quarantine."
  }
}

variable "target_path" {
  description = "Where the Parquet goes: `s3://bucket/prefix/`."
  type        = string
  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.target_path))
    error_message = "The target_path must be an s3://bucket/prefix/ URI."
  }
}

variable "compression" {
  description = "Parquet compression: snappy, zstd, gzip or none."
  type        = string
  default     = "snappy"
  validation {
    condition     = contains(["snappy", "zstd", "gzip", "none"], var.compression)
    error_message = "The compression must be one of snappy, zstd, gzip, none."
  }
}

variable "partition_by" {
  description = "Output columns to partition by (Hive-style `col=value/` folders)."
  type        = list(string)
  default     = []
}

variable "target_catalog_database" {
  description = "Register the output as a table in this Glue database (with `target_catalog_table`)."
  type        = string
  default     = null
}

variable "target_catalog_table" {
  description = "Name of the output catalog table."
  type        = string
  default     = null
}

variable "artifact_bucket" {
  description = "Bucket for the pipeline's artifacts (spec, launcher, ETL binary)."
  type        = string
}

variable "artifact_prefix" {
  description = "Key prefix for the artifacts."
  type        = string
  default     = "gluepipe/"
}

variable "etl_binary" {
  description = "Override: local path of the `gluepipe-etl` binary (Linux x86-64) to upload. Unset (the default), the provider uploads the one its release carries."
  type        = string
  default     = null
}

variable "max_capacity" {
  description = "Glue Python-shell capacity in DPU: 0.0625 (1 GB) or 1 (16 GB)."
  type        = number
  default     = 0.0625
  validation {
    condition     = contains([0.0625, 1], var.max_capacity)
    error_message = "Python-shell jobs take 0.0625 or 1 DPU."
  }
}

variable "timeout_minutes" {
  description = "Job timeout in minutes."
  type        = number
  default     = 60
  validation {
    condition     = var.timeout_minutes >= 1 && var.timeout_minutes <= 2880
    error_message = "The timeout must be between 1 and 2880 minutes."
  }
}

variable "parallelism" {
  description = "Shard runs at once over the source's files (a Step Functions Distributed Map, then one merge run); 1 converts everything in one run."
  type        = number
  default     = 1
  validation {
    condition     = var.parallelism >= 1 && var.parallelism <= 1000 && floor(var.parallelism) == var.parallelism
    error_message = "The parallelism must be a whole number from 1 to 1000."
  }
}

variable "files_per_shard" {
  description = "With parallelism above 1: at most how many source files each shard run converts (batches are also cut at 64 KiB of object keys)."
  type        = number
  default     = 16
  validation {
    condition     = var.files_per_shard >= 1 && var.files_per_shard <= 1000 && floor(var.files_per_shard) == var.files_per_shard
    error_message = "The files_per_shard must be a whole number from 1 to 1000."
  }
}

variable "tags" {
  description = "Tags for every resource the pipeline creates (merged over the provider's default_tags)."
  type        = map(string)
  default     = {}
}
