output "state_machine_arn" {
  description = "Start this state machine to run the pipeline; {\"args\": [\"--input\", \"s3://…\"]} adds flags to the run."
  value       = gluepipe_pipeline.orders.state_machine_arn
}

output "task_definition_arn" {
  description = "The task definition's current revision."
  value       = gluepipe_pipeline.orders.task_definition_arn
}

output "task_role_arn" {
  description = "The container's role: the spec and the pipeline's data, nothing else."
  value       = gluepipe_pipeline.orders.task_role_arn
}

output "execution_role_arn" {
  description = "The role ECS uses to pull the image and write /gluepipe/<name> logs."
  value       = gluepipe_pipeline.orders.execution_role_arn
}

output "spec_uri" {
  description = "The pipeline spec the task runs (`gluepipe-etl run <spec_uri>`)."
  value       = gluepipe_pipeline.orders.spec_uri
}
