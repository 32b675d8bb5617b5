//! The loaded data: one usage table and what happened to each file that fed it.

use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::{LocalStorage, RwSignal};
use meterlens_engine::ingest::{fingerprint, FileReport, Ingester, FINGERPRINT_BYTES};
use meterlens_engine::query::QueryEngine;
use meterlens_engine::UsageTable;

use crate::web::PickedFile;

/// Where the sample is served from (copied into the build by Trunk).
pub const SAMPLE_URL: &str = "sample/usage-sample.csv";

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
    /// Ingests bytes already in memory (the embedded sample).
    pub fn from_bytes(name: &str, bytes: &[u8], origin: &str) -> Dataset {
        let mut ingester = Ingester::new(UsageTable::default(), name);
        ingester.feed(bytes);
        let (table, report) = ingester.finish();
        Dataset::new(table, vec![report], origin.to_string(), Vec::new())
    }

    /// A dataset over an ingested table.
    pub fn new(table: UsageTable, reports: Vec<FileReport>, origin: String, repeated: Vec<String>) -> Dataset {
        let table = Arc::new(table);
        let engine = Rc::new(QueryEngine::shared(table.clone()));
        Dataset { table, engine, reports, origin, repeated }
    }

    /// Reads user files slice by slice into one table.
    pub async fn from_files(files: &[PickedFile]) -> Result<Dataset, String> {
        let mut table = UsageTable::default();
        let mut reports = Vec::new();
        let mut seen: Vec<(u64, String)> = Vec::new();
        let mut repeated = Vec::new();
        for file in files {
            let name = file.name();
            // The same export picked twice would count every row twice: read it once and say so.
            let head =
                file.head(FINGERPRINT_BYTES).await.map_err(|e| format!("{name}: could not read the file: {e}"))?;
            let print = fingerprint(file.size() as u64, &head);
            if let Some((_, first)) = seen.iter().find(|(p, _)| *p == print) {
                repeated.push(format!("{name} is the same file as {first}; it was read once."));
                continue;
            }
            seen.push((print, name.clone()));
            let mut ingester = Ingester::new(table, &name);
            file.read_in_chunks(|chunk| ingester.feed(chunk))
                .await
                .map_err(|e| format!("{name}: could not read the file: {e}"))?;
            let (next, report) = ingester.finish();
            table = next;
            reports.push(report);
        }
        table.shrink_to_fit();
        let origin = seen.into_iter().map(|(_, name)| name).collect::<Vec<_>>().join(", ");
        Ok(Dataset::new(table, reports, origin, repeated))
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
