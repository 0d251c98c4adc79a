# A pipeline per table: the same conversion and data-quality policy over a map of catalog tables.

module "pipeline" {
  source   = "../json-to-parquet"
  for_each = var.tables

  name                    = "${var.name_prefix}${each.key}"
  source_catalog_database = each.value.catalog_database
  source_catalog_table    = each.value.catalog_table
  mappings                = each.value.mappings
  ruleset                 = each.value.ruleset
  on_failure              = var.on_failure
  target_path             = "${var.target_root}${each.key}/"
  partition_by            = each.value.partition_by
  artifact_bucket         = var.artifact_bucket
  etl_binary              = var.etl_binary
  tags                    = merge(var.tags, { table = each.key })
}
