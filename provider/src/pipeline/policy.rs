//! IAM policy documents as typed data: what `expand` builds and what is sent to IAM.
//!
//! Only the shapes gluepipe writes (Allow statements with actions, resources, an optional
//! service principal and conditions). Comparing a document read back from AWS with the desired
//! one is the job of `aws::json_equiv`, which works on any JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const POLICY_VERSION: &str = "2012-10-17";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
}

/// `{"Service": "glue.amazonaws.com"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    #[serde(rename = "Service")]
    pub service: String,
}

/// Condition operator → condition key → values.
pub type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "Sid")]
    pub sid: String,
    #[serde(rename = "Effect")]
    pub effect: String,
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    #[serde(rename = "Action")]
    pub actions: Vec<String>,
    #[serde(rename = "Resource", default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(
        rename = "Condition",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub condition: Conditions,
}

impl Statement {
    /// Allows `actions` on `resources`. Both lists are sorted and de-duplicated so the same
    /// pipeline always yields byte-identical JSON.
    pub fn allow<A, R>(sid: &str, actions: A, resources: R) -> Statement
    where
        A: IntoIterator,
        A::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        Statement {
            sid: sid.to_string(),
            effect: "Allow".into(),
            principal: None,
            actions: sorted(actions),
            resources: sorted(resources),
            condition: Conditions::new(),
        }
    }

    /// Lets `service` assume the role that carries this trust statement.
    pub fn trust(sid: &str, service: &str) -> Statement {
        Statement {
            sid: sid.to_string(),
            effect: "Allow".into(),
            principal: Some(Principal {
                service: service.to_string(),
            }),
            actions: vec!["sts:AssumeRole".into()],
            resources: Vec::new(),
            condition: Conditions::new(),
        }
    }

    /// Adds a condition `operator: {key: values}`.
    pub fn when<V>(mut self, operator: &str, key: &str, values: V) -> Statement
    where
        V: IntoIterator,
        V::Item: Into<String>,
    {
        self.condition
            .entry(operator.to_string())
            .or_default()
            .insert(key.to_string(), sorted(values));
        self
    }
}

impl PolicyDocument {
    pub fn new(statements: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: POLICY_VERSION.into(),
            statements,
        }
    }

    /// Compact JSON, as sent to IAM.
    pub fn to_json(&self) -> String {
        // Plain strings, vectors and maps always serialise.
        serde_json::to_string(self).expect("policy documents serialise")
    }

    /// Every action of every statement.
    pub fn actions(&self) -> impl Iterator<Item = &str> {
        self.statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
    }

    pub fn statement(&self, sid: &str) -> Option<&Statement> {
        self.statements.iter().find(|s| s.sid == sid)
    }
}

fn sorted<I>(items: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    let mut v: Vec<String> = items.into_iter().map(Into::into).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn serialises_in_iam_shape() {
        let doc = PolicyDocument::new(vec![
            Statement::allow(
                "Read",
                ["s3:GetObject", "s3:GetObject"],
                ["arn:aws:s3:::b/p/*"],
            ),
            Statement::allow("List", ["s3:ListBucket"], ["arn:aws:s3:::b"]).when(
                "StringLike",
                "s3:prefix",
                ["p/*", "p"],
            ),
            Statement::trust("Trust", "glue.amazonaws.com"),
        ]);
        let json: serde_json::Value = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(json["Version"], "2012-10-17");
        assert_eq!(
            json["Statement"][0]["Action"],
            serde_json::json!(["s3:GetObject"])
        );
        assert_eq!(
            json["Statement"][1]["Condition"]["StringLike"]["s3:prefix"],
            serde_json::json!(["p", "p/*"])
        );
        assert_eq!(
            json["Statement"][2]["Principal"]["Service"],
            "glue.amazonaws.com"
        );
        assert!(json["Statement"][2].get("Resource").is_none());
        assert!(json["Statement"][0].get("Condition").is_none());
        let back: PolicyDocument = serde_json::from_str(&doc.to_json()).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn empty_document() {
        let doc = PolicyDocument::new(vec![]);
        assert_eq!(doc.to_json(), r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert_eq!(doc.actions().count(), 0);
        assert!(doc.statement("x").is_none());
    }
}
