//! gluepipe-etl library.

pub mod dq;
