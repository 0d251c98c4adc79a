//! The Parquet sink: row groups sized for Athena/Spark ([`parquet`]), Hive partitions
//! ([`partition`]), and the per-worker set of open files ([`writer`]). Files are created
//! through the storage module's `Publisher`, so nothing is visible at the target until the run
//! commits; the run then writes the manifest last.

pub mod parquet;
pub mod partition;
pub mod writer;

pub use self::parquet::{FileOptions, ParquetFile};
pub use partition::split_by_partition;
pub use writer::{OutputFile, PartitionedWriter};
