//! The loaded data: one usage table and what happened to each file that fed it.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::{LocalStorage, RwSignal};
use meterlens_engine::ingest::FileReport;
use meterlens_engine::query::QueryEngine;
use meterlens_engine::UsageTable;

use crate::load::{unpack_pieces, unpack_source};
use crate::web::{BlobPieces, Packed};

/// Where the sample is served from (copied into the build by Trunk).
pub const SAMPLE_URL: &str = "sample/usage-sample.csv";
/// The sample's file name, as its reports and row sources say it.
pub const SAMPLE_NAME: &str = "usage-sample.csv";

/// The loaded data, shared by every page (the query engine is not `Send`, so the signal is local).
pub type DatasetSignal = RwSignal<Option<Dataset>, LocalStorage>;

/// Rows and the reports of the files they came from.
#[derive(Clone)]
pub struct Dataset {
    pub table: Arc<UsageTable>,
    /// Answers every visual's questions, with codes and selections cached as long as the data stays.
    pub engine: Rc<QueryEngine<'static>>,
    pub reports: Vec<FileReport>,
    /// What is shown, for the header: "the embedded sample" or file names.
    pub origin: String,
    /// Files left out because they repeat an earlier one of the same load.
    pub repeated: Vec<String>,
}

impl Dataset {
    /// A dataset over an ingested table.
    pub fn new(table: UsageTable, reports: Vec<FileReport>, origin: String, repeated: Vec<String>) -> Dataset {
        let table = Arc::new(table);
        let engine = Rc::new(QueryEngine::shared(table.clone()));
        Dataset { table, engine, reports, origin, repeated }
    }

    /// A dataset from the ingest worker's packed result (or the copy kept in the browser): buffers read a window
    /// at a time, a file on disk a section at a time.
    pub async fn from_packed(packed: &Packed) -> Result<Dataset, String> {
        let (table, meta) = match packed {
            Packed::Buffers(buffers) => unpack_source(buffers)?,
            Packed::Blob { blob, .. } => unpack_pieces(&BlobPieces(blob)).await?,
        };
        Ok(Dataset::new(table, meta.reports, meta.origin, meta.repeated))
    }

    /// Messages for files that could not be read at all.
    pub fn file_errors(&self) -> Vec<String> {
        self.reports.iter().filter(|r| r.error.is_some()).map(ToString::to_string).collect()
    }

    /// True when at least one file gave rows or was read without a file-level error.
    pub fn has_readable_file(&self) -> bool {
        self.reports.iter().any(|r| r.error.is_none() || r.rows > 0)
    }
}
