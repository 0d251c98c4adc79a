//! The Parquet sink: row groups sized for Athena/Spark ([`parquet`]), Hive partitions
//! ([`partition`]), the per-worker set of open files ([`writer`]), and float statistics every
//! reader uses ([`float_order`]). Files are created
//! through the storage module's `Publisher`, so nothing is visible at the target until the run
//! commits; the run then writes the manifest last.

pub mod float_order;
pub mod parquet;
pub mod partition;
pub mod writer;

pub use self::parquet::{FileOptions, ParquetFile};
pub use partition::split_by_partition;
pub use writer::{OutputFile, PartitionedWriter};
