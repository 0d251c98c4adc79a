//! `Value`: what an expression evaluates to over one batch — a column-length array, or a
//! one-element scalar that Arrow kernels broadcast — and the implicit type coercions of the
//! subset (Spark's, simplified): integers meet as `Int64`; any other numeric mix, and a string
//! against a number, meet as `Float64`; a string meets a date as `Date32` and a timestamp as
//! the timestamp type; NULL takes the other side's type.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Datum, UInt32Array, make_array, new_null_array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{CastOptions, cast_with_options, take};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::error::ArrowError;

/// An expression's value over a batch.
#[derive(Debug, Clone)]
pub enum Value {
    /// One value per row.
    Array(ArrayRef),
    /// One value for every row (a one-element array).
    Scalar(ArrayRef),
}

impl Datum for Value {
    fn get(&self) -> (&dyn Array, bool) {
        match self {
            Value::Array(a) => (a.as_ref(), false),
            Value::Scalar(a) => (a.as_ref(), true),
        }
    }
}

impl Value {
    /// The underlying array (one element for a scalar).
    pub fn array(&self) -> &ArrayRef {
        match self {
            Value::Array(a) | Value::Scalar(a) => a,
        }
    }

    /// The value's type.
    pub fn data_type(&self) -> &DataType {
        self.array().data_type()
    }

    /// Whether this is a scalar.
    pub fn is_scalar(&self) -> bool {
        matches!(self, Value::Scalar(_))
    }

    /// Wraps a kernel result: scalar when every input was.
    pub fn from_kernel(result: ArrayRef, scalar: bool) -> Value {
        if scalar {
            Value::Scalar(result)
        } else {
            Value::Array(result)
        }
    }

    /// Casts to `to` (invalid values become null, as Spark's non-ANSI cast).
    pub fn cast(&self, to: &DataType) -> Result<Value, ArrowError> {
        if self.data_type() == to {
            return Ok(self.clone());
        }
        let options = CastOptions {
            safe: true,
            ..Default::default()
        };
        let source = without_time_zone(self.array().as_ref())?;
        let cast = cast_with_options(&source, to, &options)?;
        Ok(Value::from_kernel(cast, self.is_scalar()))
    }

    /// A full-length array (a scalar repeated `len` times).
    pub fn into_array(self, len: usize) -> Result<ArrayRef, ArrowError> {
        match self {
            Value::Array(a) => Ok(a),
            Value::Scalar(s) => {
                if s.is_null(0) {
                    return Ok(new_null_array(s.data_type(), len));
                }
                let indices = UInt32Array::from(vec![0u32; len]);
                take(s.as_ref(), &indices, None)
            }
        }
    }

    /// Rows where this boolean value is true (null counts as false).
    pub fn true_rows(&self, len: usize) -> Result<BooleanBuffer, ArrowError> {
        let b = self
            .array()
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| {
                ArrowError::InvalidArgumentError(format!(
                    "expected a boolean condition, found {}",
                    self.data_type()
                ))
            })?;
        Ok(match self {
            Value::Scalar(_) if b.is_valid(0) && b.value(0) => BooleanBuffer::new_set(len),
            Value::Scalar(_) => BooleanBuffer::new_unset(len),
            Value::Array(_) => match b.nulls() {
                None => b.values().clone(),
                Some(n) => b.values() & n.inner(),
            },
        })
    }
}

/// Timestamps with a time zone as plain UTC instants: the stored values already are UTC, and
/// Arrow (built without a time-zone database) cannot cast named zones such as `UTC`.
pub fn without_time_zone(array: &dyn Array) -> Result<ArrayRef, ArrowError> {
    match array.data_type() {
        DataType::Timestamp(unit, Some(_)) => {
            let data = array
                .to_data()
                .into_builder()
                .data_type(DataType::Timestamp(*unit, None))
                .build()?;
            Ok(make_array(data))
        }
        _ => Ok(make_array(array.to_data())),
    }
}

/// Broad type classes used by the coercion rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Null,
    Bool,
    Int,
    Float,
    Decimal,
    Str,
    Date,
    Timestamp,
    Other,
}

fn class(t: &DataType) -> Class {
    use DataType as D;
    match t {
        D::Null => Class::Null,
        D::Boolean => Class::Bool,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => {
            Class::Int
        }
        D::Float16 | D::Float32 | D::Float64 => Class::Float,
        D::Decimal32(..) | D::Decimal64(..) | D::Decimal128(..) | D::Decimal256(..) => {
            Class::Decimal
        }
        D::Utf8 | D::LargeUtf8 | D::Utf8View => Class::Str,
        D::Date32 | D::Date64 => Class::Date,
        D::Timestamp(..) => Class::Timestamp,
        _ => Class::Other,
    }
}

/// Whether `t` is a number type (integer, float or decimal).
pub fn is_numeric(t: &DataType) -> bool {
    matches!(class(t), Class::Int | Class::Float | Class::Decimal)
}

/// Whether `t` is a string type.
pub fn is_string(t: &DataType) -> bool {
    class(t) == Class::Str
}

/// The type two operands of a comparison (or `IN`, `BETWEEN`, `COALESCE`) are cast to.
pub fn comparison_type(l: &DataType, r: &DataType) -> Result<DataType, ArrowError> {
    use Class as C;
    if l == r && class(l) != C::Other {
        return Ok(l.clone());
    }
    // Timestamps meet as UTC instants without a zone (see `without_time_zone`).
    let ts = |_: &DataType| DataType::Timestamp(TimeUnit::Microsecond, None);
    Ok(match (class(l), class(r)) {
        (C::Null, C::Null) => DataType::Null,
        (C::Null, _) => r.clone(),
        (_, C::Null) => l.clone(),
        (C::Int, C::Int) => DataType::Int64,
        (C::Int | C::Float | C::Decimal | C::Str, C::Int | C::Float | C::Decimal)
        | (C::Int | C::Float | C::Decimal, C::Str) => DataType::Float64,
        (C::Str, C::Str) => DataType::Utf8,
        (C::Str | C::Date, C::Date) | (C::Date, C::Str) => DataType::Date32,
        (C::Timestamp, C::Str | C::Date | C::Timestamp) => ts(l),
        (C::Str | C::Date, C::Timestamp) => ts(r),
        (C::Bool | C::Str, C::Bool) | (C::Bool, C::Str) => DataType::Boolean,
        _ => {
            return Err(ArrowError::InvalidArgumentError(format!(
                "cannot compare {l} with {r}"
            )));
        }
    })
}

/// The type of `l op r` for `+ - * %` (`/` is always `Float64`).
pub fn arithmetic_type(l: &DataType, r: &DataType) -> Result<DataType, ArrowError> {
    use Class as C;
    Ok(match (class(l), class(r)) {
        (C::Int | C::Null, C::Int | C::Null) => DataType::Int64,
        (
            C::Int | C::Float | C::Decimal | C::Str | C::Null,
            C::Int | C::Float | C::Decimal | C::Str | C::Null,
        ) => DataType::Float64,
        _ => {
            return Err(ArrowError::InvalidArgumentError(format!(
                "cannot do arithmetic on {l} and {r}"
            )));
        }
    })
}

/// Casts both values to their comparison type.
pub fn coerce_pair(l: &Value, r: &Value) -> Result<(Value, Value), ArrowError> {
    let t = comparison_type(l.data_type(), r.data_type())?;
    Ok((l.cast(&t)?, r.cast(&t)?))
}

/// A one-element scalar of `array`'s first value.
pub fn scalar(array: impl Array + 'static) -> Value {
    Value::Scalar(Arc::new(array))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use arrow::array::{Int32Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn coercion_table() {
        use DataType as D;
        let ts = D::Timestamp(TimeUnit::Microsecond, None);
        let cases = [
            (D::Int32, D::Int64, D::Int64),
            (D::Int32, D::Float32, D::Float64),
            (D::Utf8, D::Int64, D::Float64),
            (D::Utf8, D::LargeUtf8, D::Utf8),
            (D::Utf8, D::Date32, D::Date32),
            (D::Date32, ts.clone(), ts.clone()),
            (D::Null, D::Utf8, D::Utf8),
            (D::Boolean, D::Utf8, D::Boolean),
            (
                D::Decimal128(10, 2),
                D::Decimal128(10, 2),
                D::Decimal128(10, 2),
            ),
            (D::Decimal128(10, 2), D::Decimal128(12, 2), D::Float64),
        ];
        for (l, r, t) in cases {
            assert_eq!(comparison_type(&l, &r).unwrap(), t, "{l} vs {r}");
            assert_eq!(comparison_type(&r, &l).unwrap(), t, "{r} vs {l}");
        }
        assert!(comparison_type(&D::Boolean, &D::Int64).is_err());
        assert_eq!(arithmetic_type(&D::Int8, &D::UInt32).unwrap(), D::Int64);
        assert_eq!(arithmetic_type(&D::Int8, &D::Float32).unwrap(), D::Float64);
        assert!(arithmetic_type(&D::Utf8, &D::Date32).is_err());
    }

    #[test]
    fn scalars_broadcast_and_null_is_not_true() {
        let v = scalar(Int32Array::from(vec![7]));
        let a = v.into_array(3).unwrap();
        assert_eq!(a.len(), 3);
        let b = Value::Array(Arc::new(BooleanArray::from(vec![
            Some(true),
            None,
            Some(false),
        ])));
        assert_eq!(
            b.true_rows(3).unwrap(),
            BooleanBuffer::from(vec![true, false, false])
        );
        let t = scalar(BooleanArray::from(vec![Some(true)]));
        assert_eq!(t.true_rows(2).unwrap().count_set_bits(), 2);
        let n = scalar(BooleanArray::from(vec![None::<bool>]));
        assert_eq!(n.true_rows(2).unwrap().count_set_bits(), 0);
        assert!(scalar(Int64Array::from(vec![1])).true_rows(1).is_err());
    }

    #[test]
    fn casts_are_safe() {
        let v = Value::Array(Arc::new(StringArray::from(vec!["1.5", "x"])));
        let c = v.cast(&DataType::Float64).unwrap();
        assert_eq!(c.array().null_count(), 1);
    }
}
