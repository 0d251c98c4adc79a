//! The pipelines one configuration plans. Terraform plans every `gluepipe_pipeline` of a
//! provider configuration in one provider process, one plan per instance, so two of them that
//! claim one name (AWS compares IAM role names case-insensitively) or nest their artifact
//! folders (`gp/` and `gp/a1/`: one role could read the other's artifacts) meet here, at plan,
//! before either touches AWS. Across configurations (other processes) the ownership check at
//! create refuses the same collisions (see `ownership`).
//!
//! A replacement is planned twice in one walk: with its prior state, then again as a create
//! (no prior state). Two plans are therefore compared only when they are certainly of two
//! instances: both are creates, or both have prior states of different instances.

use std::sync::Mutex;

use gluepipe_spec::S3Uri;

use crate::framework::{AttributePath, Diagnostic};

/// One plan's claim: the pipeline's name, its artifact folder and, if it exists, its instance.
#[derive(Debug, Clone)]
pub struct Claim {
    pub name: String,
    pub folder: S3Uri,
    pub instance: Option<String>,
}

/// What a plan collides with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collision {
    /// Another pipeline planned with this name, in another case or the same.
    Name { other: String },
    /// Another pipeline's artifact folder contains this one's, or lies inside it.
    Folder { mine: String, other: String },
}

/// Every claim made in this provider process.
#[derive(Default)]
pub struct Siblings {
    claims: Mutex<Vec<Claim>>,
}

impl Siblings {
    /// Records `claim`, or returns the collision with an earlier sibling's (then unrecorded).
    pub fn claim(&self, claim: Claim) -> Option<Collision> {
        let mut claims = self
            .claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let collision = claims
            .iter()
            .filter(|other| of_two_instances(&claim, other))
            .find_map(|other| collides(&claim, other));
        if collision.is_none() {
            claims.push(claim);
        }
        collision
    }
}

impl Collision {
    /// The plan-time error, at the attribute to change.
    pub fn diagnostic(&self) -> Diagnostic {
        match self {
            Collision::Name { other } => Diagnostic::error(
                "Two pipelines claim one name",
                format!(
                    "another gluepipe_pipeline of this configuration is named \"{other}\". Each \
                     pipeline's Glue job, IAM roles and state machine are named after it, and IAM \
                     role names are case-insensitive, so only one of the two could own them. Give \
                     each pipeline its own name (with count or for_each, include count.index or \
                     each.key)."
                ),
            )
            .at(AttributePath::root("name")),
            Collision::Folder { mine, other } => Diagnostic::error(
                "Artifact folders nest",
                format!(
                    "this pipeline's artifact folder {mine} and another gluepipe_pipeline's, \
                     {other}, lie one inside the other. A pipeline's job role reads its whole \
                     folder, so one pipeline could read the other's artifacts. Choose \
                     runtime.artifact_prefix values whose folders do not nest."
                ),
            )
            .at(AttributePath::root("runtime").attr("artifact_prefix")),
        }
    }
}

fn of_two_instances(a: &Claim, b: &Claim) -> bool {
    match (&a.instance, &b.instance) {
        (None, None) => true,
        (Some(a), Some(b)) => a != b,
        _ => false, // perhaps one replacement's two plans
    }
}

fn collides(mine: &Claim, other: &Claim) -> Option<Collision> {
    if mine.name.eq_ignore_ascii_case(&other.name) {
        return Some(Collision::Name {
            other: other.name.clone(),
        });
    }
    let nested = mine.folder.bucket == other.folder.bucket
        && (mine.folder.key.starts_with(&other.folder.key)
            || other.folder.key.starts_with(&mine.folder.key));
    nested.then(|| Collision::Folder {
        mine: mine.folder.to_string(),
        other: other.folder.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn claim(name: &str, folder: &str, instance: Option<&str>) -> Claim {
        Claim {
            name: name.into(),
            folder: S3Uri {
                bucket: "artifacts".into(),
                key: folder.into(),
            },
            instance: instance.map(str::to_owned),
        }
    }

    #[test]
    fn two_creates_of_one_name_in_any_case_collide() {
        let s = Siblings::default();
        assert_eq!(s.claim(claim("orders", "gp/orders/", None)), None);
        assert_eq!(
            s.claim(claim("Orders", "gp/Orders/", None)),
            Some(Collision::Name {
                other: "orders".into()
            })
        );
        assert_eq!(
            s.claim(claim("orders", "gp/orders/", None)),
            Some(Collision::Name {
                other: "orders".into()
            })
        );
    }

    #[test]
    fn nested_artifact_folders_collide_in_one_bucket_only() {
        let s = Siblings::default();
        assert_eq!(s.claim(claim("gp", "gp/", Some("a"))), None);
        assert_eq!(
            s.claim(claim("a1", "gp/a1/", Some("b"))),
            Some(Collision::Folder {
                mine: "s3://artifacts/gp/a1/".into(),
                other: "s3://artifacts/gp/".into()
            })
        );
        let mut elsewhere = claim("a2", "gp/a2/", Some("c"));
        elsewhere.folder.bucket = "other-bucket".into();
        assert_eq!(s.claim(elsewhere), None);
        // A sibling folder that merely shares a prefix of characters does not nest.
        assert_eq!(s.claim(claim("gpx", "gpx/", Some("d"))), None);
    }

    #[test]
    fn a_replacements_second_plan_is_not_a_collision() {
        let s = Siblings::default();
        assert_eq!(s.claim(claim("orders", "gp/orders/", Some("a"))), None);
        assert_eq!(s.claim(claim("orders", "gp/orders/", None)), None);
        // Re-planning an instance is not a collision with itself either.
        assert_eq!(s.claim(claim("orders", "gp/orders/", Some("a"))), None);
        assert!(
            s.claim(claim("ORDERS", "gp/ORDERS/", Some("b"))).is_some(),
            "two existing instances"
        );
    }
}
