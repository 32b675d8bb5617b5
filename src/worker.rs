//! Ingest worker entry point: reads the files the page posts, off the page's thread.

fn main() {
    console_error_panic_hook::set_once();
    meterlens::web::serve_ingest_worker();
}
