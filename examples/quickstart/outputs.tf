output "state_machine_arn" {
  description = "Start this state machine to run the pipeline."
  value       = gluepipe_pipeline.orders.state_machine_arn
}

output "glue_job_name" {
  description = "The Glue Python-shell job that runs gluepipe-etl."
  value       = gluepipe_pipeline.orders.glue_job_name
}

output "glue_job_role_arn" {
  value = gluepipe_pipeline.orders.glue_job_role_arn
}

output "state_machine_role_arn" {
  value = gluepipe_pipeline.orders.state_machine_role_arn
}

output "spec_uri" {
  description = "The pipeline spec in S3: the file `gluepipe-etl run` executes."
  value       = gluepipe_pipeline.orders.spec_uri
}
