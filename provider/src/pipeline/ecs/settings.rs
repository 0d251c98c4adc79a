//! The ECS settings of the `runtime` block as plain data, and the AWS facts they are checked
//! against: Fargate task sizes, cluster names and ARNs, subnet and security group ids, and the
//! ECR repository an image comes from.

use crate::pipeline::names::{AwsEnv, partition_of};

/// `runtime.kind` of the ECS runtime.
pub const KIND: &str = "ecs";

/// Defaults of the optional ECS settings: 1 vCPU and 2 GiB, no public IP.
pub const DEFAULT_CPU: i64 = 1024;
pub const DEFAULT_MEMORY: i64 = 2048;
pub const DEFAULT_ASSIGN_PUBLIC_IP: bool = false;

/// The Fargate CPU architectures (`runtimePlatform.cpuArchitecture`), default first. The image
/// must hold the `gluepipe-etl` built for it (the release has both; the `Dockerfile` builds
/// either).
pub const CPU_ARCHITECTURES: [&str; 2] = ["X86_64", "ARM64"];
pub const DEFAULT_CPU_ARCHITECTURE: &str = CPU_ARCHITECTURES[0];

/// RunTask accepts at most 16 subnets and 5 security groups.
pub const MAX_SUBNETS: usize = 16;
pub const MAX_SECURITY_GROUPS: usize = 5;

/// Where and how big the Fargate task is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsSettings {
    /// Cluster name or ARN, as configured.
    pub cluster: String,
    pub subnets: Vec<String>,
    /// Empty: the VPC's default security group.
    pub security_groups: Vec<String>,
    /// The container image holding `gluepipe-etl`.
    pub image: String,
    /// CPU units (1024 = 1 vCPU).
    pub cpu: i64,
    /// MiB.
    pub memory: i64,
    pub assign_public_ip: bool,
    /// One of [`CPU_ARCHITECTURES`], as ECS spells it.
    pub cpu_architecture: String,
}

impl Default for EcsSettings {
    fn default() -> Self {
        Self {
            cluster: String::new(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            image: String::new(),
            cpu: DEFAULT_CPU,
            memory: DEFAULT_MEMORY,
            assign_public_ip: DEFAULT_ASSIGN_PUBLIC_IP,
            cpu_architecture: DEFAULT_CPU_ARCHITECTURE.into(),
        }
    }
}

/// The CPU values Fargate (Linux) offers.
pub const FARGATE_CPUS: [i64; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// The memory sizes (MiB) Fargate allows with `cpu` units; `None` for a CPU value it does not
/// offer. (AWS's table: 256 → 0.5, 1 or 2 GiB; 512 → 1–4 GiB; 1024 → 2–8 GiB; 2048 → 4–16 GiB;
/// 4096 → 8–30 GiB, in 1 GiB steps; 8192 → 16–60 GiB in 4 GiB steps; 16384 → 32–120 GiB in
/// 8 GiB steps.)
pub fn fargate_memory_options(cpu: i64) -> Option<Vec<i64>> {
    let range = |low: i64, high: i64, step: i64| (low..=high).step_by(step as usize).collect();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122880, 8192),
        _ => return None,
    })
}

/// Checks a cpu/memory pair against Fargate's table.
pub fn check_task_size(cpu: i64, memory: i64) -> Result<(), TaskSizeError> {
    let Some(options) = fargate_memory_options(cpu) else {
        return Err(TaskSizeError::Cpu(format!(
            "{cpu} CPU units is not a Fargate task size; use one of {}",
            list(&FARGATE_CPUS)
        )));
    };
    if options.contains(&memory) {
        return Ok(());
    }
    let (first, last) = (options[0], options[options.len() - 1]);
    let allowed = if options.len() <= 4 {
        list(&options)
    } else {
        format!("{first} to {last} in steps of {}", options[1] - options[0])
    };
    Err(TaskSizeError::Memory(format!(
        "{memory} MiB is not allowed with {cpu} CPU units on Fargate; use {allowed} MiB"
    )))
}

/// Which half of a task size is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskSizeError {
    Cpu(String),
    Memory(String),
}

fn list(values: &[i64]) -> String {
    values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cluster resolved to its name and ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
}

/// Resolves a configured cluster (a name, or an ARN kept as given) in `env`.
pub fn resolve_cluster(cluster: &str, env: &AwsEnv) -> Cluster {
    match cluster.split_once(":cluster/") {
        Some((_, name)) if cluster.starts_with("arn:") => Cluster {
            name: name.to_string(),
            arn: cluster.to_string(),
        },
        _ => Cluster {
            name: cluster.to_string(),
            arn: format!(
                "arn:{}:ecs:{}:{}:cluster/{cluster}",
                env.partition, env.region, env.account_id
            ),
        },
    }
}

/// A cluster name (1–255 letters, digits, `-`, `_`) or a cluster ARN
/// (`arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME`).
pub fn check_cluster(cluster: &str) -> Result<(), String> {
    let name = if cluster.starts_with("arn:") {
        let parts: Vec<&str> = cluster.splitn(6, ':').collect();
        let [_, partition, service, region, account, resource] = parts[..] else {
            return Err(format!(
                "'{cluster}' is not a cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)"
            ));
        };
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if service != "ecs" || partition.is_empty() || region.is_empty() || !account_ok {
            return Err(format!(
                "'{cluster}' is not a cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)"
            ));
        }
        let Some(name) = resource.strip_prefix("cluster/") else {
            return Err(format!(
                "'{cluster}' is an ECS ARN but not a cluster's (…:cluster/NAME)"
            ));
        };
        name
    } else {
        cluster
    };
    if name.is_empty() {
        return Err("the cluster name is empty".into());
    }
    if name.len() > 255 {
        return Err(format!(
            "the cluster name is {} characters long; at most 255 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "the cluster name '{name}' contains {c:?}; ECS allows letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

/// An EC2 resource id: `PREFIX-` and 8 or 17 lower-case hex digits (`subnet-0a1b2c3d`).
pub fn check_ec2_id(id: &str, prefix: &str) -> Result<(), String> {
    let hex = id
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'));
    match hex {
        Some(h)
            if (h.len() == 8 || h.len() == 17)
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "'{id}' is not a {prefix} id ({prefix}- and 8 or 17 hex digits)"
        )),
    }
}

/// A container image reference: not empty, no whitespace, at most 255 characters before a
/// `@sha256:` digest.
pub fn check_image(image: &str) -> Result<(), String> {
    if image.trim().is_empty() {
        return Err(
            "give the container image that holds gluepipe-etl (see the repository's Dockerfile)"
                .into(),
        );
    }
    if image.chars().any(char::is_whitespace) {
        return Err(format!("'{image}' contains whitespace"));
    }
    let name = image.split_once('@').map_or(image, |(name, _)| name);
    if name.len() > 255 {
        return Err(format!(
            "the image name is {} characters long; ECS allows 255",
            name.len()
        ));
    }
    Ok(())
}

/// An image in a private ECR repository: what the execution role must be allowed to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRepository {
    pub account_id: String,
    pub region: String,
    pub name: String,
}

impl EcrRepository {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/NAME[:TAG][@DIGEST]`; `None` for any other
    /// registry (Docker Hub, ECR Public, GHCR, …), which needs no IAM permission to pull.
    pub fn of_image(image: &str) -> Option<EcrRepository> {
        let (host, path) = image.split_once('/')?;
        let (account_id, rest) = host.split_once(".dkr.ecr.")?;
        let region = rest
            .strip_suffix(".amazonaws.com.cn")
            .or_else(|| rest.strip_suffix(".amazonaws.com"))?;
        let account_ok = account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit());
        if !account_ok || region.is_empty() || region.contains('.') {
            return None;
        }
        let without_digest = path.split_once('@').map_or(path, |(p, _)| p);
        // A tag follows the last ':' only after the last '/' (registries may have ports, but
        // ECR hosts do not).
        let name = match without_digest.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => name,
            _ => without_digest,
        };
        (!name.is_empty()).then(|| EcrRepository {
            account_id: account_id.to_string(),
            region: region.to_string(),
            name: name.to_string(),
        })
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:{}:ecr:{}:{}:repository/{}",
            partition_of(&self.region),
            self.region,
            self.account_id,
            self.name
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fargate_sizes_follow_the_table() {
        let ok = [
            (256, 512),
            (256, 2048),
            (512, 4096),
            (1024, 2048),
            (1024, 8192),
            (2048, 16384),
            (4096, 30720),
            (8192, 16384),
            (8192, 61440),
            (16384, 122880),
        ];
        for (cpu, memory) in ok {
            assert_eq!(check_task_size(cpu, memory), Ok(()), "{cpu}/{memory}");
        }
        let bad_memory = [
            (256, 4096, "512, 1024, 2048"),
            (512, 512, "1024, 2048, 3072, 4096"),
            (1024, 1024, "2048 to 8192"),
            (1024, 2500, "steps of 1024"),
            (4096, 31744, "8192 to 30720"),
            (8192, 20000, "steps of 4096"),
            (16384, 36864, "steps of 8192"),
        ];
        for (cpu, memory, want) in bad_memory {
            match check_task_size(cpu, memory) {
                Err(TaskSizeError::Memory(m)) => assert!(m.contains(want), "{m}"),
                other => panic!("{cpu}/{memory}: {other:?}"),
            }
        }
        for cpu in [0, 100, 1000, 32768, -1] {
            assert!(
                matches!(check_task_size(cpu, 2048), Err(TaskSizeError::Cpu(m)) if m.contains("256, 512")),
                "{cpu}"
            );
        }
        assert_eq!(check_task_size(DEFAULT_CPU, DEFAULT_MEMORY), Ok(()));
    }

    #[test]
    fn clusters_by_name_or_arn() {
        let env = AwsEnv::new("eu-west-1", "123456789012");
        assert_eq!(
            resolve_cluster("etl", &env),
            Cluster {
                name: "etl".into(),
                arn: "arn:aws:ecs:eu-west-1:123456789012:cluster/etl".into()
            }
        );
        let arn = "arn:aws:ecs:eu-west-1:210987654321:cluster/shared";
        assert_eq!(
            resolve_cluster(arn, &env),
            Cluster {
                name: "shared".into(),
                arn: arn.into()
            }
        );
        for good in ["etl", "etl_cluster-2", arn, &"c".repeat(255)] {
            assert_eq!(check_cluster(good), Ok(()), "{good}");
        }
        let bad = [
            ("", "empty"),
            ("my cluster", "' '"),
            ("a/b", "'/'"),
            (
                "arn:aws:ecs:eu-west-1:123456789012:service/x",
                "not a cluster's",
            ),
            ("arn:aws:ecs:eu-west-1:1234:cluster/x", "not a cluster ARN"),
            ("arn:aws:iam::123456789012:role/x", "not a cluster ARN"),
            ("arn:aws:ecs:eu-west-1:123456789012:cluster/", "empty"),
        ];
        for (cluster, why) in bad {
            let err = check_cluster(cluster).expect_err(cluster);
            assert!(err.contains(why), "{cluster}: {err}");
        }
        assert!(check_cluster(&"c".repeat(256)).is_err());
    }

    #[test]
    fn ec2_ids() {
        for good in ["subnet-0a1b2c3d", "subnet-0123456789abcdef0"] {
            assert_eq!(check_ec2_id(good, "subnet"), Ok(()), "{good}");
        }
        assert_eq!(check_ec2_id("sg-12345678", "sg"), Ok(()));
        for bad in [
            "",
            "subnet-",
            "subnet-123",
            "subnet-0A1B2C3D",
            "subnet-0a1b2c3g",
            "sg-12345678",
            "subnet_0a1b2c3d",
            "subnet-0123456789abcdef",
        ] {
            let err = check_ec2_id(bad, "subnet").expect_err(bad);
            assert!(err.contains("not a subnet id"), "{err}");
        }
    }

    #[test]
    fn images() {
        for good in [
            "gluepipe-etl:1.0",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/gluepipe-etl:latest",
            "ghcr.io/acme/gluepipe-etl@sha256:0123",
        ] {
            assert_eq!(check_image(good), Ok(()), "{good}");
        }
        assert!(check_image("").unwrap_err().contains("Dockerfile"));
        assert!(check_image("  ").is_err());
        assert!(check_image("a b").unwrap_err().contains("whitespace"));
        assert!(check_image(&"a".repeat(256)).unwrap_err().contains("255"));
    }

    #[test]
    fn ecr_repositories_of_images() {
        let repo = |account: &str, region: &str, name: &str| {
            Some(EcrRepository {
                account_id: account.into(),
                region: region.into(),
                name: name.into(),
            })
        };
        let cases = [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/gluepipe-etl:1.2",
                repo("123456789012", "us-east-1", "gluepipe-etl"),
            ),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/etl",
                repo("123456789012", "eu-west-1", "team/etl"),
            ),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/etl@sha256:abc",
                repo("123456789012", "us-east-1", "etl"),
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/etl:v1",
                repo("123456789012", "cn-north-1", "etl"),
            ),
            ("gluepipe-etl:1.0", None),
            ("public.ecr.aws/acme/etl:1", None),
            ("ghcr.io/acme/etl:1", None),
            ("12345.dkr.ecr.us-east-1.amazonaws.com/etl", None),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com/", None),
        ];
        for (image, want) in cases {
            assert_eq!(EcrRepository::of_image(image), want, "{image}");
        }
        let arn = EcrRepository::of_image("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/etl")
            .map(|r| r.arn());
        assert_eq!(
            arn.as_deref(),
            Some("arn:aws-cn:ecr:cn-north-1:123456789012:repository/etl")
        );
    }
}
