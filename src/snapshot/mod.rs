//! The snapshot: its data model, how it is written, and how it is read
//! (whole, or with its variables left as text for the viewer: [`lazy`]).

pub mod encoding;
pub(crate) mod json_out;
pub mod lazy;
pub(crate) mod model;
mod place_cache;
pub(crate) mod registers;
pub mod writer;

pub use model::*;
