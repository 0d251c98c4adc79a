//! The `gluepipe_pipeline` resource's configuration as plain Rust data.
//!
//! The pipeline part *is* the spec crate's [`PipelineSpec`] (the very document uploaded to S3 and
//! run by `gluepipe-etl`), so the resource never keeps a second copy of those fields. What the
//! spec does not know — where and how it runs in AWS, and the tags — lives in [`RuntimeConfig`]
//! and [`PipelineConfig::tags`]. Conversion from Terraform values is in `pipeline::values`.

use std::collections::BTreeMap;

use gluepipe_spec::PipelineSpec;

pub use super::ecs::EcsSettings;

/// Defaults the resource pins explicitly, so AWS never picks (and later changes) them.
pub mod defaults {
    pub const RUNTIME_KIND: &str = "python-shell";
    pub const ARTIFACT_PREFIX: &str = "gluepipe/";
    /// 1/16 DPU, the smallest Python-shell job (about 1 GB of memory).
    pub const MAX_CAPACITY: f64 = 0.0625;
    pub const TIMEOUT_MINUTES: i64 = 60;
    pub const MAX_RETRIES: i64 = 0;
    pub const MAX_CONCURRENT_RUNS: i64 = 1;
    /// One run converts every file: no Distributed Map.
    pub const PARALLELISM: i64 = 1;
    pub const FILES_PER_SHARD: i64 = 16;
}

/// The capacities Glue allows for a `pythonshell` job.
pub const PYTHON_SHELL_CAPACITIES: [f64; 2] = [0.0625, 1.0];

/// Everything the resource's configuration says.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Name, description, source, mapping, data quality and target.
    pub spec: PipelineSpec,
    pub runtime: RuntimeConfig,
    /// The resource's own tags (`tags_all` adds the provider's `default_tags`).
    pub tags: BTreeMap<String, String>,
}

/// Where and how the pipeline runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// `python-shell` (the only kind so far; `ecs` comes with a later issue).
    pub kind: String,
    pub artifact_bucket: String,
    /// Key prefix in `artifact_bucket`; each pipeline keeps its objects under `<prefix><name>/`.
    pub artifact_prefix: String,
    /// Local path of the `gluepipe-etl` binary to upload.
    pub etl_binary: String,
    pub max_capacity: f64,
    pub timeout_minutes: i64,
    pub max_retries: i64,
    pub max_concurrent_runs: i64,
    /// The ECS runtime's settings (`kind = "ecs"`); their defaults for any other kind.
    pub ecs: EcsSettings,
    pub scale_out: ScaleOut,
}

/// `runtime.parallelism` and `runtime.files_per_shard`, as configured: unset stays `None`, so a
/// pipeline written before scale-out existed keeps a null in state and an empty plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScaleOut {
    pub parallelism: Option<i64>,
    pub files_per_shard: Option<i64>,
}

impl ScaleOut {
    /// How many shard runs may convert files at once (1: a single run, no map).
    pub fn parallelism(&self) -> i64 {
        self.parallelism.unwrap_or(defaults::PARALLELISM)
    }

    /// How many source objects each shard run converts.
    pub fn files_per_shard(&self) -> i64 {
        self.files_per_shard.unwrap_or(defaults::FILES_PER_SHARD)
    }

    /// Whether the state machine fans out over the source's files.
    pub fn is_sharded(&self) -> bool {
        self.parallelism() > 1
    }
}

impl RuntimeConfig {
    /// A runtime with every optional setting at its default.
    pub fn new(artifact_bucket: impl Into<String>, etl_binary: impl Into<String>) -> Self {
        Self {
            kind: defaults::RUNTIME_KIND.to_string(),
            artifact_bucket: artifact_bucket.into(),
            artifact_prefix: defaults::ARTIFACT_PREFIX.to_string(),
            etl_binary: etl_binary.into(),
            max_capacity: defaults::MAX_CAPACITY,
            timeout_minutes: defaults::TIMEOUT_MINUTES,
            max_retries: defaults::MAX_RETRIES,
            max_concurrent_runs: defaults::MAX_CONCURRENT_RUNS,
            ecs: EcsSettings::default(),
            scale_out: ScaleOut::default(),
        }
    }
}

impl PipelineConfig {
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_defaults_are_pinned() {
        let rt = RuntimeConfig::new("artifacts", "bin/gluepipe-etl");
        assert_eq!(rt.kind, "python-shell");
        assert_eq!(rt.artifact_prefix, "gluepipe/");
        assert_eq!(rt.max_capacity, 0.0625);
        assert!(PYTHON_SHELL_CAPACITIES.contains(&rt.max_capacity));
        assert_eq!(
            (rt.timeout_minutes, rt.max_retries, rt.max_concurrent_runs),
            (60, 0, 1)
        );
        assert_eq!(rt.scale_out, ScaleOut::default());
        assert_eq!(
            (rt.scale_out.parallelism(), rt.scale_out.files_per_shard()),
            (1, 16)
        );
        assert!(!rt.scale_out.is_sharded());
    }

    #[test]
    fn scale_out_is_sharded_above_one_run() {
        for (parallelism, sharded) in [(None, false), (Some(1), false), (Some(2), true)] {
            let s = ScaleOut {
                parallelism,
                files_per_shard: Some(3),
            };
            assert_eq!(s.is_sharded(), sharded, "{parallelism:?}");
            assert_eq!(s.files_per_shard(), 3);
        }
    }
}
