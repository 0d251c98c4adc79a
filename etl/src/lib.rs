//! gluepipe-etl library.
