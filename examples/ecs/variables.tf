variable "region" {
  description = "AWS region of the cluster, the buckets and the pipeline."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Pipeline name: the task definition family and state machine; the roles are <name>-task, <name>-exec and <name>-sfn."
  type        = string
  default     = "orders-on-fargate"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,58}$", var.name))
    error_message = "The name must be 1 to 59 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "source_path" {
  description = "S3 URI of the raw JSON input (folder, object or glob)."
  type        = string
  default     = "s3://gluepipe-demo-raw/orders/"

  validation {
    condition     = can(regex("^s3://[a-z0-9.-]{3,63}/", var.source_path))
    error_message = "The source_path must be an s3://bucket/prefix URI."
  }
}

variable "target_path" {
  description = "S3 URI of the folder that receives the Parquet output."
  type        = string
  default     = "s3://gluepipe-demo-curated/orders/"

  validation {
    condition     = can(regex("^s3://[a-z0-9.-]{3,63}/", var.target_path))
    error_message = "The target_path must be an s3://bucket/prefix/ URI."
  }
}

variable "artifact_bucket" {
  description = "Existing bucket for the pipeline spec (the image holds the binary)."
  type        = string
  default     = "gluepipe-demo-artifacts"
}

variable "cluster" {
  description = "Name or ARN of the ECS cluster the task runs in (a cluster with no capacity providers is fine: the task uses Fargate)."
  type        = string
  default     = "etl"
}

variable "subnets" {
  description = "Subnet ids for the task (1 to 16). Private subnets need a NAT gateway or VPC endpoints for ECR, S3, CloudWatch Logs (and Glue for catalog tables)."
  type        = list(string)

  validation {
    condition     = length(var.subnets) >= 1 && length(var.subnets) <= 16 && alltrue([for s in var.subnets : can(regex("^subnet-[0-9a-f]{8}([0-9a-f]{9})?$", s))])
    error_message = "Give 1 to 16 subnet ids (subnet-…)."
  }
}

variable "security_groups" {
  description = "Security group ids for the task (at most 5; empty: the VPC's default group). Outbound HTTPS is all it needs."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.security_groups) <= 5 && alltrue([for g in var.security_groups : can(regex("^sg-[0-9a-f]{8}([0-9a-f]{9})?$", g))])
    error_message = "Give at most 5 security group ids (sg-…)."
  }
}

variable "assign_public_ip" {
  description = "Give the task a public IP: needed in a public subnet without a NAT gateway."
  type        = bool
  default     = false
}

variable "image" {
  description = "The gluepipe-etl image, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/gluepipe-etl:1.0 (see README.md). A private ECR image gets pull permissions on its repository only."
  type        = string
}

variable "cpu_architecture" {
  description = "The task's CPU: X86_64 or ARM64 (Graviton). The image must be built for it (the Dockerfile builds either)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "Use X86_64 or ARM64."
  }
}

variable "cpu" {
  description = "CPU units of the task: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "The cpu must be a Fargate size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Memory of the task in MiB, a size Fargate offers with cpu (the provider checks the pair at plan time)."
  type        = number
  default     = 4096
}
