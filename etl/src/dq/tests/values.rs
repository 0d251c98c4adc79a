//! ColumnValues (number, string and date conditions), ColumnLength, ColumnDataType and
//! DataFreshness: per-row checks decided on the share of rows that pass.

use super::*;

/// `(outcome, ColumnValues compliance)` of a rule over orders.
fn compliance(text: &str, key: &str) -> (Outcome, f64) {
    let r = rule(text);
    (r.outcome, metric(&r, key))
}

#[test]
fn column_values_numbers() {
    // qty 10 null 30 30 50 null: every non-null value > 5, but nulls fail
    let r = expect("ColumnValues \"qty\" > 5", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: NULL does not meet the constraint requirement!")
    );
    close(metric(&r, "Column.qty.Minimum"), 10.0);
    assert!(!r.evaluated_metrics.contains_key("Column.qty.Maximum"));
    expect(
        "ColumnValues \"qty\" > 5 where \"qty is not null\"",
        Outcome::Passed,
    );
    // minimum 10 is not > 10
    let r = expect(
        "ColumnValues \"qty\" > 10 where \"qty is not null\"",
        Outcome::Failed,
    );
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 10.0 does not meet the constraint requirement!")
    );
    let r = expect(
        "ColumnValues \"qty\" <= 50 where \"qty is not null\"",
        Outcome::Passed,
    );
    close(metric(&r, "Column.qty.Maximum"), 50.0);

    let key = "Column.qty.ColumnValues.Compliance";
    // rows passing, of 6: in [10, 30] → 10 30 30 = 3 (nulls fail)
    assert_eq!(
        compliance("ColumnValues \"qty\" in [10, 30]", key),
        (Outcome::Failed, 0.5)
    );
    // NULL in the set accepts nulls: all 6
    assert_eq!(
        compliance("ColumnValues \"qty\" in [10, 30, 50, NULL]", key),
        (Outcome::Passed, 1.0)
    );
    // != 30: 10, 50 and the two nulls pass = 4
    assert_eq!(compliance("ColumnValues \"qty\" != 30", key).1, 4.0 / 6.0);
    // not in [30]: as != → 4; not in [30, NULL]: nulls fail too → 2
    assert_eq!(
        compliance("ColumnValues \"qty\" not in [30]", key).1,
        4.0 / 6.0
    );
    assert_eq!(
        compliance("ColumnValues \"qty\" not in [30, NULL]", key).1,
        2.0 / 6.0
    );
    // between is exclusive: 30 30 → 2; not between: 10 50 → 2 (nulls fail)
    assert_eq!(
        compliance("ColumnValues \"qty\" between 10 and 50", key).1,
        2.0 / 6.0
    );
    assert_eq!(
        compliance("ColumnValues \"qty\" not between 10 and 50", key).1,
        2.0 / 6.0
    );
    // = NULL: the 2 nulls; != NULL: the 4 others
    assert_eq!(compliance("ColumnValues \"qty\" = NULL", key).1, 2.0 / 6.0);
    assert_eq!(compliance("ColumnValues \"qty\" != NULL", key).1, 4.0 / 6.0);
    // thresholds: 3/6 = 0.5
    assert_eq!(
        compliance(
            "ColumnValues \"qty\" in [10, 30] with threshold >= 0.5",
            key
        ),
        (Outcome::Passed, 0.5)
    );
    let r = expect(
        "ColumnValues \"qty\" in [10, 30] with threshold > 0.5",
        Outcome::Failed,
    );
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 0.5 does not meet the constraint requirement!")
    );
    // with a threshold the > form is decided on compliance: 10 30 30 50 of 6 = 0.6667
    assert_eq!(
        compliance("ColumnValues \"qty\" > 5 with threshold > 0.6", key).0,
        Outcome::Passed
    );
    // where: NY rows 10 30 50 — in [10, 30] → 2 of 3
    assert_eq!(
        compliance(
            "ColumnValues \"qty\" in [10, 30] where \"city = 'NY'\"",
            key
        )
        .1,
        2.0 / 3.0
    );
    expect("ColumnValues \"qty\" > avg(last(3))", Outcome::Error);
}

#[test]
fn column_values_strings() {
    let key = "Column.city.ColumnValues.Compliance";
    // city NY SF NY LA NY null
    assert_eq!(
        compliance("ColumnValues \"city\" in [\"NY\", \"SF\", \"LA\"]", key),
        (Outcome::Failed, 5.0 / 6.0)
    );
    assert_eq!(
        compliance(
            "ColumnValues \"city\" in [\"NY\", \"SF\", \"LA\", NULL]",
            key
        ),
        (Outcome::Passed, 1.0)
    );
    // != NY: SF LA and the null → 3
    assert_eq!(compliance("ColumnValues \"city\" != \"NY\"", key).1, 0.5);
    assert_eq!(compliance("ColumnValues \"city\" = \"NY\"", key).1, 0.5);
    assert_eq!(
        compliance("ColumnValues \"city\" not in [\"NY\", NULL]", key).1,
        2.0 / 6.0
    );
    // more than eight members are looked up by hash: same answers
    let many = "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"SF\", \"LA\", \"SF\"]";
    assert_eq!(
        compliance(&format!("ColumnValues \"city\" in {many}"), key).1,
        2.0 / 6.0
    );
    assert_eq!(
        compliance(&format!("ColumnValues \"city\" not in {many}"), key).1,
        4.0 / 6.0
    );
    // matches is a full match; nulls fail
    let pattern = "Column.city.PatternMatch";
    assert_eq!(
        compliance("ColumnValues \"city\" matches \"[A-Z]{2}\"", pattern).1,
        5.0 / 6.0
    );
    assert_eq!(
        compliance("ColumnValues \"city\" matches \"N\"", pattern).1,
        0.0
    );
    assert_eq!(
        compliance("ColumnValues \"city\" not matches \"N.*\"", pattern).1,
        2.0 / 6.0
    );
    expect("ColumnValues \"city\" matches \"[\"", Outcome::Error);
    // name: "ab" "abc" null "" "  " "abcdef"
    let key = "Column.name.ColumnValues.Compliance";
    assert_eq!(
        compliance("ColumnValues \"name\" = EMPTY", key).1,
        1.0 / 6.0
    );
    assert_eq!(
        compliance("ColumnValues \"name\" = WHITESPACES_ONLY", key).1,
        1.0 / 6.0
    );
    assert_eq!(
        compliance(
            "ColumnValues \"name\" in [EMPTY, WHITESPACES_ONLY, NULL]",
            key
        )
        .1,
        0.5
    );
    // numbers compared as text
    let key = "Column.qty.ColumnValues.Compliance";
    assert_eq!(
        compliance("ColumnValues \"qty\" in [\"10\", \"50\"]", key).1,
        2.0 / 6.0
    );
}

#[test]
fn column_values_dates() {
    let key = "Column.day.ColumnValues.Compliance";
    // day: 06-01 05-31 05-01 null 2023-12-31 06-01
    // >= 2024-01-01: four dates pass; null and 2023-12-31 fail
    assert_eq!(
        compliance("ColumnValues \"day\" >= \"2024-01-01\"", key).1,
        4.0 / 6.0
    );
    // now() is 2024-06-01: every date is <= today; the null fails
    assert_eq!(
        compliance("ColumnValues \"day\" <= now()", key).1,
        5.0 / 6.0
    );
    // now() − 2 days is 2024-05-30: 06-01 05-31 06-01
    assert_eq!(
        compliance("ColumnValues \"day\" > (now() - 2 days)", key).1,
        0.5
    );
    assert_eq!(
        compliance(
            "ColumnValues \"day\" in [\"2024-06-01\", \"2024-05-01\"]",
            key
        )
        .1,
        0.5
    );
    assert_eq!(
        compliance(
            "ColumnValues \"day\" between \"2024-05-01\" and \"2024-06-01\"",
            key
        )
        .1,
        1.0 / 6.0
    );
    // a date condition on text values reads them as dates
    let b = batch(vec![(
        "d",
        Arc::new(StringArray::from(vec![
            Some("2024-06-01"),
            Some("junk"),
            None,
        ])) as ArrayRef,
    )]);
    let r = single("ColumnValues \"d\" = \"2024-06-01\"", &[b]);
    close(metric(&r, "Column.d.ColumnValues.Compliance"), 1.0 / 3.0);
}

#[test]
fn column_length() {
    // name lengths: 2 3 null(=0) 0 2 6 → minimum 0, maximum 6
    let r = expect("ColumnLength \"name\" > 0", Outcome::Failed);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 0.0 does not meet the constraint requirement!")
    );
    close(metric(&r, "Column.name.MinimumLength"), 0.0);
    let r = expect("ColumnLength \"name\" <= 6", Outcome::Passed);
    close(metric(&r, "Column.name.MaximumLength"), 6.0);
    // exclusive: min 0 > −1 and max 6 < 7
    expect("ColumnLength \"name\" between -1 and 7", Outcome::Passed);
    expect("ColumnLength \"name\" between 0 and 7", Outcome::Failed);
    // a null measures 0: in [0, 2, 3, 6] holds for every row
    let r = expect("ColumnLength \"name\" in [0, 2, 3, 6]", Outcome::Passed);
    close(metric(&r, "Column.name.LengthCompliance"), 1.0);
    // not in [0]: the null and "" fail → 4/6
    let r = expect("ColumnLength \"name\" not in [0]", Outcome::Failed);
    close(metric(&r, "Column.name.LengthCompliance"), 4.0 / 6.0);
    // NY rows: "ab" (2), null (0), "  " (2)
    let r = expect(
        "ColumnLength \"name\" >= 0 where \"city = 'NY'\"",
        Outcome::Passed,
    );
    close(metric(&r, "Column.name.MinimumLength"), 0.0);
    // characters, not bytes
    let b = batch(vec![(
        "s",
        Arc::new(StringArray::from(vec!["héllo", "日本"])) as ArrayRef,
    )]);
    let r = single("ColumnLength \"s\" between 1 and 6", &[b]);
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
    close(metric(&r, "Column.s.MaximumLength"), 5.0);
}

#[test]
fn column_data_type() {
    let b = batch(vec![
        (
            "code",
            Arc::new(StringArray::from(vec![
                Some("1"),
                Some("2.5"),
                Some("x"),
                None,
                Some("42"),
                Some("-7"),
            ])) as ArrayRef,
        ),
        (
            "d",
            Arc::new(StringArray::from(vec![
                Some("01-02-2024"),
                Some("2024-01-02"),
                Some("31-02-2024"),
                None,
                Some("15-10-1999"),
                Some("x"),
            ])) as ArrayRef,
        ),
    ]);
    let key = "Column.code.ColumnDataType.Compliance";
    // Integer: "1" "42" "-7" → 3/6; a null fails
    let r = single(
        "ColumnDataType \"code\" = \"Integer\"",
        std::slice::from_ref(&b),
    );
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.failure_reason.as_deref(), Some("50.00% of rows passed"));
    close(metric(&r, key), 0.5);
    let r = single(
        "ColumnDataType \"code\" = \"INTEGER\" with threshold >= 0.5",
        std::slice::from_ref(&b),
    );
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
    // Double: also "2.5" → 4/6
    close(
        metric(
            &single(
                "ColumnDataType \"code\" = \"Double\"",
                std::slice::from_ref(&b),
            ),
            key,
        ),
        4.0 / 6.0,
    );
    // != inverts each row: "2.5", "x" and the null → 3/6
    close(
        metric(
            &single(
                "ColumnDataType \"code\" != \"Integer\"",
                std::slice::from_ref(&b),
            ),
            key,
        ),
        0.5,
    );
    close(
        metric(
            &single(
                "ColumnDataType \"code\" = \"DECIMAL(5,1)\"",
                std::slice::from_ref(&b),
            ),
            key,
        ),
        4.0 / 6.0,
    );
    // dd-MM-yyyy: 01-02-2024 and 15-10-1999; 31-02-2024 is no date
    let r = single(
        "ColumnDataType \"d\" = \"Date\" with format = \"dd-MM-yyyy\"",
        std::slice::from_ref(&b),
    );
    close(metric(&r, "Column.d.ColumnDataType.Compliance"), 2.0 / 6.0);
    // a format Glue does not accept: every row fails
    let r = single(
        "ColumnDataType \"d\" = \"Date\" with format = \"yyyyMMdd\"",
        std::slice::from_ref(&b),
    );
    close(metric(&r, "Column.d.ColumnDataType.Compliance"), 0.0);
    let r = single(
        "ColumnDataType \"code\" = \"Varchar\"",
        std::slice::from_ref(&b),
    );
    assert_eq!(
        (r.outcome, r.failure_reason.as_deref()),
        (Outcome::Error, Some("Unrecognized data type: Varchar"))
    );
    let r = single("ColumnDataType \"code\" in [\"Integer\"]", &[b]);
    assert_eq!(r.outcome, Outcome::Error);
}

#[test]
fn data_freshness() {
    // ages: 1 h, 24 h, 744 h (31 days), null; now = 2024-06-01 12:00
    let key = "Column.ts.DataFreshness.Compliance";
    let r = single("DataFreshness \"ts\" <= 24 hours", &[events()]);
    assert_eq!(r.outcome, Outcome::Failed);
    close(metric(&r, key), 0.5);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("50.00 % of rows passed the threshold")
    );
    // 744 h is not < 31 days (= 744 h) but is <= it
    close(
        metric(&single("DataFreshness \"ts\" < 31 days", &[events()]), key),
        0.5,
    );
    close(
        metric(&single("DataFreshness \"ts\" <= 31 days", &[events()]), key),
        0.75,
    );
    // between 30 minutes (0.5 h) and 2 hours: the 1 h row
    close(
        metric(
            &single(
                "DataFreshness \"ts\" between 30 minutes and 2 hours",
                &[events()],
            ),
            key,
        ),
        0.25,
    );
    let r = single(
        "DataFreshness \"ts\" <= 24 hours where \"ts is not null and ts > '2024-05-15'\"",
        &[events()],
    );
    assert_eq!(r.outcome, Outcome::Passed, "{r:?}");
    // text timestamps: 0.5 h, 24 h, unparseable, null → 2 of 4 within a day
    let r = single("DataFreshness \"text\" <= 1 days", &[events()]);
    close(metric(&r, "Column.text.DataFreshness.Compliance"), 0.5);
}

/// One null among three values of every type ColumnValues reads.
fn every_type() -> Vec<RecordBatch> {
    use arrow::array::BooleanArray;
    let ts = TimestampMicrosecondArray::from(vec![Some(0), None, Some(86_400_000_000)])
        .with_timezone("UTC");
    vec![batch(vec![
        (
            "s",
            Arc::new(StringArray::from(vec![Some("a"), None, Some("x1")])),
        ),
        (
            "n",
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
        ),
        (
            "f",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(3.5)])),
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![Some(1), None, Some(2)])),
        ),
        ("t", Arc::new(ts)),
    ])]
}

#[test]
fn column_values_null_keyword_on_every_type() {
    // As Glue: `= NULL` / `in [NULL]` is `IS NULL`, `!= NULL` / `not in [NULL]` is
    // `IS NOT NULL`, whatever the column's type (a text is not a null number).
    let data = every_type();
    for column in ["s", "n", "f", "b", "d", "t"] {
        let key = format!("Column.{column}.ColumnValues.Compliance");
        for (condition, outcome, ratio) in [
            ("= NULL", Outcome::Failed, 1.0 / 3.0),
            ("in [NULL]", Outcome::Failed, 1.0 / 3.0),
            ("!= NULL", Outcome::Failed, 2.0 / 3.0),
            ("not in [NULL]", Outcome::Failed, 2.0 / 3.0),
            ("= NULL with threshold >= 0.3", Outcome::Passed, 1.0 / 3.0),
            ("!= NULL with threshold >= 0.6", Outcome::Passed, 2.0 / 3.0),
        ] {
            let text = format!("ColumnValues \"{column}\" {condition}");
            let r = single(&text, &data);
            assert_eq!(r.outcome, outcome, "{text}: {r:?}");
            close(metric(&r, &key), ratio);
        }
    }
}

#[test]
fn a_text_that_is_no_number_fails_number_comparisons_even_where_nulls_pass() {
    // s: "a", null, "x1" — as Spark, `s != 5` and `s in [1, NULL]` read "a" as NULL only
    // through the failed cast, so it fails; the real null passes.
    let data = every_type();
    let key = "Column.s.ColumnValues.Compliance";
    for condition in ["!= 5", "in [1, NULL]", "not in [1]"] {
        let text = format!("ColumnValues \"s\" {condition}");
        let r = single(&text, &data);
        close(metric(&r, key), 1.0 / 3.0);
    }
    // A numeric text still compares as its number.
    let digits = vec![batch(vec![(
        "s",
        Arc::new(StringArray::from(vec![Some("10"), None, Some("7")])),
    )])];
    let r = single("ColumnValues \"s\" in [10, 7]", &digits);
    close(metric(&r, key), 2.0 / 3.0);
}

#[test]
fn nan_failure_names_nan() {
    // NaN fails every comparison; the reason names it, not the minimum that passes.
    let data = vec![batch(vec![(
        "x",
        Arc::new(Float64Array::from(vec![1.0, f64::NAN, 2.0])),
    )])];
    for text in [
        "ColumnValues \"x\" > 0",
        "ColumnValues \"x\" >= 1",
        "ColumnValues \"x\" < 5",
        "ColumnValues \"x\" <= 2",
    ] {
        let r = single(text, &data);
        assert_eq!(r.outcome, Outcome::Failed, "{text}: {r:?}");
        assert_eq!(
            r.failure_reason.as_deref(),
            Some("Value: NaN does not meet the constraint requirement!"),
            "{text}"
        );
    }
    let ones = vec![batch(vec![(
        "x",
        Arc::new(Float64Array::from(vec![1.0, f64::NAN, 1.0])),
    )])];
    let r = single("ColumnValues \"x\" = 1", &ones);
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: NaN does not meet the constraint requirement!")
    );
    // A real failing value still wins over NaN where the extreme itself fails.
    let r = single("ColumnValues \"x\" > 1", &data);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 1.0 does not meet the constraint requirement!")
    );
}
