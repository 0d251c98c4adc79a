//! Constant-size numeric summaries: [`Moments`] (count, sum, mean, population variance, min,
//! max — Mean, Sum, StandardDeviation, Variance, Range, and ColumnValues' minimum/maximum) and
//! [`CoMoments`] (Pearson correlation of two columns).
//!
//! Each batch is summarised on its own with tight loops over `f64` slices (two passes: sum, then
//! squared deviations from the batch mean), and the summary is merged into the running one with
//! Chan et al.'s pairwise update — as stable as Welford's per-value update, but vectorisable.

use arrow::array::{Array, Float64Array};
use arrow::buffer::NullBuffer;
use serde::{Deserialize, Serialize};

use crate::dq::partial::f64_bits;

/// Count, sum, mean, M2 (sum of squared deviations), min and max of the non-null values seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    n: u64,
    #[serde(with = "f64_bits")]
    sum: f64,
    #[serde(with = "f64_bits")]
    mean: f64,
    #[serde(with = "f64_bits")]
    m2: f64,
    #[serde(with = "f64_bits")]
    min: f64,
    #[serde(with = "f64_bits")]
    max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            n: 0,
            sum: 0.0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    /// Adds the non-null values of `values`.
    pub fn update(&mut self, values: &Float64Array) {
        let batch = Moments::of(values);
        self.merge(&batch);
    }

    /// The summary of one array.
    fn of(values: &Float64Array) -> Moments {
        let slice = values.values().as_ref();
        let mut m = Moments::default();
        match values.nulls().filter(|n| n.null_count() > 0) {
            None => {
                m.n = slice.len() as u64;
                if m.n == 0 {
                    return m;
                }
                m.sum = slice.iter().sum();
                m.mean = m.sum / m.n as f64;
                m.m2 = slice.iter().map(|x| (x - m.mean) * (x - m.mean)).sum();
                for &x in slice {
                    m.min = m.min.min(x);
                    m.max = m.max.max(x);
                }
            }
            Some(nulls) => {
                m.n = (nulls.len() - nulls.null_count()) as u64;
                if m.n == 0 {
                    return m;
                }
                for i in nulls.valid_indices() {
                    let x = slice[i];
                    m.sum += x;
                    m.min = m.min.min(x);
                    m.max = m.max.max(x);
                }
                m.mean = m.sum / m.n as f64;
                m.m2 = nulls
                    .valid_indices()
                    .map(|i| (slice[i] - m.mean) * (slice[i] - m.mean))
                    .sum();
            }
        }
        m
    }

    /// Combines two summaries (Chan et al., "Updating formulae and a pairwise algorithm").
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let (na, nb, nf) = (self.n as f64, other.n as f64, n as f64);
        self.mean += delta * nb / nf;
        self.m2 += other.m2 + delta * delta * na * nb / nf;
        self.sum += other.sum;
        self.n = n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of non-null values.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Sum of the values; `None` when there are none (as SQL `SUM` of nothing is NULL).
    pub fn sum(&self) -> Option<f64> {
        (self.n > 0).then_some(self.sum)
    }

    /// Arithmetic mean.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then_some(self.mean)
    }

    /// Population variance `M2 / n`.
    pub fn variance(&self) -> Option<f64> {
        (self.n > 0).then(|| self.m2 / self.n as f64)
    }

    /// Population standard deviation.
    pub fn std_dev(&self) -> Option<f64> {
        self.variance().map(f64::sqrt)
    }

    /// Smallest value.
    pub fn min(&self) -> Option<f64> {
        (self.n > 0).then_some(self.min)
    }

    /// Largest value.
    pub fn max(&self) -> Option<f64> {
        (self.n > 0).then_some(self.max)
    }
}

/// Co-moments of two columns over the rows where both are non-null (Pearson correlation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CoMoments {
    n: u64,
    #[serde(with = "f64_bits")]
    mean_x: f64,
    #[serde(with = "f64_bits")]
    mean_y: f64,
    #[serde(with = "f64_bits")]
    m2_x: f64,
    #[serde(with = "f64_bits")]
    m2_y: f64,
    #[serde(with = "f64_bits")]
    c_xy: f64,
}

impl CoMoments {
    /// Adds the rows where both `x` and `y` are non-null.
    pub fn update(&mut self, x: &Float64Array, y: &Float64Array) {
        let both = NullBuffer::union(x.nulls(), y.nulls());
        let (xs, ys) = (x.values().as_ref(), y.values().as_ref());
        let indices: Box<dyn Iterator<Item = usize>> = match &both {
            Some(nulls) if nulls.null_count() > 0 => Box::new(nulls.valid_indices()),
            _ => Box::new(0..xs.len()),
        };
        let indices: Vec<usize> = indices.collect();
        let n = indices.len();
        if n == 0 {
            return;
        }
        let nf = n as f64;
        let mean_x = indices.iter().map(|&i| xs[i]).sum::<f64>() / nf;
        let mean_y = indices.iter().map(|&i| ys[i]).sum::<f64>() / nf;
        let (mut m2_x, mut m2_y, mut c_xy) = (0.0, 0.0, 0.0);
        for &i in &indices {
            let (dx, dy) = (xs[i] - mean_x, ys[i] - mean_y);
            m2_x += dx * dx;
            m2_y += dy * dy;
            c_xy += dx * dy;
        }
        self.merge(&CoMoments {
            n: n as u64,
            mean_x,
            mean_y,
            m2_x,
            m2_y,
            c_xy,
        });
    }

    /// Combines two summaries (the pairwise formula of [`Moments::merge`]).
    pub fn merge(&mut self, other: &CoMoments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let nf = na + nb;
        let dx = other.mean_x - self.mean_x;
        let dy = other.mean_y - self.mean_y;
        self.c_xy += other.c_xy + dx * dy * na * nb / nf;
        self.m2_x += other.m2_x + dx * dx * na * nb / nf;
        self.m2_y += other.m2_y + dy * dy * na * nb / nf;
        self.mean_x += dx * nb / nf;
        self.mean_y += dy * nb / nf;
        self.n += other.n;
    }

    /// Pearson correlation; `None` without pairs, NaN when a column is constant (as Spark's
    /// `corr`, which divides by a zero standard deviation).
    pub fn correlation(&self) -> Option<f64> {
        (self.n > 0).then(|| self.c_xy / (self.m2_x * self.m2_y).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(v: &[Option<f64>]) -> Float64Array {
        Float64Array::from(v.to_vec())
    }

    #[test]
    fn empty_and_all_null_have_no_values() {
        for input in [arr(&[]), arr(&[None, None])] {
            let mut m = Moments::default();
            m.update(&input);
            assert_eq!(m.count(), 0);
            assert_eq!(
                (m.sum(), m.mean(), m.variance(), m.min()),
                (None, None, None, None)
            );
        }
    }

    #[test]
    fn docs_example_population_std_dev() {
        // [0, 20, 40]: mean 20, squared deviations 400 + 0 + 400 = 800, variance 800/3,
        // std dev sqrt(266.67) = 16.33 (the StandardDeviation docs' example).
        let mut m = Moments::default();
        m.update(&arr(&[Some(0.0), None, Some(20.0)]));
        m.update(&arr(&[Some(40.0)]));
        assert_eq!(m.count(), 3);
        assert_eq!(m.sum(), Some(60.0));
        assert_eq!(m.mean(), Some(20.0));
        assert!((m.variance().unwrap_or(0.0) - 800.0 / 3.0).abs() < 1e-9);
        assert!((m.std_dev().unwrap_or(0.0) - 16.329_931_618_554_52).abs() < 1e-9);
        assert_eq!((m.min(), m.max()), (Some(0.0), Some(40.0)));
    }

    #[test]
    fn merging_batches_equals_one_pass() {
        let values: Vec<Option<f64>> = (0..1000)
            .map(|i| (i % 7 != 0).then_some(1e6 + (i as f64) * 0.37))
            .collect();
        let mut whole = Moments::default();
        whole.update(&arr(&values));
        let mut split = Moments::default();
        for chunk in values.chunks(37) {
            split.update(&arr(chunk));
        }
        assert_eq!(whole.count(), split.count());
        let rel = |a: Option<f64>, b: Option<f64>| {
            let (a, b) = (a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN));
            ((a - b) / a).abs()
        };
        assert!(rel(whole.mean(), split.mean()) < 1e-12);
        assert!(rel(whole.variance(), split.variance()) < 1e-9);
    }

    #[test]
    fn correlation_of_pairs_skips_rows_with_a_null() {
        // pairs kept: (1,2) (2,4) (3,6) → perfectly correlated; (4, null) and (null, 1) skipped
        let mut c = CoMoments::default();
        c.update(
            &arr(&[Some(1.0), Some(2.0), Some(4.0)]),
            &arr(&[Some(2.0), Some(4.0), None]),
        );
        c.update(&arr(&[Some(3.0), None]), &arr(&[Some(6.0), Some(1.0)]));
        assert!((c.correlation().unwrap_or(0.0) - 1.0).abs() < 1e-12);
        // x = 1,2,3 ; y = 3,1,2: means 2,2; cov sum = (-1)(1)+0+(1)(0) = -1; m2 = 2, 2 → -0.5
        let mut d = CoMoments::default();
        d.update(
            &arr(&[Some(1.0), Some(2.0), Some(3.0)]),
            &arr(&[Some(3.0), Some(1.0), Some(2.0)]),
        );
        assert!((d.correlation().unwrap_or(0.0) + 0.5).abs() < 1e-12);
        assert_eq!(CoMoments::default().correlation(), None);
    }
}
