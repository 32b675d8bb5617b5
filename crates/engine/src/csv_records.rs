//! Streaming CSV records over `csv-core`: fed byte chunks split anywhere, yields whole records with the line
//! each starts on. Memory is bounded by the longest record, which is itself capped.

use csv_core::{ReadRecordResult, Reader};

/// A record longer than this is skipped and reported rather than buffered.
pub(crate) const MAX_RECORD_BYTES: usize = 4 << 20;
/// A record with more fields than this is skipped too (empty fields take no bytes but take room).
pub(crate) const MAX_FIELDS: usize = 1 << 16;

/// One complete record: fields by index, and where it starts.
pub(crate) struct Record<'a> {
    pub line: u64,
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.bytes.get(start..end)
    }

    /// The record's field bytes, one after another (for one UTF-8 check per record).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Field `i` as text, where `whole` is [`Record::bytes`] read as UTF-8; `None` if the field does not start
    /// and end on character boundaries (it is not UTF-8 by itself).
    pub fn get_str(&self, whole: &'a str, i: usize) -> Option<&'a str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        whole.get(start..end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// What the stream hands to its consumer.
pub(crate) enum Event<'a> {
    Record(Record<'a>),
    /// A record over [`MAX_RECORD_BYTES`] starting at `line`; its bytes were discarded.
    TooLong {
        line: u64,
    },
}

pub(crate) struct CsvRecords {
    reader: Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    nout: usize,
    nend: usize,
    in_record: bool,
    too_long: bool,
    /// Blank lines skipped between records; csv-core counts the newlines it reads itself.
    blank_lines: u64,
    record_line: u64,
}

impl Default for CsvRecords {
    fn default() -> Self {
        CsvRecords {
            reader: Reader::new(),
            out: vec![0; 4096],
            ends: vec![0; 64],
            nout: 0,
            nend: 0,
            in_record: false,
            too_long: false,
            blank_lines: 0,
            record_line: 1,
        }
    }
}

impl CsvRecords {
    /// Records separated by `delimiter` (`;` in files re-saved by a European Excel).
    pub fn with_delimiter(delimiter: u8) -> Self {
        CsvRecords { reader: csv_core::ReaderBuilder::new().delimiter(delimiter).build(), ..Default::default() }
    }

    /// Feeds the next chunk; calls `on_event` for every record completed by it.
    pub fn feed(&mut self, input: &[u8], on_event: &mut dyn FnMut(Event<'_>)) {
        // csv-core reads an empty input as the end of the data, which must only happen in `finish`.
        if !input.is_empty() {
            self.run(input, false, on_event);
        }
    }

    /// Ends the stream, flushing a last record that has no terminator.
    pub fn finish(&mut self, on_event: &mut dyn FnMut(Event<'_>)) {
        self.run(&[], true, on_event);
    }

    fn run(&mut self, mut input: &[u8], eof: bool, on_event: &mut dyn FnMut(Event<'_>)) {
        loop {
            if !self.in_record {
                // Blank lines between records: count them so line numbers stay true.
                let skip = input.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
                self.blank_lines += input[..skip].iter().filter(|&&b| b == b'\n').count() as u64;
                input = &input[skip..];
                if input.is_empty() {
                    return;
                }
                self.in_record = true;
                // csv-core's line starts at 1 and counts every newline it has read.
                self.record_line = self.blank_lines + self.reader.line();
            }
            let (result, nin, nout, nend) =
                self.reader.read_record(input, &mut self.out[self.nout..], &mut self.ends[self.nend..]);
            input = &input[nin..];
            self.nout += nout;
            self.nend += nend;
            match result {
                ReadRecordResult::InputEmpty => {
                    if !eof {
                        return;
                    }
                }
                ReadRecordResult::OutputFull => {
                    if self.out.len() >= MAX_RECORD_BYTES {
                        self.too_long = true;
                        self.nout = 0;
                    } else {
                        self.out.resize(self.out.len() * 2, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.too_long || self.ends.len() >= MAX_FIELDS {
                        self.too_long = true;
                        self.nend = 0;
                    } else {
                        self.ends.resize(self.ends.len() * 2, 0);
                    }
                }
                ReadRecordResult::Record => {
                    if self.too_long {
                        on_event(Event::TooLong { line: self.record_line });
                    } else {
                        on_event(Event::Record(Record {
                            line: self.record_line,
                            bytes: &self.out[..self.nout],
                            ends: &self.ends[..self.nend],
                        }));
                    }
                    self.nout = 0;
                    self.nend = 0;
                    self.in_record = false;
                    self.too_long = false;
                }
                ReadRecordResult::End => {
                    self.in_record = false;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(chunks: &[&[u8]]) -> Vec<(u64, Vec<String>)> {
        let mut stream = CsvRecords::default();
        let mut got = Vec::new();
        let mut sink = |e: Event<'_>| match e {
            Event::Record(r) => got.push((r.line, r.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect())),
            Event::TooLong { line } => got.push((line, vec!["<too long>".into()])),
        };
        for c in chunks {
            stream.feed(c, &mut sink);
        }
        stream.finish(&mut sink);
        got
    }

    #[test]
    fn quoted_newlines_doubled_quotes_crlf_and_blank_lines() {
        let input = b"a,b\r\n\"x\ny\",\"say \"\"hi\"\"\"\r\n\r\nlast,row";
        let want = vec![
            (1, vec!["a".to_string(), "b".to_string()]),
            (2, vec!["x\ny".to_string(), "say \"hi\"".to_string()]),
            (5, vec!["last".to_string(), "row".to_string()]),
        ];
        assert_eq!(records(&[input]), want);
        for split in 0..input.len() {
            assert_eq!(records(&[&input[..split], &input[split..]]), want, "split at {split}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(records(&bytes), want);
    }

    #[test]
    fn a_record_of_too_many_empty_fields_is_reported_too() {
        let mut input = b"h\n".to_vec();
        input.extend(std::iter::repeat_n(b',', MAX_FIELDS * 3));
        input.extend(b"\nok\n");
        let got = records(&[&input]);
        assert_eq!(got[1], (2, vec!["<too long>".to_string()]));
        assert_eq!(got[2], (3, vec!["ok".to_string()]));
    }

    #[test]
    fn a_record_over_the_cap_is_reported_and_the_next_one_kept() {
        let mut input = b"h1,h2\n\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        input.extend(b"\",2\nok,3\n");
        let got = records(&[&input]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], (2, vec!["<too long>".to_string()]));
        assert_eq!(got[2], (3, vec!["ok".to_string(), "3".to_string()]));
    }
}
