//! Accumulators that see each batch once and keep constant-size state — except
//! [`frequency::Frequencies`], whose exact distinct-value table grows with the number of
//! distinct keys (never with rows); see [`key_table`] for its memory per key.

pub mod frequency;
pub mod key_table;
pub mod lengths;
pub mod moments;

use arrow::array::{Array, AsArray, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;

use crate::dq::error::DqError;
use crate::dq::sql::value::is_numeric;

/// The values of a numeric column as `f64` (nulls kept), or `None` when the column is not numeric.
pub fn as_f64(array: &dyn Array) -> Result<Option<Float64Array>, DqError> {
    if !is_numeric(array.data_type()) {
        return Ok(None);
    }
    let values = cast(array, &DataType::Float64)?;
    Ok(Some(values.as_primitive().clone()))
}
