output "state_machine_arns" {
  description = "State machine ARN per table key."
  value       = { for k, m in module.pipeline : k => m.state_machine_arn }
}

output "glue_job_names" {
  description = "Glue job name per table key."
  value       = { for k, m in module.pipeline : k => m.glue_job_name }
}
