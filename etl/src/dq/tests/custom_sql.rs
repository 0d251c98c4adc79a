//! CustomSql: the numeric form (one aggregate value) and the row form (rows of primary).

use super::*;

#[test]
fn numeric_queries() {
    // qty > 20: 30 30 50 → 3
    let r = expect(
        "CustomSql \"select count(*) from primary where qty > 20\" = 3",
        Outcome::Passed,
    );
    close(metric(&r, "Dataset.*.CustomSQL"), 3.0);
    // price 1.5 2.5 4 5 6 → 19 / 5 = 3.8
    let r = expect(
        "CustomSql \"SELECT AVG(price) FROM primary\" between 3.7 and 3.9",
        Outcome::Passed,
    );
    close(metric(&r, "Dataset.*.CustomSQL"), 3.8);
    // sum(qty) / count(*) = 120 / 6 = 20; count(qty) = 4; count(distinct city) = 3
    expect(
        "CustomSql \"select sum(qty) / count(*) from primary\" = 20",
        Outcome::Passed,
    );
    expect(
        "CustomSql \"select count(qty) from primary\" = 4",
        Outcome::Passed,
    );
    expect(
        "CustomSql \"select count(distinct city) from primary\" = 3",
        Outcome::Passed,
    );
    expect(
        "CustomSql \"select max(qty) - min(qty) from primary p where p.city = 'NY'\" = 40",
        Outcome::Passed,
    );
    let r = expect(
        "CustomSql \"select count(*) from primary where city = 'NY'\" < 3",
        Outcome::Failed,
    );
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 3.0 does not meet the constraint requirement!")
    );
    // avg of nothing is NULL
    let r = expect(
        "CustomSql \"select avg(qty) from primary where city = 'SF'\" > 0",
        Outcome::Failed,
    );
    assert!(
        r.failure_reason
            .unwrap()
            .contains("the query returned NULL")
    );
}

#[test]
fn row_queries() {
    // qty >= 30 returns 3 of 6 rows
    let r = expect(
        "CustomSql \"select * from primary where qty >= 30\"",
        Outcome::Failed,
    );
    close(metric(&r, "Dataset.*.CustomSQL.Compliance"), 0.5);
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("Value: 0.5 does not meet the constraint requirement!")
    );
    expect(
        "CustomSql \"select * from primary where qty >= 30\" with threshold >= 0.5",
        Outcome::Passed,
    );
    expect(
        "CustomSql \"select id, qty from primary where id > 0\"",
        Outcome::Passed,
    );
    let r = single(
        "CustomSql \"select * from primary\"",
        &[orders().slice(0, 0)],
    );
    assert_eq!(r.outcome, Outcome::Failed);
}

#[test]
fn unsupported_sql_is_an_error_that_says_what() {
    let cases = [
        (
            "CustomSql \"select count(*) from other\" > 0",
            "only the data being checked",
        ),
        (
            "CustomSql \"select city, count(*) from primary group by city\" > 0",
            "GROUP is not supported",
        ),
        (
            "CustomSql \"select count(*) from primary group by city\" > 0",
            "GROUP is not supported",
        ),
        (
            "CustomSql \"select count(*) from primary\"",
            "without a condition the query must return rows",
        ),
        (
            "CustomSql \"select qty + 1 from primary\"",
            "not an expression",
        ),
        (
            "CustomSql \"select qty from primary\" > 1",
            "must return one number",
        ),
        (
            "CustomSql \"select sum(qty) + qty from primary\" > 1",
            "column qty must be inside an aggregate",
        ),
        (
            "CustomSql \"select sum(day) from primary\" > 1",
            "needs numbers",
        ),
        (
            "CustomSql \"select count(*) from primary where nope = 1\" > 1",
            "column nope does not exist",
        ),
        (
            "CustomSql \"select nope from primary\"",
            "should only belong to the primary table",
        ),
        ("CustomSql \"delete from primary\" > 1", "expected SELECT"),
    ];
    for (text, message) in cases {
        let r = rule(text);
        let reason = r.failure_reason.clone().unwrap_or_default();
        assert!(
            r.outcome == Outcome::Error && reason.contains(message),
            "{text}: {r:?}"
        );
    }
}
