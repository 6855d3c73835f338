//! The snapshot: its data model and how it is written.

pub mod encoding;
pub(crate) mod model;
pub(crate) mod registers;
pub mod writer;

pub use model::*;
