//! The only code that touches browser APIs: files, drag and drop, fetch, storage, the URL, printing.

mod browser;
mod files;

pub use browser::{
    details_open, download_svg_as_png, download_text, load_setting, on_hash_change, page_hash, print_page,
    save_setting, scroll_top, set_page_hash,
};
pub use files::{dropped_files, fetch_bytes, picked_files, PickedFile};
