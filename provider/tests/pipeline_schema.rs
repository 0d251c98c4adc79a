//! `gluepipe_pipeline` through the provider's own gRPC-facing API, without AWS: its registry
//! page documents every attribute (nested blocks included), and `UpgradeResourceState` — which
//! Terraform calls for every instance on every run — keeps a version-1 state, drops attributes
//! the schema no longer has, and refuses state from a newer provider.

use std::collections::BTreeMap;

use terraform_provider_gluepipe::framework::Block;
use terraform_provider_gluepipe::protocol::ProviderServer;
use terraform_provider_gluepipe::protocol::provider_server::UpgradeResourceStateRequest;

const TYPE: &str = "gluepipe_pipeline";

fn page() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/resources/pipeline.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Attribute and block names (with their block path) the page does not describe.
fn undocumented(block: &Block, path: &str, text: &str) -> Vec<String> {
    let mut missing: Vec<String> = block
        .attributes
        .iter()
        .map(|a| &a.name)
        .chain(block.blocks.iter().map(|b| &b.name))
        .filter(|name| !text.contains(&format!("- `{name}` (")))
        .map(|name| format!("{path}{name}"))
        .collect();
    for nested in &block.blocks {
        missing.extend(undocumented(
            &nested.block,
            &format!("{path}{}.", nested.name),
            text,
        ));
        assert!(
            text.contains(&format!("### `{}`", nested.name)),
            "no section for block {}",
            nested.name
        );
    }
    missing
}

#[tokio::test]
async fn the_resource_page_covers_the_schema() {
    let schemas = terraform_provider_gluepipe::registry()
        .get_provider_schema()
        .await;
    let schema = schemas
        .resources
        .get(TYPE)
        .expect("the pipeline resource is registered");
    assert_eq!(schema.version, 2);
    assert_eq!(
        undocumented(&schema.block, "", &page()),
        Vec::<String>::new()
    );
}

/// A state as Terraform stores it for schema version 1 (JSON, every attribute present).
fn stored_state() -> serde_json::Value {
    serde_json::json!({
        "id": "orders", "name": "orders", "description": null, "max_bad_records": 0,
        "tags": {"team": "data"}, "tags_all": {"env": "test", "team": "data"},
        "glue_job_name": "orders",
        "glue_job_role_arn": "arn:aws:iam::123456789012:role/gluepipe/orders-glue",
        "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
        "state_machine_role_arn": "arn:aws:iam::123456789012:role/gluepipe/orders-sfn",
        "spec_uri": "s3://artifacts/gluepipe/orders/spec.json",
        "launcher_uri": "s3://artifacts/gluepipe/orders/launcher-0123456789abcdef.py",
        "etl_binary_uri": "s3://artifacts/gluepipe/orders/gluepipe-etl-aa",
        "etl_binary_sha256": "aa", "glue_version": "3.0", "python_version": "3.9",
        "glue_job_default_arguments": {"--job-language": "python"},
        "glue_job_non_overridable_arguments": {"--gluepipe_spec_uri": "s3://artifacts/gluepipe/orders/spec.json"},
        "glue_job_role_policy": "{}", "glue_job_role_assume_role_policy": "{}",
        "state_machine_role_policy": "{}", "state_machine_role_assume_role_policy": "{}",
        "state_machine_definition": "{}",
        "source": {"catalog_database": null, "catalog_table": null, "path": "s3://raw-bucket/orders/", "format": "json"},
        "mapping": [{"from": "id", "to": "order_id", "type": "bigint"}],
        "data_quality": null,
        "target": {"path": "s3://curated-bucket/orders/", "compression": "snappy", "partition_by": null,
                   "write_mode": "append", "catalog_database": null, "catalog_table": null},
        "runtime": {"kind": "python-shell", "artifact_bucket": "artifacts", "artifact_prefix": "gluepipe/",
                    "etl_binary": "bin/gluepipe-etl", "max_capacity": 0.0625, "timeout_minutes": 60,
                    "max_retries": 0, "max_concurrent_runs": 1}
    })
}

async fn upgrade(
    version: i64,
    state: &serde_json::Value,
) -> terraform_provider_gluepipe::protocol::provider_server::UpgradeResourceStateResponse {
    terraform_provider_gluepipe::registry()
        .upgrade_resource_state(UpgradeResourceStateRequest {
            type_name: TYPE.into(),
            version,
            raw_json: serde_json::to_vec(state).expect("JSON"),
            raw_flatmap: BTreeMap::new(),
        })
        .await
}

#[tokio::test]
async fn upgrade_resource_state_keeps_version_1_and_drops_removed_attributes() {
    let schemas = terraform_provider_gluepipe::registry()
        .get_provider_schema()
        .await;
    let ty = schemas.resources[TYPE].block.value_type();

    let resp = upgrade(1, &stored_state()).await;
    assert!(resp.diagnostics.is_empty(), "{}", resp.diagnostics);
    let upgraded = resp
        .upgraded_state
        .expect("upgraded state")
        .decode(&ty)
        .expect("fits the schema");
    assert_eq!(upgraded.attr("name").as_str(), Some("orders"));
    assert_eq!(
        upgraded.attr("runtime").attr("max_capacity").as_f64(),
        Some(0.0625)
    );
    assert_eq!(upgraded.attr("mapping").elements().len(), 1);

    // An attribute a later schema dropped (or an earlier one had) is dropped, not an error.
    let mut with_extra = stored_state();
    with_extra["some_removed_attribute"] = serde_json::json!("x");
    with_extra["runtime"]["removed_nested"] = serde_json::json!(1);
    let resp = upgrade(1, &with_extra).await;
    assert!(resp.diagnostics.is_empty(), "{}", resp.diagnostics);
    // Equal but for the lineage id each upgrade of version-1 state makes.
    let mut again = resp
        .upgraded_state
        .expect("upgraded")
        .decode(&ty)
        .expect("fits");
    assert!(again.attr("instance_id").as_str().is_some());
    again.set_attr("instance_id", upgraded.attr("instance_id").clone());
    assert_eq!(again, upgraded);

    // State from a newer provider is refused with a clear message.
    let resp = upgrade(3, &stored_state()).await;
    assert!(resp.diagnostics.has_error());
    assert!(
        resp.diagnostics
            .to_string()
            .contains("newer than this provider"),
        "{}",
        resp.diagnostics
    );
}
