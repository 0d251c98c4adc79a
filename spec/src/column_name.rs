//! Column names as Glue, Athena, Hive and Spark compare them: without regard to case (the
//! catalog lower-cases them), and never empty. Two columns whose names differ only by case are
//! one column to those readers, so a mapping that writes both is refused
//! ([`crate::pipeline`]), struct types that repeat a field are refused ([`crate::glue_type`]),
//! and an inferred schema renames the later ones ([`distinct_names`]).

use std::collections::HashSet;

/// The name as those readers compare it.
pub fn column_key(name: &str) -> String {
    name.to_lowercase()
}

/// Whether `a` and `b` name the same column for those readers.
pub fn same_column(a: &str, b: &str) -> bool {
    column_key(a) == column_key(b)
}

/// Names for columns called `names` (in order) that are pairwise distinct without regard to
/// case and never empty, changing as few as possible, deterministically: the first of each
/// case-insensitive spelling keeps its name; a later one becomes `<name>_2`, `<name>_3`, …, an
/// empty one `col<position>` (0-based, as Glue's crawler names unnamed columns), either with a
/// further `_N` if that is taken. Names kept are reserved first, so a rename never takes a name
/// that appears later.
pub fn distinct_names<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    let mut taken = HashSet::new();
    let keep: Vec<bool> = names
        .iter()
        .map(|n| !n.as_ref().is_empty() && taken.insert(column_key(n.as_ref())))
        .collect();
    names
        .iter()
        .zip(keep)
        .enumerate()
        .map(|(position, (name, keep))| {
            let name = name.as_ref();
            if keep {
                return name.to_string();
            }
            let base = if name.is_empty() {
                format!("col{position}")
            } else {
                name.to_string()
            };
            let mut candidate = base.clone();
            let mut n = 2;
            while (!name.is_empty() && candidate == base) || taken.contains(&column_key(&candidate))
            {
                candidate = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(column_key(&candidate));
            candidate
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_spellings_and_empty_names_are_renamed() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["id", "name"], &["id", "name"]),
            (&["id", "ID", "Id"], &["id", "ID_2", "Id_3"]),
            // `ID_2` exists later: the rename skips it.
            (&["id", "ID", "ID_2"], &["id", "ID_3", "ID_2"]),
            (&["a", ""], &["a", "col1"]),
            (&["", "col0"], &["col0_2", "col0"]),
            (&["", ""], &["col0", "col1"]),
            (
                &["Straße", "STRASSE", "straße"],
                &["Straße", "STRASSE", "straße_2"],
            ),
        ];
        for (names, want) in cases {
            assert_eq!(distinct_names(names), *want, "{names:?}");
        }
    }

    #[test]
    fn same_column_ignores_case() {
        assert!(same_column("OrderId", "orderid"));
        assert!(!same_column("order_id", "orderid"));
    }
}
