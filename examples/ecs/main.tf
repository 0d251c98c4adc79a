# ECS: the same JSON-to-Parquet pipeline, run as a Fargate task instead of a Glue Python-shell
# job — for inputs that need more than Python shell's single DPU, or to run inside your VPC.
#
# Build and push the image first (README.md), then:
#   terraform apply -var image=<account>.dkr.ecr.<region>.amazonaws.com/gluepipe-etl:<tag> \
#     -var cluster=<cluster> -var 'subnets=["subnet-…"]' -var 'security_groups=["sg-…"]' …

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
    project = "gluepipe-ecs-example"
  }
}

resource "gluepipe_pipeline" "orders" {
  name        = var.name
  description = "Raw JSON orders to curated Parquet on Fargate"

  source {
    path = var.source_path
  }

  mapping {
    from = "id"
    to   = "order_id"
    type = "bigint"
  }
  mapping {
    from = "customer.id"
    to   = "customer_id"
    type = "string"
  }
  mapping {
    from = "amount"
    to   = "amount"
    type = "decimal(10,2)"
  }
  mapping {
    from = "created_at"
    to   = "order_date"
    type = "date"
  }

  data_quality {
    ruleset    = "Rules = [ RowCount > 0, IsComplete \"order_id\", IsUnique \"order_id\" ]"
    on_failure = "fail"
  }

  target {
    path         = var.target_path
    partition_by = ["order_date"]
  }

  runtime {
    kind             = "ecs"
    artifact_bucket  = var.artifact_bucket
    cluster          = var.cluster
    subnets          = var.subnets
    security_groups  = var.security_groups
    assign_public_ip = var.assign_public_ip
    image            = var.image
    cpu              = var.cpu
    memory           = var.memory
    cpu_architecture = var.cpu_architecture
    timeout_minutes  = 120
  }

  tags = { team = "data" }
}
