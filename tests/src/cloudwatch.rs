//! Metrics read back from the emulator's CloudWatch.

use aws_sdk_cloudwatch::types::{Dimension, Statistic};

/// The sum of every datapoint of `metric` with `dimension` in the last and next hour; `None`
/// if there is none.
pub async fn sum(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    metric: &str,
    dimension: (&str, &str),
) -> anyhow::Result<Option<f64>> {
    let now = std::time::SystemTime::now();
    let hour = std::time::Duration::from_secs(3600);
    let out = cw
        .get_metric_statistics()
        .namespace(namespace)
        .metric_name(metric)
        .dimensions(
            Dimension::builder()
                .name(dimension.0)
                .value(dimension.1)
                .build(),
        )
        .start_time((now - hour).into())
        .end_time((now + hour).into())
        .period(7200)
        .statistics(Statistic::Sum)
        .send()
        .await?;
    let points = out.datapoints();
    Ok((!points.is_empty()).then(|| points.iter().filter_map(|p| p.sum()).sum()))
}
