//! gluepipe-etl library.

pub mod catalog;
pub mod storage;
