//! Data sources of the gluepipe provider, one file each.

pub mod catalog_table;

pub use catalog_table::CatalogTable;
