output "state_machine_arn" {
  description = "ARN of the state machine that runs the pipeline (start an execution to run it)."
  value       = gluepipe_pipeline.this.state_machine_arn
}

output "glue_job_name" {
  description = "Name of the Glue Python-shell job."
  value       = gluepipe_pipeline.this.glue_job_name
}

output "glue_job_role_arn" {
  description = "ARN of the Glue job's least-privilege role."
  value       = gluepipe_pipeline.this.glue_job_role_arn
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's role."
  value       = gluepipe_pipeline.this.state_machine_role_arn
}

output "spec_uri" {
  description = "S3 URI of the pipeline spec that gluepipe-etl executes."
  value       = gluepipe_pipeline.this.spec_uri
}
