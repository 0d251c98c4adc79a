//! The modules and examples as users run them: each configuration validates with the real
//! Terraform CLI and the provider we built (schema, types and the modules' own `validation`
//! blocks), and a bad module input is refused with the module's message.

#![allow(clippy::unwrap_used)]

use gluepipe_tests::Terraform;

const CONFIGS: [&str; 5] = [
    "modules/json-to-parquet",
    "modules/pipelines-per-table",
    "examples/quickstart",
    "examples/many-tables",
    "examples/ecs",
];

fn validate(config: &str) -> gluepipe_tests::TfOutput {
    let tf = Terraform::from_repo(vec![], config).unwrap();
    // `get` installs local modules offline; `init` would ask the registry under dev_overrides.
    tf.run(&["get", "-no-color"]).unwrap().ok().unwrap();
    tf.run(&["validate", "-no-color"]).unwrap()
}

#[test]
fn every_module_and_example_validates() {
    for config in CONFIGS {
        let out = validate(config);
        assert_eq!(out.code, 0, "{config}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("The configuration is valid"),
            "{config}: {}",
            out.stdout
        );
    }
}

#[test]
fn module_validation_blocks_refuse_bad_inputs() {
    let tf = Terraform::from_repo(vec![], "examples/bad-input").unwrap();
    tf.write(
        "main.tf",
        r#"
module "p" {
  source          = "../../modules/json-to-parquet"
  name            = "orders"
  source_path     = "s3://raw-bucket/orders/"
  target_path     = "http://not-s3/"
  on_failure      = "explode"
  parallelism     = 2.5
  artifact_bucket = "artifacts"
  etl_binary      = "gluepipe-etl"
}
"#,
    )
    .unwrap();
    tf.run(&["get", "-no-color"]).unwrap().ok().unwrap();
    let out = tf.run(&["plan", "-no-color"]).unwrap();
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("The target_path must be an s3://bucket/prefix/ URI."),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("The on_failure must be one of fail, warn, quarantine."),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("The parallelism must be a whole number from 1 to 1000."),
        "{}",
        out.stderr
    );
}
