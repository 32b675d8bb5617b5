//! The rows a query keeps, as a bitmap over the table: an eighth of a byte a table row however many are kept
//! (a list of row ids costs 4 bytes a kept row, 18 MB for "every row but the admin ones" of 5M rows).

/// A set of table rows, read back in table order.
#[derive(Clone, Debug, PartialEq)]
pub struct Selection {
    words: Vec<u64>,
    len: usize,
    count: usize,
}

impl Selection {
    /// Every row of a table of `len` rows.
    pub fn all(len: usize) -> Selection {
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        if let Some(last) = words.last_mut() {
            if !len.is_multiple_of(64) {
                *last = (1u64 << (len % 64)) - 1;
            }
        }
        Selection { words, len, count: len }
    }

    /// The rows whose entry in `keep` is true, `keep` indexed by `index` of each row's code: one tight pass over
    /// a code column (a filter's scan).
    pub fn of_codes<T: Copy>(codes: &[T], index: impl Fn(T) -> usize, keep: &[bool]) -> Selection {
        let (mut words, mut count) = (Vec::with_capacity(codes.len().div_ceil(64)), 0);
        for chunk in codes.chunks(64) {
            let word =
                chunk.iter().enumerate().fold(0u64, |word, (bit, &code)| word | (keep[index(code)] as u64) << bit);
            count += word.count_ones() as usize;
            words.push(word);
        }
        Selection { words, len: codes.len(), count }
    }

    /// The rows of a table of `len` rows for which `keep` holds: one pass (a filter's scan of packed indexes).
    pub fn of_rows(len: usize, keep: impl Fn(usize) -> bool) -> Selection {
        let (mut words, mut count) = (Vec::with_capacity(len.div_ceil(64)), 0);
        for start in (0..len).step_by(64) {
            let word =
                (start..(start + 64).min(len)).fold(0u64, |word, row| word | (keep(row) as u64) << (row - start));
            count += word.count_ones() as usize;
            words.push(word);
        }
        Selection { words, len, count }
    }

    /// No row of a table of `len` rows.
    pub fn none(len: usize) -> Selection {
        Selection { words: vec![0; len.div_ceil(64)], len, count: 0 }
    }

    /// Adds `row` (below the table's length).
    pub fn insert(&mut self, row: u32) {
        let (word, bit) = (&mut self.words[row as usize / 64], 1u64 << (row % 64));
        self.count += (*word & bit == 0) as usize;
        *word |= bit;
    }

    /// Keeps the rows for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(usize) -> bool) {
        let mut count = 0;
        for (i, word) in self.words.iter_mut().enumerate() {
            let mut rest = *word;
            while rest != 0 {
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                if !keep(i * 64 + bit as usize) {
                    *word &= !(1u64 << bit);
                }
            }
            count += word.count_ones() as usize;
        }
        self.count = count;
    }

    /// How many rows are in.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Rows of the table it selects from.
    pub fn table_len(&self) -> usize {
        self.len
    }

    /// True when `row` is in.
    pub fn contains(&self, row: usize) -> bool {
        self.words.get(row / 64).is_some_and(|word| word & (1u64 << (row % 64)) != 0)
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }

    /// The rows in, in table order (also a buffer at a time, [`Rows::fill`]).
    pub fn iter(&self) -> Rows<'_> {
        Rows { words: &self.words, word: 0, rest: self.words.first().copied().unwrap_or(0) }
    }

    /// The rows in, in table order, as a list.
    pub fn to_rows(&self) -> Vec<u32> {
        let mut rows = Vec::with_capacity(self.count);
        rows.extend(self.iter());
        rows
    }
}

/// A [`Selection`]'s rows in table order.
pub struct Rows<'s> {
    words: &'s [u64],
    word: usize,
    rest: u64,
}

impl Iterator for Rows<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.rest == 0 {
            self.word += 1;
            self.rest = *self.words.get(self.word)?;
        }
        let bit = self.rest.trailing_zeros();
        self.rest &= self.rest - 1;
        Some((self.word * 64) as u32 + bit)
    }
}

impl Rows<'_> {
    /// Fills `rows` with the next rows and returns how many (0 once every row was read).
    pub fn fill(&mut self, rows: &mut [u32]) -> usize {
        rows.iter_mut().zip(self).map(|(slot, row)| *slot = row).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_in_table_order_across_words_and_buffers() {
        let len = 64 * 40 + 7;
        let mut selection = Selection::none(len);
        let rows: Vec<u32> = (0..len as u32).filter(|r| r % 3 == 0 || *r == len as u32 - 1).collect();
        rows.iter().rev().for_each(|&r| selection.insert(r));
        selection.insert(3);
        assert_eq!(selection.count(), rows.len(), "a row inserted twice counts once");
        assert_eq!(selection.to_rows(), rows);
        assert_eq!(selection.iter().collect::<Vec<_>>(), rows);
        let mut blocks = selection.iter();
        let (mut buffer, mut read) = ([0u32; 100], Vec::new());
        loop {
            let n = blocks.fill(&mut buffer);
            if n == 0 {
                break;
            }
            read.extend_from_slice(&buffer[..n]);
        }
        assert_eq!(read, rows, "buffers smaller than the rows read the same rows");
    }

    #[test]
    fn all_holds_exactly_the_table_and_retain_keeps_what_passes() {
        for len in [0, 1, 63, 64, 65, 1000] {
            let mut selection = Selection::all(len);
            assert_eq!(selection.to_rows(), (0..len as u32).collect::<Vec<_>>(), "len {len}");
            assert!(!selection.contains(len), "no row past the table ({len})");
            selection.retain(|row| row % 5 == 1);
            let kept: Vec<u32> = (0..len as u32).filter(|r| r % 5 == 1).collect();
            let rows: Vec<usize> = (0..len).collect();
            let scanned = Selection::of_codes(&rows, |row| row % 5, &[false, true, false, false, false]);
            assert_eq!(scanned, selection, "a scan of codes keeps the same rows");
            assert_eq!(selection.count(), kept.len());
            assert_eq!(selection.to_rows(), kept);
            assert_eq!(selection.table_len(), len);
        }
    }
}
