//! When are two JSON documents "the same" to AWS? Drift detection must not report a change
//! when AWS only returns a normalised form of what gluepipe sent (the perpetual-diff complaint
//! of `aws_sfn_state_machine` and policy resources), and must report every real change.
//!
//! - IAM policies come back percent-encoded, and IAM ignores order in statements, in
//!   `Action`/`Resource` lists and in condition values, and reads `"x"` as `["x"]`.
//! - State machine definitions are compared as JSON values: key order and whitespace do not
//!   matter, array order does (choices, retriers and catchers are ordered), and `2` equals `2.0`.
//!
//! [`keep_if_equivalent`] returns the prior (user's or planned) bytes when the read-back form is
//! equivalent, so the state never flips between two spellings.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Decodes `%XX` escapes (RFC 3986, as IAM encodes policy documents). Text that is plain JSON
/// already (starts with `{` after whitespace) is returned unchanged, so decoding twice is safe.
pub fn percent_decode(text: &str) -> Cow<'_, str> {
    if text.trim_start().starts_with('{') || !text.contains('%') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// True if two IAM policy documents (each possibly percent-encoded) grant the same thing.
/// Text that is not JSON is compared as text.
pub fn policies_equivalent(a: &str, b: &str) -> bool {
    let (a, b) = (percent_decode(a), percent_decode(b));
    match (
        serde_json::from_str::<Value>(&a),
        serde_json::from_str::<Value>(&b),
    ) {
        (Ok(a), Ok(b)) => normalise_policy(&a) == normalise_policy(&b),
        _ => a == b,
    }
}

/// True if two state machine definitions are the same JSON value.
pub fn definitions_equivalent(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => json_equal(&a, &b),
        _ => a == b,
    }
}

/// `prior` if it is equivalent to `observed`, else `observed` (percent-decoded if it was encoded).
pub fn keep_if_equivalent(
    prior: Option<&str>,
    observed: &str,
    equivalent: fn(&str, &str) -> bool,
) -> String {
    match prior {
        Some(prior) if equivalent(prior, observed) => prior.to_string(),
        _ => percent_decode(observed).into_owned(),
    }
}

/// A canonical form of a policy under IAM's equivalences.
fn normalise_policy(doc: &Value) -> Value {
    let Value::Object(doc) = doc else {
        return doc.clone();
    };
    let mut out = Map::new();
    for (key, value) in doc {
        let value = if key == "Statement" {
            let mut statements: Vec<Value> =
                one_or_many(value).iter().map(normalise_statement).collect();
            statements.sort_by_key(|s| s.to_string());
            statements.dedup();
            Value::Array(statements)
        } else {
            value.clone()
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

fn normalise_statement(statement: &Value) -> Value {
    let Value::Object(statement) = statement else {
        return statement.clone();
    };
    let mut out = Map::new();
    for (key, value) in statement {
        let value = match key.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(value),
            "Principal" | "NotPrincipal" => match value {
                Value::Object(p) => {
                    Value::Object(p.iter().map(|(k, v)| (k.clone(), string_set(v))).collect())
                }
                other => other.clone(),
            },
            "Condition" => match value {
                Value::Object(ops) => Value::Object(
                    ops.iter()
                        .map(|(op, keys)| {
                            let keys = match keys {
                                Value::Object(keys) => Value::Object(
                                    keys.iter()
                                        .map(|(k, v)| (k.clone(), string_set(v)))
                                        .collect(),
                                ),
                                other => other.clone(),
                            };
                            (op.clone(), keys)
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// `"x"` or `["x", …]` (IAM also accepts numbers and booleans in conditions, as strings) →
/// a sorted, de-duplicated array of strings.
fn string_set(value: &Value) -> Value {
    let mut items: Vec<String> = one_or_many(value)
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    items.sort();
    items.dedup();
    Value::Array(items.into_iter().map(Value::String).collect())
}

fn one_or_many(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Structural equality where numbers compare by value (`2` = `2.0`).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        let cases = [
            ("", ""),
            ("%7B%22a%22%3A1%7D", r#"{"a":1}"#),
            (r#"{"a":"100%"}"#, r#"{"a":"100%"}"#),
            ("%7B%22a%22%3A%22x%2By%20z%22%7D", r#"{"a":"x+y z"}"#),
            ("50%", "50%"),
            ("%zz%4", "%zz%4"),
            ("%C3%A9", "é"),
        ];
        for (input, want) in cases {
            assert_eq!(percent_decode(input), want, "{input}");
        }
    }

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"A","Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]},
        {"Sid":"B","Effect":"Allow","Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::b"],
         "Condition":{"StringLike":{"s3:prefix":["x/*","y/*"]}}}]}"#;

    #[test]
    fn policies_equal_under_iam_rules() {
        let equivalent = [
            // as IAM returns it: encoded, compact
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22B%22%2C%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AListBucket%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%22%2C%22Condition%22%3A%7B%22StringLike%22%3A%7B%22s3%3Aprefix%22%3A%5B%22y%2F%2A%22%2C%22x%2F%2A%22%5D%7D%7D%7D%2C%7B%22Sid%22%3A%22A%22%2C%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22s3%3AGetObject%22%2C%22s3%3APutObject%22%5D%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%5D%7D",
            // statements and lists reordered, strings for one-element lists, whitespace
            r#"{ "Statement": [
                {"Effect":"Allow","Sid":"B","Resource":"arn:aws:s3:::b","Action":"s3:ListBucket",
                 "Condition":{"StringLike":{"s3:prefix":["y/*","x/*","x/*"]}}},
                {"Sid":"A","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::b/*"}],
               "Version": "2012-10-17" }"#,
        ];
        for other in equivalent {
            assert!(policies_equivalent(POLICY, other), "{other}");
            assert!(policies_equivalent(other, POLICY), "{other}");
        }
    }

    #[test]
    fn real_policy_changes_are_seen() {
        let different = [
            POLICY.replace("s3:PutObject", "s3:DeleteObject"),
            POLICY.replace("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*"),
            POLICY.replace(r#""y/*""#, r#""z/*""#),
            POLICY.replace("Allow", "Deny"),
            POLICY.replace(r#","y/*""#, ""),
            r#"{"Version":"2012-10-17","Statement":[]}"#.to_string(),
            "not json".to_string(),
        ];
        for other in different {
            assert!(!policies_equivalent(POLICY, &other), "{other}");
        }
        assert!(policies_equivalent("not json", "not json"));
    }

    #[test]
    fn definitions_compare_as_json_values() {
        let a = r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Retry":[{"BackoffRate":2.0},{"MaxAttempts":3}]}}}"#;
        let same = "{\n  \"States\": {\"A\": {\"End\": true, \"Type\": \"Pass\", \"Retry\": [{\"BackoffRate\": 2}, {\"MaxAttempts\": 3}]}},\n  \"StartAt\": \"A\"\n}";
        assert!(definitions_equivalent(a, same));
        let reordered = a.replace(
            r#"[{"BackoffRate":2.0},{"MaxAttempts":3}]"#,
            r#"[{"MaxAttempts":3},{"BackoffRate":2.0}]"#,
        );
        assert!(
            !definitions_equivalent(a, &reordered),
            "array order matters in ASL"
        );
        assert!(!definitions_equivalent(a, &a.replace("Pass", "Succeed")));
        assert!(!definitions_equivalent(a, &a.replace(r#","End":true"#, "")));
        assert!(!definitions_equivalent(a, ""));
    }

    #[test]
    fn prior_bytes_are_kept_when_equivalent() {
        let observed = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        let prior = "{ \"Statement\": [], \"Version\": \"2012-10-17\" }";
        assert_eq!(
            keep_if_equivalent(Some(prior), observed, policies_equivalent),
            prior
        );
        assert_eq!(
            keep_if_equivalent(
                Some(r#"{"Version":"2012-10-17","Statement":[{"Sid":"x"}]}"#),
                observed,
                policies_equivalent
            ),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
        assert_eq!(
            keep_if_equivalent(None, observed, policies_equivalent),
            r#"{"Version":"2012-10-17","Statement":[]}"#
        );
    }
}
