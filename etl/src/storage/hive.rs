//! Hive-style partition paths: `col=value/` folders, as Athena, Spark, Hive and Glue write and
//! read them. Names and values are escaped the way Hive escapes them (`%XX` for `/`, `=`, `:`,
//! `%`, control characters and a few more), and a null or empty value is Hive's
//! `__HIVE_DEFAULT_PARTITION__`.

/// The folder name Hive uses for a null (or empty) partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// One `name=value` folder of a partition path; `None` is the null partition.
pub type PartitionValue = (String, Option<String>);

/// The characters Hive's `FileUtils.escapePathName` escapes (besides control characters).
fn must_escape(c: char) -> bool {
    c.is_ascii_control()
        || matches!(
            c,
            '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^'
        )
}

/// Escapes a partition column name or value for use in a path segment.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if must_escape(c) {
            out.push_str(&format!("%{:02X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses [`escape`]; a `%` not followed by two hex digits is kept as it is.
pub fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The folder path for partition values, e.g. `day=2024-01-01/country=NZ` (no trailing `/`).
pub fn partition_path(values: &[(&str, Option<&str>)]) -> String {
    values
        .iter()
        .map(|(name, value)| {
            let value = match value {
                Some(v) if !v.is_empty() => escape(v),
                _ => DEFAULT_PARTITION.to_string(),
            };
            format!("{}={value}", escape(name))
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every `name=value` folder in a relative object key, in order (the file name is not a folder).
pub fn parse_partition_path(key: &str) -> Vec<PartitionValue> {
    let mut segments: Vec<&str> = key.split('/').collect();
    segments.pop();
    segments
        .into_iter()
        .filter_map(|segment| {
            let (name, value) = segment.split_once('=')?;
            if name.is_empty() {
                return None;
            }
            let value = (value != DEFAULT_PARTITION).then(|| unescape(value));
            Some((unescape(name), value))
        })
        .collect()
}

/// The values of `columns` (matched case-insensitively, as Glue lower-cases names) from a
/// key's partition folders, in the order of `columns`; `None` if any is missing.
pub fn values_for(key: &str, columns: &[String]) -> Option<Vec<PartitionValue>> {
    let found = parse_partition_path(key);
    columns
        .iter()
        .map(|column| {
            found
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(column))
                .map(|(_, value)| (column.clone(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn escapes_like_hive() {
        let cases = [
            ("2024-01-01", "2024-01-01"),
            ("a/b", "a%2Fb"),
            ("k=v", "k%3Dv"),
            ("12:30", "12%3A30"),
            ("100%", "100%25"),
            ("tab\there", "tab%09here"),
            ("ünïcode space", "ünïcode space"),
            ("", ""),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape(raw), escaped, "{raw:?}");
            assert_eq!(unescape(escaped), raw, "{escaped:?}");
        }
        // Stray percent signs survive unescaping.
        assert_eq!(unescape("50%"), "50%");
        assert_eq!(unescape("%zz%4"), "%zz%4");
    }

    #[test]
    fn builds_and_parses_partition_paths() {
        let path = partition_path(&[
            ("day", Some("2024-01-01")),
            ("city", Some("a/b")),
            ("x", None),
            ("y", Some("")),
        ]);
        assert_eq!(
            path,
            "day=2024-01-01/city=a%2Fb/x=__HIVE_DEFAULT_PARTITION__/y=__HIVE_DEFAULT_PARTITION__"
        );
        let parsed = parse_partition_path(&format!("{path}/part-0.parquet"));
        assert_eq!(
            parsed,
            [
                ("day".to_string(), Some("2024-01-01".to_string())),
                ("city".to_string(), Some("a/b".to_string())),
                ("x".to_string(), None),
                ("y".to_string(), None),
            ]
        );
        assert!(
            parse_partition_path("file=1.json").is_empty(),
            "the file name is not a folder"
        );
        assert!(parse_partition_path("plain/folder/x.json").is_empty());
        assert!(parse_partition_path("").is_empty());
    }

    #[test]
    fn picks_values_for_known_columns() {
        let key = "extra/Day=2024-01-01/country=NZ/part.json";
        let cols = vec!["day".to_string(), "country".to_string()];
        assert_eq!(
            values_for(key, &cols).unwrap(),
            [
                ("day".to_string(), Some("2024-01-01".to_string())),
                ("country".to_string(), Some("NZ".to_string()))
            ]
        );
        assert_eq!(values_for("day=1/part.json", &cols), None);
        assert_eq!(values_for("part.json", &[]), Some(vec![]));
    }
}
