//! Output names for an inferred schema that Glue, Athena and Spark can tell apart: they compare
//! column names without regard to case and cannot name an empty one, while JSON keys are
//! case-sensitive and may be empty. The rule is the mapping's ([`gluepipe_spec::column_name`]);
//! where a mapping refuses a collision (the user chose the names), inference renames the later
//! spelling deterministically (`ID` beside `id` → `ID_2`, `""` → `col<position>`), at every
//! level of nesting, and the run says so (`renamed_columns` in the run record, a warning in the
//! summary). Values are decoded under the input's names and written under these.

use gluepipe_spec::GlueType;
use gluepipe_spec::column_name::distinct_names;
use gluepipe_spec::glue_type::StructField;
use serde::Serialize;

/// A column or struct field written under another name than the input's key. Paths are dotted;
/// `[]` steps into array elements and map values (`items[].SKU`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenamedColumn {
    pub from: String,
    pub to: String,
}

/// `columns` with readable names at every level, and what was renamed (in column order).
pub fn readable_columns(
    columns: &[(String, GlueType)],
) -> (Vec<(String, GlueType)>, Vec<RenamedColumn>) {
    let mut renamed = Vec::new();
    let out = level(
        columns.iter().map(|(n, t)| (n.as_str(), t)),
        "",
        "",
        &mut renamed,
    );
    (out, renamed)
}

/// One level of names (top-level columns or a struct's fields) under the paths `from`/`to`.
fn level<'a>(
    fields: impl Iterator<Item = (&'a str, &'a GlueType)>,
    from: &str,
    to: &str,
    renamed: &mut Vec<RenamedColumn>,
) -> Vec<(String, GlueType)> {
    let fields: Vec<(&str, &GlueType)> = fields.collect();
    let names = distinct_names(&fields.iter().map(|(n, _)| *n).collect::<Vec<_>>());
    fields
        .into_iter()
        .zip(names)
        .map(|((name, ty), new)| {
            let (from, to) = (format!("{from}{name}"), format!("{to}{new}"));
            if name != new {
                renamed.push(RenamedColumn {
                    from: from.clone(),
                    to: to.clone(),
                });
            }
            let ty = readable_type(ty, &from, &to, renamed);
            (new, ty)
        })
        .collect()
}

fn readable_type(
    ty: &GlueType,
    from: &str,
    to: &str,
    renamed: &mut Vec<RenamedColumn>,
) -> GlueType {
    match ty {
        GlueType::Struct(fields) => GlueType::Struct(
            level(
                fields.iter().map(|f| (f.name.as_str(), &f.data_type)),
                &format!("{from}."),
                &format!("{to}."),
                renamed,
            )
            .into_iter()
            .map(|(name, data_type)| StructField { name, data_type })
            .collect(),
        ),
        GlueType::Array(item) => GlueType::Array(Box::new(readable_type(
            item,
            &format!("{from}[]"),
            &format!("{to}[]"),
            renamed,
        ))),
        GlueType::Map(key, value) => GlueType::Map(
            key.clone(),
            Box::new(readable_type(
                value,
                &format!("{from}[]"),
                &format!("{to}[]"),
                renamed,
            )),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use gluepipe_spec::parse_glue_type;

    use super::*;

    #[test]
    fn collisions_are_renamed_at_every_level() {
        // Built by hand: the Glue type parser refuses such structs.
        let fields = |a: &str, b: &str| {
            GlueType::Struct(vec![
                StructField {
                    name: a.into(),
                    data_type: GlueType::String,
                },
                StructField {
                    name: b.into(),
                    data_type: GlueType::String,
                },
            ])
        };
        let columns: Vec<(String, GlueType)> = vec![
            ("id".into(), GlueType::BigInt),
            ("ID".into(), parse_glue_type("string").unwrap()),
            ("".into(), GlueType::BigInt),
            ("a".into(), fields("x", "X")),
            (
                "items".into(),
                GlueType::Array(Box::new(fields("sku", "SKU"))),
            ),
        ];
        let (out, renamed) = readable_columns(&columns);
        let printed: Vec<(String, String)> = out
            .iter()
            .map(|(n, t)| (n.clone(), t.to_string()))
            .collect();
        assert_eq!(
            printed,
            [
                ("id", "bigint"),
                ("ID_2", "string"),
                ("col2", "bigint"),
                ("a", "struct<x:string,X_2:string>"),
                ("items", "array<struct<sku:string,SKU_2:string>>"),
            ]
            .map(|(n, t)| (n.to_string(), t.to_string()))
        );
        let pairs: Vec<(&str, &str)> = renamed
            .iter()
            .map(|r| (r.from.as_str(), r.to.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("ID", "ID_2"),
                ("", "col2"),
                ("a.X", "a.X_2"),
                ("items[].SKU", "items[].SKU_2")
            ]
        );
        let plain = [("a".to_string(), GlueType::BigInt)];
        assert_eq!(readable_columns(&plain), (plain.to_vec(), Vec::new()));
    }
}
