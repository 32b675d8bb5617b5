//! Loading files into one usage table, the same way in the ingest worker and in native tests: each file read in
//! slices, the same file given twice read once, progress reported per slice. Also the stored form of a loaded
//! dataset (metadata + table snapshot) that the worker hands over and the browser keeps between visits.

use std::future::Future;

use meterlens_engine::ingest::{fingerprint, FileReport, Ingester, FINGERPRINT_BYTES};
use meterlens_engine::table::{ByteSource, SnapshotDecoder, Within, SNAPSHOT_CHUNK};
use meterlens_engine::UsageTable;
use serde::{Deserialize, Serialize};

/// Bytes read per slice of a file.
pub const SLICE_BYTES: u64 = 4 * 1024 * 1024;

/// A file that can be read by byte range (a browser `File`, or bytes in a test).
pub trait FileSource {
    fn name(&self) -> String;
    fn size(&self) -> u64;
    /// Bytes `[start, end)`; an error when the browser cannot read them (the file changed or went away).
    fn read(&self, start: u64, end: u64) -> impl Future<Output = Result<Vec<u8>, String>>;
    /// Says that `[start, end)` is read next: a source may start reading it now, while the caller parses.
    fn read_ahead(&self, _start: u64, _end: u64) {}
}

/// How far a load has come.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// File being read.
    pub file: String,
    /// Bytes read over all files so far.
    pub done_bytes: u64,
    /// Bytes of all files.
    pub total_bytes: u64,
    /// Rows in the table so far.
    pub rows: u64,
}

/// What a finished load says about itself (the table travels separately, as a snapshot).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadMeta {
    /// The files shown, for the header.
    pub origin: String,
    /// What happened to each file read.
    pub reports: Vec<FileReport>,
    /// Files left out because they repeat an earlier one of the same load.
    pub repeated: Vec<String>,
}

/// The files of one load that repeat an earlier one (same size, same first MiB), as sentences; `prints` are
/// (name, [`fingerprint`]) in load order.
pub fn repeats(prints: &[(String, u64)]) -> Vec<String> {
    prints
        .iter()
        .enumerate()
        .filter_map(|(i, (name, print))| {
            let first = prints[..i].iter().find(|(_, p)| p == print)?;
            Some(format!("{name} is the same file as {}", first.0))
        })
        .collect()
}

/// Reads `files` into one table; a file repeating an earlier one is read once unless `count_repeats` (the user
/// said so); `on_progress` is called after every slice. Each slice is asked for before the one before it is
/// parsed, so a browser reads the file while the engine parses it.
pub async fn load_files<F: FileSource>(
    files: &[F],
    count_repeats: bool,
    mut on_progress: impl FnMut(&Progress),
) -> Result<(UsageTable, LoadMeta), String> {
    let mut table = UsageTable::default();
    let mut meta = LoadMeta::default();
    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut progress = Progress { total_bytes: files.iter().map(FileSource::size).sum(), ..Default::default() };
    for file in files {
        let (name, size) = (file.name(), file.size());
        progress.file = name.clone();
        let read = async |start: u64, end: u64| {
            file.read(start, end).await.map_err(|e| format!("{name}: could not read the file: {e}"))
        };
        // The same export picked twice would count every row twice: read it once and say so.
        let print = fingerprint(size, &read(0, size.min(FINGERPRINT_BYTES as u64)).await?);
        if let Some((_, first)) = seen.iter().find(|(p, _)| *p == print) {
            if !count_repeats {
                meta.repeated.push(format!("{name} is the same file as {first}; it was read once."));
                progress.done_bytes += size;
                on_progress(&progress);
                continue;
            }
            meta.repeated.push(format!("{name} is the same file as {first}; both were counted, as asked."));
        }
        seen.push((print, name.clone()));
        let mut ingester = Ingester::new(table, &name);
        ingester.expect_bytes(size);
        let mut start = 0;
        while start < size {
            let end = (start + SLICE_BYTES).min(size);
            let slice = read(start, end).await?;
            if end < size {
                file.read_ahead(end, (end + SLICE_BYTES).min(size));
            }
            ingester.feed(&slice);
            progress.done_bytes += end - start;
            progress.rows = ingester.rows_so_far();
            on_progress(&progress);
            start = end;
        }
        let (next, report) = ingester.finish();
        table = next;
        progress.rows = table.len() as u64;
        meta.reports.push(report);
    }
    table.shrink_to_fit();
    meta.origin = seen.into_iter().map(|(_, name)| name).collect::<Vec<_>>().join(", ");
    Ok((table, meta))
}

const PACK_MAGIC: &[u8; 8] = b"MLDATA04";
/// Bytes of the stored form's header.
pub const HEADER: usize = 24;

/// The stored form: magic, metadata JSON length, a checksum of everything after the header, the metadata
/// JSON, then the table snapshot.
pub fn pack(meta: &LoadMeta, table: &UsageTable) -> Vec<u8> {
    let mut out = vec![0; HEADER];
    let header = pack_into(meta, table, &mut |chunk| out.extend_from_slice(chunk));
    out[..HEADER].copy_from_slice(&header);
    out
}

/// [`pack`] in chunks: everything after the header goes to `sink` as it is written (about a MiB at a time), and
/// the header, which holds their checksum, comes back at the end, to go before them.
pub fn pack_into(meta: &LoadMeta, table: &UsageTable, sink: &mut dyn FnMut(&[u8])) -> [u8; HEADER] {
    let json = serde_json::to_vec(meta).unwrap_or_default();
    let mut sum = meterlens_engine::Checksum::default();
    sum.update(&json);
    sink(&json);
    table.write_snapshot(&mut |chunk| {
        sum.update(chunk);
        sink(chunk);
    });
    let mut header = [0; HEADER];
    header[..8].copy_from_slice(PACK_MAGIC);
    header[8..16].copy_from_slice(&(json.len() as u64).to_le_bytes());
    header[16..].copy_from_slice(&sum.finish().to_le_bytes());
    header
}

/// Reads [`pack`]'s output back into metadata and a table.
pub fn unpack(bytes: &[u8]) -> Result<(UsageTable, LoadMeta), String> {
    unpack_source(&bytes)
}

/// [`unpack`] from bytes read a window at a time: the table is built straight from them, without a copy of the
/// whole stored form in this memory.
pub fn unpack_source(source: &dyn ByteSource) -> Result<(UsageTable, LoadMeta), String> {
    let mut header = [0u8; HEADER];
    let header = &mut header[..source.len().min(HEADER)];
    source.read(0, header);
    check_header(header)?;
    let mut sum = meterlens_engine::Checksum::default();
    add_to_checksum(&mut sum, &Within { source, start: HEADER, len: source.len() - HEADER });
    if sum.finish().to_le_bytes() != header[16..] {
        return Err("the stored dataset is damaged (its checksum does not match)".into());
    }
    let len = meta_len(header, source.len() - HEADER)?;
    let mut json = vec![0u8; len];
    source.read(HEADER, &mut json);
    let meta = meta_of(&json)?;
    let snapshot = Within { source, start: HEADER + len, len: source.len() - HEADER - len };
    let table = UsageTable::from_snapshot_source(&snapshot).map_err(|e| e.to_string())?;
    Ok((table, meta))
}

/// Refuses a header that is not of a stored dataset, or cut short.
fn check_header(header: &[u8]) -> Result<(), String> {
    if header.len() < PACK_MAGIC.len() || header[..PACK_MAGIC.len()] != *PACK_MAGIC {
        return Err("not a stored MeterLens dataset".into());
    }
    if header.len() < HEADER {
        return Err("the stored dataset is truncated".into());
    }
    Ok(())
}

/// The metadata's length, from a checked header; refused past the `available` bytes after the header.
fn meta_len(header: &[u8], available: usize) -> Result<usize, String> {
    let len = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
    let len = usize::try_from(len).map_err(|_| "the stored dataset is damaged")?;
    if len > available {
        return Err("the stored dataset is truncated".into());
    }
    Ok(len)
}

fn meta_of(json: &[u8]) -> Result<LoadMeta, String> {
    serde_json::from_slice(json).map_err(|e| format!("the stored dataset is damaged: {e}"))
}

/// Adds every byte of `source` to `sum`, a window at a time.
fn add_to_checksum(sum: &mut meterlens_engine::Checksum, source: &dyn ByteSource) {
    let mut window = vec![0u8; SNAPSHOT_CHUNK.min(source.len())];
    let mut at = 0;
    while at < source.len() {
        let piece = &mut window[..SNAPSHOT_CHUNK.min(source.len() - at)];
        source.read(at, piece);
        sum.update(piece);
        at += piece.len();
    }
}

/// Stored bytes read by range, asynchronously (a kept file in the browser); each piece stays where the source
/// keeps it (JS buffers in the browser), read into wasm a window at a time.
pub trait PieceSource {
    type Piece: ByteSource;
    /// Bytes stored.
    fn size(&self) -> usize;
    /// Bytes `[start, end)`.
    fn piece(&self, start: usize, end: usize) -> impl Future<Output = Result<Self::Piece, String>>;
}

/// [`unpack`] from a source read a piece at a time: the header and metadata, the snapshot's index, then one
/// table section after another, each checksummed and decoded as it comes. Besides the table, no more than one
/// section (a column: at most 8 bytes a row) is ever held.
pub async fn unpack_pieces(source: &impl PieceSource) -> Result<(UsageTable, LoadMeta), String> {
    let total = source.size();
    let read = |piece: &dyn ByteSource| {
        let mut bytes = vec![0u8; piece.len()];
        piece.read(0, &mut bytes);
        bytes
    };
    let header = read(&source.piece(0, total.min(HEADER)).await?);
    check_header(&header)?;
    let json_len = meta_len(&header, total - HEADER)?;
    let json = read(&source.piece(HEADER, HEADER + json_len).await?);
    let mut sum = meterlens_engine::Checksum::default();
    sum.update(&json);
    let meta = meta_of(&json)?;
    let (snapshot_at, snapshot_len) = (HEADER + json_len, total - HEADER - json_len);
    let start = read(&source.piece(snapshot_at, total.min(snapshot_at + 8)).await?);
    SnapshotDecoder::check_start(&start).map_err(|e| e.to_string())?;
    let tail_at = snapshot_at.max(total.saturating_sub(SnapshotDecoder::INDEX_BYTES));
    let tail = read(&source.piece(tail_at, total).await?);
    let mut decoder = SnapshotDecoder::default();
    let sections = decoder.sections(snapshot_len, &tail).map_err(|e| e.to_string())?;
    let index_at = sections.last().map_or(0, |s| s.end);
    for section in sections {
        let piece = source.piece(snapshot_at + section.start, snapshot_at + section.end).await?;
        add_to_checksum(&mut sum, &piece);
        decoder.feed(&piece).map_err(|e| e.to_string())?;
    }
    sum.update(&tail[tail.len() - (snapshot_len - index_at)..]);
    if sum.finish().to_le_bytes() != header[16..] {
        return Err("the stored dataset is damaged (its checksum does not match)".into());
    }
    Ok((decoder.finish().map_err(|e| e.to_string())?, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// Bytes as a file; counts reads and keeps every request, `read_ahead` hints as `ahead:`.
    struct Bytes(&'static str, Vec<u8>, Cell<usize>, RefCell<Vec<String>>);

    fn bytes(name: &'static str, data: Vec<u8>) -> Bytes {
        Bytes(name, data, Cell::new(0), RefCell::new(Vec::new()))
    }

    /// Runs a load over sources that answer at once (their futures are ready when first polled).
    fn load(
        files: &[Bytes],
        count_repeats: bool,
        on_progress: impl FnMut(&Progress),
    ) -> Result<(UsageTable, LoadMeta), String> {
        let mut load = std::pin::pin!(load_files(files, count_repeats, on_progress));
        match load.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(done) => done,
            std::task::Poll::Pending => panic!("a load over bytes in memory never waits"),
        }
    }

    impl FileSource for Bytes {
        fn name(&self) -> String {
            self.0.to_string()
        }
        fn size(&self) -> u64 {
            self.1.len() as u64
        }
        async fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, String> {
            self.2.set(self.2.get() + 1);
            self.3.borrow_mut().push(format!("{start}..{end}"));
            if self.0.contains("vanished") && start > 0 {
                return Err("NotReadableError".into());
            }
            Ok(self.1[start as usize..end as usize].to_vec())
        }
        fn read_ahead(&self, start: u64, end: u64) {
            self.3.borrow_mut().push(format!("ahead: {start}..{end}"));
        }
    }

    fn sample() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/public/sample/usage-sample.csv")).expect("sample")
    }

    #[test]
    fn files_are_read_in_slices_and_a_repeat_is_read_once() {
        let big: Vec<u8> = sample().repeat(1).into_iter().chain(std::iter::repeat_n(b'\n', 9 << 20)).collect();
        let files = [bytes("a.csv", big.clone()), bytes("copy.csv", big), bytes("b.csv", sample())];
        let mut seen = Vec::new();
        let (table, meta) = load(&files, false, |p| seen.push(p.clone())).expect("loads");
        assert_eq!(meta.reports.len(), 2);
        assert_eq!(meta.repeated, vec!["copy.csv is the same file as a.csv; it was read once.".to_string()]);
        assert_eq!(meta.origin, "a.csv, b.csv");
        assert_eq!(table.len() as u64, meta.reports.iter().map(|r| r.rows).sum::<u64>());
        assert_eq!(files[0].2.get(), 1 + 3, "head, then three 4 MiB slices");
        // Each slice but the first is announced before the one before it is parsed.
        let (mib, size) = (1 << 20, files[0].size());
        let slices = [0, 4 * mib, 8 * mib, size].windows(2).map(|w| format!("{}..{}", w[0], w[1])).collect::<Vec<_>>();
        let want = [
            format!("0..{mib}"),
            slices[0].clone(),
            format!("ahead: {}", slices[1]),
            slices[1].clone(),
            format!("ahead: {}", slices[2]),
            slices[2].clone(),
        ];
        assert_eq!(*files[0].3.borrow(), want);
        assert_eq!(files[1].2.get(), 1, "the repeat: only its head");
        let last = seen.last().expect("progress");
        assert_eq!((last.done_bytes, last.total_bytes), (last.total_bytes, files.iter().map(|f| f.size()).sum()));
        assert!(seen.windows(2).all(|w| w[0].done_bytes <= w[1].done_bytes && w[0].rows <= w[1].rows));
    }

    #[test]
    fn repeats_are_named_and_counted_only_when_asked() {
        let prints = [("a.csv".to_string(), 1), ("b.csv".to_string(), 2), ("a-copy.csv".to_string(), 1)];
        assert_eq!(repeats(&prints), vec!["a-copy.csv is the same file as a.csv".to_string()]);
        let files = [bytes("a.csv", sample()), bytes("a-copy.csv", sample())];
        let (once, _) = load(&files, false, |_| {}).expect("loads");
        let (twice, meta) = load(&files, true, |_| {}).expect("loads");
        assert_eq!(twice.len(), 2 * once.len());
        assert_eq!(
            meta.repeated,
            vec!["a-copy.csv is the same file as a.csv; both were counted, as asked.".to_string()]
        );
    }

    #[test]
    fn an_unreadable_file_is_an_error_that_names_it() {
        let files = [bytes("vanished.csv", vec![b'x'; 5 << 20])];
        let error = load(&files, false, |_| {}).expect_err("fails");
        assert_eq!(error, "vanished.csv: could not read the file: NotReadableError");
    }

    #[test]
    fn a_packed_dataset_unpacks_to_the_same_table_and_reports() {
        let files = [bytes("usage.csv", sample())];
        let (table, meta) = load(&files, false, |_| {}).expect("loads");
        let packed = pack(&meta, &table);
        let (back, back_meta) = unpack(&packed).expect("unpacks");
        assert_eq!(back_meta, meta);
        assert_eq!(back.len(), table.len());
        assert!(unpack(&packed[..packed.len() - 3]).is_err());
        assert!(unpack(&packed[..12]).is_err());
        // Any flipped byte, header or payload, is refused: a damaged copy never becomes a wrong report.
        for at in (0..packed.len()).step_by(packed.len() / 701 + 1) {
            let mut damaged = packed.clone();
            damaged[at] ^= 0x10;
            assert!(unpack(&damaged).is_err(), "flipped byte {at} accepted");
        }
        assert_eq!(unpack(b"hello").err().as_deref(), Some("not a stored MeterLens dataset"));
    }

    #[test]
    fn a_dataset_packed_in_chunks_reads_back_from_them_as_from_one_buffer() {
        // A table of several MiB, so that its snapshot comes in several chunks.
        let csv: Vec<u8> = sample()
            .into_iter()
            .chain(sample().split(|&b| b == b'\n').skip(1).flat_map(|l| [l, b"\n"].concat()).cycle().take(40 << 20))
            .collect();
        let files = [bytes("usage.csv", csv)];
        let (table, meta) = load(&files, false, |_| {}).expect("loads");
        let mut chunks = vec![Vec::new()];
        let header = pack_into(&meta, &table, &mut |chunk| chunks.push(chunk.to_vec()));
        chunks[0] = header.to_vec();
        assert!(chunks.len() > 3, "header, metadata, then {} chunks", chunks.len() - 2);
        assert!(
            chunks[2..].iter().all(|c| c.len() <= SNAPSHOT_CHUNK),
            "{:?}",
            chunks.iter().map(Vec::len).collect::<Vec<_>>()
        );
        let whole = pack(&meta, &table);
        assert_eq!(chunks.concat(), whole);
        let (back, back_meta) = unpack_source(&chunks).expect("unpacks");
        assert_eq!(back_meta, meta);
        assert_eq!(back.to_snapshot(), table.to_snapshot());
        chunks.last_mut().expect("chunks").pop();
        assert_eq!(
            unpack_source(&chunks).err().as_deref(),
            Some("the stored dataset is damaged (its checksum does not match)")
        );
    }

    /// Stored bytes read piece by piece; keeps the size of every piece asked for.
    struct Stored(Vec<u8>, RefCell<Vec<usize>>);

    impl PieceSource for Stored {
        type Piece = Vec<Vec<u8>>;
        fn size(&self) -> usize {
            self.0.len()
        }
        async fn piece(&self, start: usize, end: usize) -> Result<Vec<Vec<u8>>, String> {
            self.1.borrow_mut().push(end - start);
            Ok(vec![self.0[start..end].to_vec()])
        }
    }

    fn unpack_stored(stored: &Stored) -> Result<(UsageTable, LoadMeta), String> {
        let mut unpack = std::pin::pin!(unpack_pieces(stored));
        match unpack.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(done) => done,
            std::task::Poll::Pending => panic!("pieces in memory never wait"),
        }
    }

    #[test]
    fn a_stored_dataset_unpacks_a_section_at_a_time_and_refuses_any_damage() {
        let files = [bytes("usage.csv", sample().repeat(20))];
        let (table, meta) = load(&files, false, |_| {}).expect("loads");
        let packed = pack(&meta, &table);
        let stored = Stored(packed.clone(), RefCell::default());
        let (back, back_meta) = unpack_stored(&stored).expect("unpacks");
        assert_eq!(back_meta, meta);
        assert_eq!(back.to_snapshot(), table.to_snapshot());
        let pieces = stored.1.borrow();
        // Header, metadata, the snapshot's first 8 bytes, the tail with the index, then every section once.
        assert_eq!(pieces[2], 8);
        let (tail, once) = (pieces[3], pieces.iter().sum::<usize>() - pieces[3] - pieces[2]);
        assert!(tail <= SnapshotDecoder::INDEX_BYTES && packed.len() - once < tail, "{pieces:?}");
        let largest = pieces.iter().max().copied().unwrap_or(0);
        // At most a column of 8 bytes a row (here the quantities, about half of so small a table), not all of it.
        assert!(
            largest <= 8 * table.len() + 4096 && largest * 3 < packed.len() * 2,
            "largest {largest} of {}",
            packed.len()
        );
        for at in (0..packed.len()).step_by(packed.len() / 701 + 1) {
            let mut damaged = packed.clone();
            damaged[at] ^= 0x10;
            assert!(unpack_stored(&Stored(damaged, RefCell::default())).is_err(), "flipped byte {at} accepted");
        }
        for cut in [0, 5, HEADER, HEADER + 10, packed.len() / 2, packed.len() - 1] {
            assert!(unpack_stored(&Stored(packed[..cut].to_vec(), RefCell::default())).is_err(), "cut at {cut}");
        }
    }
}
