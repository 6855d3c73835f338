//! The snapshot: its data model and how it is written.

pub mod model;
pub mod registers;
pub mod writer;

pub use model::*;
