//! Test bench.
