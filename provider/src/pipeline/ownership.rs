//! Which resource instance owns a child. Every child carries the instance's lineage id
//! (`instance_id`, made at create and kept in state): AWS resources as the tag
//! [`INSTANCE_TAG`], S3 objects as the user metadata [`crate::aws::artifacts::META_INSTANCE`].
//!
//! A create takes nothing it did not make: a child that exists and carries another id, or none,
//! is refused with its kind and name and how to import it, before anything is written. An update
//! adopts unmarked children (written by a release before the marker) and marks them. Read and
//! delete skip children marked by another instance, so two instances claiming one name (another
//! configuration, `count`, `create_before_destroy`) never take or delete each other's children.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use crate::framework::Diagnostic;

/// The tag naming the owning instance on every tagged child.
pub const INSTANCE_TAG: &str = "gluepipe:instance";

/// A fresh lineage id: 128 random bits as hex (std's `RandomState` is seeded by the OS).
pub fn new_instance_id() -> String {
    let word = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    format!("{:016x}{:016x}", word(), word())
}

/// `tags` with the owner's marker added (the marker is never part of `tags_all`).
pub fn marked(tags: &BTreeMap<String, String>, owner: &str) -> BTreeMap<String, String> {
    let mut tags = tags.clone();
    tags.insert(INSTANCE_TAG.to_owned(), owner.to_owned());
    tags
}

/// Removes the marker from a child's observed tags; returns it.
pub fn take_marker(tags: &mut BTreeMap<String, String>) -> Option<String> {
    tags.remove(INSTANCE_TAG)
}

/// A child that exists in AWS, and the instance its marker names (`None`: unmarked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it is, as the AWS provider names it: "IAM Role", "Glue Job", "S3 Object"…
    pub kind: &'static str,
    pub name: String,
    pub owner: Option<String>,
}

/// Whether the instance `me` may treat a child marked `owner` as its own. Without an id of its
/// own (an import stub) it takes whatever it finds; with one, unmarked children (earlier
/// releases) are its own, children marked by another instance are not.
pub fn is_mine(me: Option<&str>, owner: Option<&str>) -> bool {
    match (me, owner) {
        (None, _) | (_, None) => true,
        (Some(me), Some(owner)) => me == owner,
    }
}

/// Before a create (`creating`) or an update by instance `me` touches anything: every existing
/// child must be its own. A create owns only what carries its id (what its own earlier attempt
/// left); an update also adopts unmarked children.
pub fn check_claim(found: &[Found], me: &str, creating: bool) -> Result<(), Diagnostic> {
    let Some(child) = found.iter().find(|f| match &f.owner {
        Some(owner) => owner != me,
        None => creating,
    }) else {
        return Ok(());
    };
    Err(already_exists(child))
}

/// The `AlreadyExists` refusal for `child`.
pub fn already_exists(child: &Found) -> Diagnostic {
    let whose = match &child.owner {
        Some(owner) => format!("it belongs to another gluepipe_pipeline instance ({owner})"),
        None => "it was not created by this resource".to_owned(),
    };
    Diagnostic::error(
        "AlreadyExists: the pipeline's name is taken",
        format!(
            "{} {} already exists and {whose}. Nothing was created or changed. Another \
             configuration, a `count`/`for_each` repeating the name, or `create_before_destroy` \
             with a fixed name claims the same children. If this resource should manage the \
             existing pipeline, remove the other claim and import it: \
             `terraform import <resource address> <name>`; otherwise choose another `name`.",
            child.kind, child.name
        ),
    )
    .at(crate::framework::AttributePath::root("name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(owner: Option<&str>) -> Found {
        Found {
            kind: "IAM Role",
            name: "orders-glue".into(),
            owner: owner.map(str::to_owned),
        }
    }

    #[test]
    fn ids_are_fresh() {
        let (a, b) = (new_instance_id(), new_instance_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn create_takes_only_its_own() {
        assert!(check_claim(&[found(Some("me"))], "me", true).is_ok());
        assert!(check_claim(&[], "me", true).is_ok());
        let refused = check_claim(&[found(Some("me")), found(None)], "me", true);
        assert!(refused.is_err_and(|d| d.detail.contains("IAM Role orders-glue")));
        assert!(check_claim(&[found(Some("other"))], "me", true).is_err());
    }

    #[test]
    fn update_adopts_unmarked_children_only() {
        assert!(check_claim(&[found(None)], "me", false).is_ok());
        assert!(check_claim(&[found(Some("other"))], "me", false).is_err());
        assert!(is_mine(Some("me"), None));
        assert!(is_mine(None, Some("x")));
        assert!(!is_mine(Some("me"), Some("x")));
    }

    #[test]
    fn the_marker_stays_out_of_tags_all() {
        let tags = BTreeMap::from([("team".to_owned(), "data".to_owned())]);
        let mut m = marked(&tags, "id1");
        assert_eq!(take_marker(&mut m).as_deref(), Some("id1"));
        assert_eq!(m, tags);
    }
}
