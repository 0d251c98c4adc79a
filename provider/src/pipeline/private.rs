//! The resource's private state: a JSON object Terraform keeps beside the state and hands back
//! unread (ReadResource `private`, PlanResourceChange `prior_private`). Keys this module does not
//! know are kept, so other uses can share it.
//!
//! `etl_binary_sha256_at_refresh`: the local binary's hash when the pipeline was last read. A
//! plan's refresh records it and a saved plan carries it to apply, whose re-plan can then tell
//! that the binary was rebuilt after the plan (Terraform hands that re-plan the private state of
//! the plan's refresh, never the plan's own `planned_private`).

use serde_json::{Map, Value};

const REFRESHED_SHA: &str = "etl_binary_sha256_at_refresh";

fn object(private: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(private) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn bytes(map: Map<String, Value>) -> Vec<u8> {
    if map.is_empty() {
        return Vec::new();
    }
    serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
}

/// The binary's hash recorded by the last refresh, if any.
pub fn refreshed_binary_sha256(private: &[u8]) -> Option<String> {
    object(private)
        .get(REFRESHED_SHA)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `private` with the hash a refresh found (none: the binary could not be read).
pub fn with_refreshed_binary(private: &[u8], sha256: Option<&str>) -> Vec<u8> {
    let mut map = object(private);
    match sha256 {
        Some(sha) => map.insert(REFRESHED_SHA.into(), Value::from(sha)),
        None => map.remove(REFRESHED_SHA),
    };
    bytes(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refreshed_hash_round_trips_and_other_keys_stay() {
        assert_eq!(refreshed_binary_sha256(b""), None);
        assert_eq!(refreshed_binary_sha256(b"not json"), None);
        let p = with_refreshed_binary(br#"{"owner":"x"}"#, Some("abc"));
        assert_eq!(refreshed_binary_sha256(&p).as_deref(), Some("abc"));
        let cleared = with_refreshed_binary(&p, None);
        assert_eq!(refreshed_binary_sha256(&cleared), None);
        assert_eq!(cleared, br#"{"owner":"x"}"#);
        assert!(with_refreshed_binary(b"", None).is_empty());
    }
}
