variable "name" {
  description = "Pipeline name: the Glue job's name, and the prefix of its roles and state machine."
  type        = string
  default     = "orders-json-to-parquet"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "raw_database" {
  description = "Glue catalog database of the raw JSON table."
  type        = string
  default     = "raw"
}

variable "raw_table" {
  description = "Glue catalog table of the raw JSON orders."
  type        = string
  default     = "orders_json"
}

variable "curated_bucket" {
  description = "Bucket that receives the curated Parquet (under orders/)."
  type        = string
  default     = "gluepipe-demo-curated"
}

variable "artifact_bucket" {
  description = "Bucket for the pipeline's artifacts: spec, launcher and ETL binary."
  type        = string
  default     = "gluepipe-demo-artifacts"
}

