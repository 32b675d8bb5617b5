//! Per-row indexes packed in as few bits as the number of values needs (5 bits for 20 meters, 17 for 83,000
//! resources), instead of a whole byte or four.

/// Indexes of `bits` bits each, row after row in 64-bit words.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packed {
    words: Vec<u64>,
    bits: u32,
    len: usize,
}

/// Words that hold `rows` indexes of `bits` bits, and one more: an index that starts in the last word reads the
/// next one too, without a branch.
fn words_for(rows: usize, bits: u32) -> usize {
    (rows * bits as usize).div_ceil(64) + 1
}

impl Packed {
    /// `len` indexes 0 of `bits` bits, with room for `room` rows.
    pub(crate) fn zeros(len: usize, bits: u32, room: usize) -> Packed {
        let mut words = Vec::with_capacity(words_for(room.max(len), bits));
        words.resize(words_for(len, bits), 0);
        Packed { words, bits, len }
    }

    /// Bits an index takes.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The index of row `row` (panics past the end, as a `Vec` index does).
    #[inline]
    pub fn get(&self, row: usize) -> usize {
        assert!(row < self.len, "row {row} out of {}", self.len);
        let bit = row * self.bits as usize;
        let (word, offset) = (bit / 64, (bit % 64) as u32);
        // The high word shifted in two steps: by 64 (offset 0) is not a shift Rust allows.
        let v = self.words[word] >> offset | (self.words[word + 1] << 1) << (63 - offset);
        (v & ((1u64 << self.bits) - 1)) as usize
    }

    /// The indexes, row by row.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).map(|row| self.get(row))
    }

    /// Sets row `row`'s index (below `1 << bits`).
    pub(crate) fn set(&mut self, row: usize, index: u32) {
        let bit = row * self.bits as usize;
        let (word, offset) = (bit / 64, (bit % 64) as u32);
        let mask = (1u64 << self.bits) - 1;
        let v = index as u64 & mask;
        self.words[word] = self.words[word] & !(mask << offset) | v << offset;
        if offset + self.bits > 64 {
            let spill = 64 - offset;
            self.words[word + 1] = self.words[word + 1] & !(mask >> spill) | v >> spill;
        }
    }

    /// Appends an index (below `1 << bits`); when full, the words grow to `expected` rows at once, or by half
    /// once large (see [`super::push_lean`]).
    pub(crate) fn push(&mut self, index: u32, expected: usize) {
        let needed = words_for(self.len + 1, self.bits);
        while self.words.len() < needed {
            if self.words.len() == self.words.capacity() {
                let room = super::lean_capacity(self.len + 1, expected);
                self.words.reserve_exact(words_for(room, self.bits).saturating_sub(self.words.len()).max(1));
            }
            self.words.push(0);
        }
        self.len += 1;
        self.set(self.len - 1, index);
    }

    /// The same indexes in `bits` bits (more than now), with room for `expected` rows.
    pub(crate) fn widen(&mut self, bits: u32, expected: usize) {
        let mut wide = Packed::zeros(self.len, bits, super::lean_capacity(self.len + 1, expected));
        for row in 0..self.len {
            wide.set(row, self.get(row) as u32);
        }
        *self = wide;
    }

    /// Indexes read back from a snapshot: `len` rows of `bits` bits in `words`; `None` when the words do not fit.
    pub(crate) fn from_words(words: Vec<u64>, bits: u32, len: usize) -> Option<Packed> {
        ((1..=32).contains(&bits) && words.len() == words_for(len, bits)).then_some(Packed { words, bits, len })
    }

    /// The words, for a snapshot.
    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.words.shrink_to_fit();
    }
}

/// Bits an index of `n` values takes (at least 1).
pub(crate) fn bits_for(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_read_back_at_every_width_across_word_edges() {
        for bits in [1, 3, 5, 7, 8, 13, 17, 24, 31, 32] {
            let mut packed = Packed::zeros(0, bits, 0);
            let value = |row: usize| ((row as u64 * 2_654_435_761) % (1u64 << bits)) as u32;
            (0..1000).for_each(|row| packed.push(value(row), 0));
            assert!((0..1000).all(|row| packed.get(row) == value(row) as usize), "{bits} bits");
            packed.set(500, 1);
            assert_eq!(
                (packed.get(499), packed.get(500), packed.get(501)),
                (value(499) as usize, 1, value(501) as usize)
            );
            assert_eq!(packed.words.len(), words_for(1000, bits));
        }
        let mut narrow = Packed::zeros(3, 2, 0);
        narrow.set(1, 3);
        narrow.widen(17, 0);
        assert_eq!(narrow.iter().collect::<Vec<_>>(), vec![0, 3, 0]);
        assert_eq!((bits_for(2), bits_for(3), bits_for(20), bits_for(83_000), bits_for(1)), (1, 2, 5, 17, 1));
    }
}
