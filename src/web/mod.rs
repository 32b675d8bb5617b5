//! The only code that touches browser APIs: files, drag and drop, fetch.

mod files;

pub use files::{dropped_files, fetch_bytes, picked_files, PickedFile};
