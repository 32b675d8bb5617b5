//! A column of numbers kept as the decimals they were written as: a block of rows is a scale, a base and a
//! narrow integer a row (quantities and costs are written with a few decimal places, so 3–4 bytes instead of 8).

/// Rows in a block: each block picks its own scale and width.
pub const BLOCK_ROWS: usize = 1024;
/// Decimal places a block may have (past them, its numbers stay 8-byte floats).
const MAX_SCALE: usize = 15;
const POW10: [f64; MAX_SCALE + 1] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
/// The width of a block of raw floats.
const RAW: u8 = 8;
/// Bytes of a block's head in a snapshot: width, scale, base.
pub(crate) const BLOCK_HEAD_BYTES: usize = 10;

/// Numbers by row. Full blocks are encoded; the rows after the last full block wait as floats.
#[derive(Clone, Debug, Default)]
pub struct Numbers {
    blocks: Vec<Block>,
    bytes: Vec<u8>,
    open: Vec<f64>,
    /// Rows ingest expects (see [`Numbers::expect_rows`]).
    expected: usize,
}

/// How a block's rows are stored: `width` 0, every row `f64::from_bits(base)`; [`RAW`], 8-byte floats; otherwise
/// row `i` is `(base + n_i) / 10^scale`, `n_i` in `width` little-endian bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Block {
    at: usize,
    base: u64,
    scale: u8,
    width: u8,
}

/// The integer `value × 10^scale` when dividing it by `10^scale` gives `value` back bit for bit.
fn decimal(value: f64, scale: usize) -> Option<i64> {
    let n = (value * POW10[scale]).round();
    if n.is_nan() || n.abs() >= (1u64 << 53) as f64 {
        return None;
    }
    // Through the integer, as a block reads it back (which also turns -0.0 into 0.0: not a match).
    let n = n as i64;
    ((n as f64 / POW10[scale]).to_bits() == value.to_bits()).then_some(n)
}

/// Appends `values` (at most [`BLOCK_ROWS`]) to `bytes` in the narrowest encoding that reads back bit for bit;
/// `room(bytes, n)` first makes room for the `n` bytes it will append.
fn encode(values: &[f64], bytes: &mut Vec<u8>, room: impl FnOnce(&mut Vec<u8>, usize)) -> Block {
    let at = bytes.len();
    let first = values.first().map_or(0, |v| v.to_bits());
    if values.iter().all(|v| v.to_bits() == first) {
        return Block { at, base: first, scale: 0, width: 0 };
    }
    let mut scale = 0;
    for &value in values {
        while scale <= MAX_SCALE && decimal(value, scale).is_none() {
            scale += 1;
        }
    }
    let (mut min, mut max) = (i64::MAX, i64::MIN);
    let mut ns = [0i64; BLOCK_ROWS];
    let mut fits = scale <= MAX_SCALE;
    if fits {
        for (n, &value) in ns.iter_mut().zip(values) {
            match decimal(value, scale) {
                Some(v) => {
                    *n = v;
                    (min, max) = (min.min(v), max.max(v));
                }
                None => fits = false,
            }
        }
    }
    let width = if fits { (64 - (max.wrapping_sub(min) as u64).leading_zeros() as usize).div_ceil(8) } else { 8 };
    room(bytes, values.len() * width.min(RAW as usize));
    if width >= RAW as usize {
        values.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
        return Block { at, base: 0, scale: 0, width: RAW };
    }
    for &n in &ns[..values.len()] {
        bytes.extend_from_slice(&(n.wrapping_sub(min) as u64).to_le_bytes()[..width]);
    }
    Block { at, base: min as u64, scale: scale as u8, width: width as u8 }
}

/// One number as its block holds it: an integer and its scale (`base + n` at `10^-scale`), or a float.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Part {
    int: i64,
    scale: u8,
}

/// [`Part::scale`] of a float (its bits in `int`).
const FLOAT: u8 = u8::MAX;

impl Part {
    /// A float as a part.
    pub fn float(value: f64) -> Part {
        Part { int: value.to_bits() as i64, scale: FLOAT }
    }

    /// The number (whole numbers without a division).
    #[inline]
    pub fn value(&self) -> f64 {
        match self.scale {
            FLOAT => f64::from_bits(self.int as u64),
            0 => self.int as f64,
            scale => self.int as f64 / POW10[scale as usize],
        }
    }

    /// True for NaN ("no value"); a decimal never is.
    pub fn is_nan(&self) -> bool {
        self.scale == FLOAT && f64::from_bits(self.int as u64).is_nan()
    }
}

/// A running sum of [`Part`]s: decimals of one scale added as integers (exactly, an addition a row instead of a
/// division), folded into a float when the scale changes or the integer would pass 2^55. 16 bytes: the integer
/// and its scale share a word (`sum × 256 + scale`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DecimalSum {
    float: f64,
    sum_and_scale: i64,
}

/// The integer sum's bound (it shares a word with the scale).
const SUM_LIMIT: i64 = 1 << 55;

impl DecimalSum {
    /// Adds a part.
    #[inline]
    pub fn add(&mut self, part: Part) {
        // A float, or an integer past 2^53 (no block writes one; a damaged snapshot might): summed as a float.
        if part.scale == FLOAT || part.int.unsigned_abs() >= 1 << 53 {
            self.float += part.value();
            return;
        }
        let (sum, scale) = (self.sum_and_scale >> 8, self.sum_and_scale as u8);
        if part.scale == scale || sum == 0 {
            let total = sum + part.int;
            if total.abs() < SUM_LIMIT {
                self.sum_and_scale = total << 8 | part.scale as i64;
                return;
            }
        }
        self.float += sum as f64 / POW10[scale as usize];
        self.sum_and_scale = part.int << 8 | part.scale as i64;
    }

    /// Adds another sum.
    pub fn merge(&mut self, other: &DecimalSum) {
        self.float += other.float;
        self.add(Part { int: other.sum_and_scale >> 8, scale: other.sum_and_scale as u8 });
    }

    /// The sum.
    pub fn value(&self) -> f64 {
        let (sum, scale) = (self.sum_and_scale >> 8, self.sum_and_scale as u8 as usize);
        self.float + sum as f64 / POW10[scale.min(MAX_SCALE)]
    }
}

/// The `width`-byte little-endian integer at `at`: one 8-byte load and a mask where 8 bytes are there (a block's
/// last rows read into the next block's bytes), a copy at the very end.
#[inline]
fn uint_at(bytes: &[u8], at: usize, width: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(eight) => u64::from_le_bytes(eight.try_into().unwrap_or_default()) & (u64::MAX >> (64 - 8 * width)),
        None => {
            let mut b = [0u8; 8];
            b[..width].copy_from_slice(&bytes[at..at + width]);
            u64::from_le_bytes(b)
        }
    }
}

impl Block {
    fn read(&self, bytes: &[u8], i: usize) -> f64 {
        let width = self.width as usize;
        let at = self.at + i * width;
        let n = match self.width {
            0 => return f64::from_bits(self.base),
            1 => bytes[at] as u64,
            2 => u16::from_le_bytes([bytes[at], bytes[at + 1]]) as u64,
            4 => u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default()) as u64,
            RAW => return f64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default()),
            _ => uint_at(bytes, at, width),
        };
        (self.base as i64).wrapping_add(n as i64) as f64 / POW10[self.scale as usize]
    }

    /// The numbers of `rows` of this block (its first row is `start`) as [`Part`]s, the width matched once.
    fn gather_parts(&self, bytes: &[u8], start: usize, rows: &[u32], out: &mut [Part]) {
        let width = self.width as usize;
        let data = &bytes[self.at..self.at + width * BLOCK_ROWS];
        let (base, scale) = (self.base as i64, self.scale);
        let decimal = |n: u64| Part { int: base.wrapping_add(n as i64), scale };
        let items = out.iter_mut().zip(rows.iter().map(|&r| r as usize - start));
        match self.width {
            0 => out.fill(Part::float(f64::from_bits(self.base))),
            1 => items.for_each(|(o, i)| *o = decimal(data[i] as u64)),
            2 => items.for_each(|(o, i)| *o = decimal(u16::from_le_bytes([data[2 * i], data[2 * i + 1]]) as u64)),
            4 => items.for_each(|(o, i)| {
                *o = decimal(u32::from_le_bytes(data[4 * i..4 * i + 4].try_into().unwrap_or_default()) as u64)
            }),
            RAW => items.for_each(|(o, i)| {
                *o = Part::float(f64::from_le_bytes(data[8 * i..8 * i + 8].try_into().unwrap_or_default()))
            }),
            _ => items.for_each(|(o, i)| *o = decimal(uint_at(bytes, self.at + width * i, width))),
        }
    }

    fn bytes(&self, rows: usize) -> usize {
        self.width as usize * rows
    }
}

impl Numbers {
    /// Appends a number.
    pub fn push(&mut self, value: f64) {
        if self.open.capacity() == 0 {
            self.open.reserve_exact(BLOCK_ROWS);
        }
        self.open.push(value);
        if self.open.len() == BLOCK_ROWS {
            self.seal();
        }
    }

    fn seal(&mut self) {
        let (sealed, expected) = (self.blocks.len() * BLOCK_ROWS, self.expected);
        let block = encode(&self.open, &mut self.bytes, |bytes, needed| {
            if bytes.capacity() - bytes.len() >= needed {
                return;
            }
            // Room for the rows ingest expects, at the bytes a row so far, else half again.
            let per_row = (bytes.len() + needed) as f64 / (sealed + BLOCK_ROWS) as f64;
            let wanted = if expected > sealed {
                ((expected - sealed) as f64 * per_row * 1.05) as usize
            } else {
                bytes.len() / 2
            };
            bytes.reserve_exact(wanted.max(needed));
        });
        self.blocks.push(block);
        self.open.clear();
    }

    /// Tells the column how many rows it will likely hold, so that its bytes grow once to about that many.
    pub fn expect_rows(&mut self, rows: usize) {
        self.expected = rows;
    }

    /// The number of row `row` (panics past the end, as a `Vec` index does).
    pub fn get(&self, row: usize) -> f64 {
        match self.blocks.get(row / BLOCK_ROWS) {
            Some(block) => block.read(&self.bytes, row % BLOCK_ROWS),
            None => self.open[row - self.blocks.len() * BLOCK_ROWS],
        }
    }

    /// The numbers of `rows` as [`Part`]s, into `out` (at least as long): what sums read, without a division a row.
    /// Fastest when rows ascend: each run of rows in one block is read with that block's width once.
    pub fn gather_parts(&self, rows: &[u32], out: &mut [Part]) {
        let mut i = 0;
        while i < rows.len().min(out.len()) {
            let b = rows[i] as usize / BLOCK_ROWS;
            let start = b * BLOCK_ROWS;
            let run = rows[i..].iter().take_while(|&&r| r as usize / BLOCK_ROWS == b).count().min(out.len() - i);
            let (rows, out) = (&rows[i..i + run], &mut out[i..i + run]);
            match self.blocks.get(b) {
                Some(block) => block.gather_parts(&self.bytes, start, rows, out),
                None => out.iter_mut().zip(rows).for_each(|(o, &r)| *o = Part::float(self.open[r as usize - start])),
            }
            i += run;
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.blocks.len() * BLOCK_ROWS + self.open.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The numbers, row by row.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.len()).map(|row| self.get(row))
    }

    /// The number every row holds (`None` when the rows differ or there are none).
    pub fn constant(&self) -> Option<f64> {
        let first = self.iter().next()?;
        let same = |v: f64| v.to_bits() == first.to_bits();
        (self.blocks.iter().all(|b| b.width == 0 && b.base == first.to_bits()) && self.open.iter().all(|&v| same(v)))
            .then_some(first)
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.blocks.capacity() * std::mem::size_of::<Block>() + self.bytes.capacity() + self.open.capacity() * 8
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.expected = 0;
        self.blocks.shrink_to_fit();
        self.bytes.shrink_to_fit();
        self.open.shrink_to_fit();
    }

    /// Writes the rows for a snapshot: their count, the bytes of the full blocks, then per block (the open rows as
    /// one more) its head and its bytes.
    pub(crate) fn write(&self, out: &mut dyn FnMut(&[u8])) {
        out(&(self.len() as u64).to_le_bytes());
        out(&(self.bytes.len() as u64).to_le_bytes());
        let mut last = Vec::new();
        let open = (!self.open.is_empty()).then(|| (encode(&self.open, &mut last, |_, _| {}), self.open.len()));
        let sealed = self.blocks.iter().map(|b| (b, &self.bytes[b.at..b.at + b.bytes(BLOCK_ROWS)]));
        for (block, bytes) in sealed.chain(open.as_ref().map(|(b, rows)| (b, &last[..b.bytes(*rows)]))) {
            out(&[block.width, block.scale]);
            out(&block.base.to_le_bytes());
            out(bytes);
        }
    }

    /// The bytes that follow a block head written by [`Numbers::write`] for a block of `rows` rows.
    pub(crate) fn block_bytes(head: &[u8; BLOCK_HEAD_BYTES], rows: usize) -> Result<usize, &'static str> {
        let (width, scale) = (head[0], head[1]);
        if !(width <= 7 || width == RAW) || scale as usize > MAX_SCALE {
            return Err("unknown number encoding");
        }
        Ok(width as usize * rows)
    }

    /// Appends a block read back: its head, and the [`Numbers::block_bytes`] after it; `rows` is [`BLOCK_ROWS`]
    /// but for the last block.
    pub(crate) fn push_block(&mut self, head: &[u8; BLOCK_HEAD_BYTES], rows: usize, bytes: &[u8]) {
        let base = u64::from_le_bytes(head[2..10].try_into().unwrap_or_default());
        let block = Block { at: self.bytes.len(), base, scale: head[1], width: head[0] };
        if rows == BLOCK_ROWS && self.open.is_empty() {
            self.bytes.extend_from_slice(bytes);
            self.blocks.push(block);
        } else {
            let block = Block { at: 0, ..block };
            self.open.reserve_exact(rows);
            (0..rows).for_each(|i| self.push(block.read(bytes, i)));
        }
    }

    /// Reserves room for `bytes` more encoded bytes (a decoder knows its section's size).
    pub(crate) fn reserve_bytes(&mut self, bytes: usize) {
        self.bytes.reserve_exact(bytes);
    }
}

impl FromIterator<f64> for Numbers {
    fn from_iter<I: IntoIterator<Item = f64>>(values: I) -> Self {
        let mut numbers = Numbers::default();
        values.into_iter().for_each(|v| numbers.push(v));
        numbers
    }
}

impl PartialEq for Numbers {
    /// Bit for bit, row by row (NaN equals NaN).
    fn eq(&self, other: &Numbers) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl PartialEq<Vec<f64>> for Numbers {
    fn eq(&self, other: &Vec<f64>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `rows` numbers as a snapshot does; with the bytes read.
    fn read(rows: usize, bytes: &[u8]) -> Result<(Numbers, usize), &'static str> {
        let (mut numbers, mut at) = (Numbers::default(), 16);
        let mut take = |n: usize| {
            let piece = bytes.get(at..at + n).ok_or("the numbers end before their rows");
            at += n;
            piece
        };
        while numbers.len() < rows {
            let head: [u8; BLOCK_HEAD_BYTES] = take(BLOCK_HEAD_BYTES)?.try_into().unwrap_or_default();
            let n = (rows - numbers.len()).min(BLOCK_ROWS);
            let data = take(Numbers::block_bytes(&head, n)?)?;
            numbers.push_block(&head, n, data);
        }
        Ok((numbers, at))
    }

    fn round_trip(values: &[f64]) -> Numbers {
        let numbers: Numbers = values.iter().copied().collect();
        assert_eq!(numbers, values.to_vec());
        let mut bytes = Vec::new();
        numbers.write(&mut |b| bytes.extend_from_slice(b));
        let (back, at) = read(values.len(), &bytes).expect("reads back");
        assert_eq!(at, bytes.len(), "every byte read");
        assert_eq!(back, numbers);
        assert_eq!(back.blocks, numbers.blocks, "the same blocks");
        numbers
    }

    #[test]
    fn decimals_take_the_bytes_their_digits_need_and_read_back_bit_for_bit() {
        // Quantities with 6 places, costs with 8, as Cost Management writes them.
        let quantities: Vec<f64> = (0..BLOCK_ROWS * 3 + 17)
            .map(|i| format!("{}.{:06}", i % 3000, (i * 7919) % 1_000_000).parse().unwrap())
            .collect();
        let numbers = round_trip(&quantities);
        assert!(numbers.blocks.iter().all(|b| b.scale == 6 && b.width == 4), "{:?}", numbers.blocks);
        assert!(numbers.heap_bytes() <= quantities.len() * 4 + BLOCK_ROWS * 8 + 200, "{}", numbers.heap_bytes());
        let costs: Vec<f64> = (0..BLOCK_ROWS).map(|i| -(i as f64) * 0.00000001 - 2.5).collect();
        let costs: Vec<f64> = costs.iter().map(|c| format!("{c:.8}").parse().unwrap()).collect();
        assert_eq!(round_trip(&costs).blocks[0].scale, 8, "negative costs with 8 places");
        // Whole numbers in a small range: 1 byte; one number: no bytes.
        let hours: Vec<f64> = (0..BLOCK_ROWS).map(|i| (i % 24) as f64).collect();
        assert_eq!((round_trip(&hours).blocks[0].scale, round_trip(&hours).blocks[0].width), (0, 1));
        let constant = round_trip(&vec![3408.0; BLOCK_ROWS * 2]);
        assert!(constant.blocks.iter().all(|b| b.width == 0) && constant.constant() == Some(3408.0));
    }

    #[test]
    fn gathering_rows_reads_what_get_reads_at_every_width() {
        let values: Vec<f64> = (0..BLOCK_ROWS * 7 + 3)
            .map(|i| match i / BLOCK_ROWS {
                0 => 7.5,
                1 => (i % 200) as f64,
                2 => (i % 60_000) as f64 / 100.0,
                3 => (i * 1000 + 7) as f64 / 1e6,
                4 => (i * 1_000_003) as f64 / 1e6,
                5 => i as f64 * 8_589_934_592.0,
                6 => i as f64 / 3.0,
                _ => i as f64 * 0.5,
            })
            .collect();
        let numbers: Numbers = values.iter().copied().collect();
        let widths: Vec<u8> = numbers.blocks.iter().map(|b| b.width).collect();
        assert_eq!(widths, vec![0, 1, 2, 3, 4, 6, RAW], "every width");
        assert_eq!(numbers.open.len(), 3);
        let rows: Vec<u32> = (0..values.len() as u32).filter(|r| r % 3 != 1).chain([5, 0, 7000]).collect();
        let mut out = vec![Part::default(); rows.len()];
        numbers.gather_parts(&rows, &mut out);
        for (&row, got) in rows.iter().zip(&out) {
            assert_eq!(got.value().to_bits(), values[row as usize].to_bits(), "row {row}");
            assert_eq!(numbers.get(row as usize).to_bits(), values[row as usize].to_bits(), "row {row}");
        }
    }

    #[test]
    fn decimal_sums_add_parts_exactly_and_fold_across_scales() {
        // Costs with 8 places, then whole quantities, then floats: the sum is the exact decimal sum, rounded once.
        let mut values: Vec<f64> =
            (0..BLOCK_ROWS * 2).map(|i| format!("0.{:08}", i * 37 % 100_000_000).parse().unwrap()).collect();
        values.extend((0..BLOCK_ROWS).map(|i| (i % 50) as f64));
        values.extend((0..10).map(|i| i as f64 / 3.0));
        let numbers: Numbers = values.iter().copied().collect();
        let rows: Vec<u32> = (0..values.len() as u32).collect();
        let mut parts = vec![Part::default(); rows.len()];
        numbers.gather_parts(&rows, &mut parts);
        assert!(parts.iter().zip(&values).all(|(p, v)| p.value().to_bits() == v.to_bits()), "parts read back");
        let mut sum = DecimalSum::default();
        parts.iter().for_each(|&p| sum.add(p));
        let exact: i64 = (0..BLOCK_ROWS as i64 * 2).map(|i| i * 37 % 100_000_000).sum();
        let expected = exact as f64 / 1e8 + (0..BLOCK_ROWS).map(|i| (i % 50) as f64).sum::<f64>() + 15.0;
        assert!((sum.value() - expected).abs() < 1e-9, "{} vs {expected}", sum.value());
        let (mut halves, mut second) = (DecimalSum::default(), DecimalSum::default());
        parts[..1500].iter().for_each(|&p| halves.add(p));
        parts[1500..].iter().for_each(|&p| second.add(p));
        halves.merge(&second);
        assert!((halves.value() - sum.value()).abs() < 1e-9);
        assert!(Part::float(f64::NAN).is_nan() && !parts[0].is_nan());
        // Integers that would pass 2^55 fold into the float instead.
        let mut big = DecimalSum::default();
        let near = (1i64 << 53) - 1;
        (0..6).for_each(|_| big.add(Part { int: near, scale: 0 }));
        assert_eq!(big.value(), 6.0 * near as f64);
        assert_eq!(std::mem::size_of::<DecimalSum>(), 16);
        // Integers no block writes (a damaged snapshot's base) are summed as floats, never wrapped.
        let mut odd = DecimalSum::default();
        [Part { int: 1 << 62, scale: 0 }, Part { int: i64::MIN + 10, scale: 0 }, Part { int: 5, scale: 0 }]
            .into_iter()
            .for_each(|p| odd.add(p));
        assert_eq!(odd.value(), (1u64 << 62) as f64 + (i64::MIN + 10) as f64 + 5.0);
    }

    #[test]
    fn numbers_that_are_not_short_decimals_stay_floats_exactly() {
        let thirds: Vec<f64> = (0..BLOCK_ROWS).map(|i| i as f64 / 3.0).collect();
        assert_eq!(round_trip(&thirds).blocks[0].width, RAW);
        // NaN (no cost), -0.0, infinities and a long unit price mixed into decimals: the block stays exact.
        let mut mixed: Vec<f64> = (0..BLOCK_ROWS).map(|i| i as f64 * 0.25).collect();
        mixed[5] = f64::NAN;
        mixed[6] = -0.0;
        mixed[7] = f64::INFINITY;
        mixed[8] = 0.000024999999999999998;
        round_trip(&mixed);
        let nan = round_trip(&[f64::NAN; 10]);
        assert!(nan.constant().is_some_and(f64::is_nan));
        round_trip(&[]);
        // Past 2^53 at any scale.
        round_trip(&[1e300; 3]);
        round_trip(&(0..BLOCK_ROWS).map(|i| 9e15 + i as f64).collect::<Vec<_>>());
    }

    #[test]
    fn a_damaged_block_is_an_error_never_a_panic() {
        let numbers: Numbers = (0..BLOCK_ROWS + 5).map(|i| i as f64 * 0.5).collect();
        let mut bytes = Vec::new();
        numbers.write(&mut |b| bytes.extend_from_slice(b));
        for at in [0, 1, BLOCK_HEAD_BYTES + 3] {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                if let Ok((read, _)) = read(BLOCK_ROWS + 5, &damaged) {
                    let _ = read.iter().count();
                }
            }
        }
        assert_eq!(read(BLOCK_ROWS + 6, &bytes).err(), Some("the numbers end before their rows"));
    }
}
