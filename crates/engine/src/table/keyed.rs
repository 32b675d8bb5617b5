//! A string column whose value follows from another column's (a resource's group and name from its URI, a
//! meter's name and unit from its ID): one value per key while every row of a key agrees, instead of an index
//! per row; from the first row that disagrees, a column of its own.

use super::{Column, StrId};

/// No row of this key seen yet.
const UNSET: StrId = StrId(u32::MAX);

/// A column of no rows, for [`Keyed::column`] while the values follow their keys.
static NO_ROWS: Column<StrId> =
    Column { repr: super::Repr::Constant { value: None, len: 0 }, index: None, expected: 0 };

/// Values by the key column's value (see the module), or a column of their own.
#[derive(Clone, Debug, Default)]
pub struct Keyed {
    /// The value of each key, by the key's dictionary id ([`UNSET`] for ids no row has had as its key).
    by_key: Vec<StrId>,
    own: Option<Column<StrId>>,
    len: usize,
    last: Option<StrId>,
    expected: usize,
}

impl Keyed {
    /// Appends the value of the next row; `key` is the key column, which already holds that row.
    pub(crate) fn push(&mut self, value: StrId, key: &Column<StrId>) {
        self.last = Some(value);
        if self.own.is_none() && self.len < key.len() {
            let k = key[self.len].0 as usize;
            // A value per key id costs 4 bytes an id: past an id per 4 rows, a column of its own is smaller.
            let fits = k < self.by_key.len() || k < (1 << 16).max(self.len.max(self.expected) / 4);
            if fits && k >= self.by_key.len() {
                self.by_key.resize(k + 1, UNSET);
            }
            if fits && (self.by_key[k] == UNSET || self.by_key[k] == value) {
                self.by_key[k] = value;
                self.len += 1;
                return;
            }
        }
        self.own_column(key).push(value);
        self.len += 1;
    }

    /// The rows' values as a column of their own, made from the keys if the values followed them so far.
    fn own_column(&mut self, key: &Column<StrId>) -> &mut Column<StrId> {
        if self.own.is_none() {
            let mut own = Column::default();
            own.expect_rows(self.expected);
            (0..self.len).for_each(|row| own.push(self.follow(row, key)));
            self.by_key = Vec::new();
            self.own = Some(own);
        }
        self.own.get_or_insert_with(Column::default)
    }

    fn follow(&self, row: usize, key: &Column<StrId>) -> StrId {
        let k = key[row].0 as usize;
        self.by_key.get(k).copied().filter(|&v| v != UNSET).unwrap_or(StrId::EMPTY)
    }

    /// The value of row `row` (panics past the end, as a `Vec` index does); `key` is the key column.
    pub fn get(&self, row: usize, key: &Column<StrId>) -> StrId {
        match &self.own {
            Some(own) => own[row],
            None => {
                assert!(row < self.len, "row {row} out of {}", self.len);
                self.follow(row, key)
            }
        }
    }

    /// The value of each key by the key's dictionary id (an id no row has as its key holds `u32::MAX`), while the
    /// values follow their keys.
    pub fn by_key(&self) -> Option<&[StrId]> {
        self.own.is_none().then_some(self.by_key.as_slice())
    }

    /// The rows' values, once they no longer follow their keys (a column of no rows before).
    pub fn column(&self) -> &Column<StrId> {
        self.own.as_ref().unwrap_or(&NO_ROWS)
    }

    /// The last row's value.
    pub fn last(&self) -> Option<StrId> {
        self.last
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn expect_rows(&mut self, rows: usize) {
        self.expected = rows;
        if let Some(own) = &mut self.own {
            own.expect_rows(rows);
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.by_key.capacity() * 4 + self.own.as_ref().map_or(0, |own| own.heap_bytes())
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.expected = 0;
        self.by_key.shrink_to_fit();
        if let Some(own) = &mut self.own {
            own.shrink_to_fit();
        }
    }

    /// The pairs (key id, value id) of a table whose values follow their keys, for a snapshot.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (StrId, StrId)> + '_ {
        let keys = self.by_key().unwrap_or_default().iter().enumerate();
        keys.filter(|(_, &v)| v != UNSET).map(|(k, &v)| (StrId(k as u32), v))
    }

    /// `rows` rows whose values follow their keys by `pairs` (read back from a snapshot; ids already checked).
    pub(crate) fn from_pairs(rows: usize, pairs: impl Iterator<Item = (StrId, StrId)>) -> Keyed {
        let mut by_key: Vec<StrId> = Vec::new();
        for (k, v) in pairs {
            if k.0 as usize >= by_key.len() {
                by_key.resize(k.0 as usize + 1, UNSET);
            }
            by_key[k.0 as usize] = v;
        }
        by_key.shrink_to_fit();
        Keyed { by_key, own: None, len: rows, last: None, expected: 0 }
    }

    /// `column`'s rows as a column of their own (read back from a snapshot).
    pub(crate) fn from_column(column: Column<StrId>) -> Keyed {
        Keyed { by_key: Vec::new(), len: column.len(), last: column.last(), own: Some(column), expected: 0 }
    }

    /// Applies `change` to the column of its own, if it has one (tests widen it).
    #[cfg(test)]
    pub(crate) fn widen_own(&mut self, change: impl FnOnce(&mut Column<StrId>)) {
        if let Some(own) = &mut self.own {
            change(own);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_their_keys_until_a_key_has_two() {
        let mut uris: Column<StrId> = Column::default();
        let mut names = Keyed::default();
        let rows: Vec<(u32, u32)> = (0..10_000u32).map(|i| (i % 700 + 1, i % 700 + 5000)).collect();
        for &(uri, name) in &rows {
            uris.push(StrId(uri));
            names.push(StrId(name), &uris);
        }
        assert!(names.by_key().is_some(), "one name per URI: no index per row");
        assert!(names.heap_bytes() < 701 * 4 * 2 + 64, "{} bytes", names.heap_bytes());
        assert!(rows.iter().enumerate().all(|(r, &(_, name))| names.get(r, &uris) == StrId(name)));
        assert_eq!(names.column().len(), 0);
        // A URI with a second name: from here on a column of their own, every row as it was.
        uris.push(StrId(3));
        names.push(StrId(9), &uris);
        assert!(names.by_key().is_none());
        assert_eq!(names.get(10_000, &uris), StrId(9));
        assert!(rows.iter().enumerate().all(|(r, &(_, name))| names.get(r, &uris) == StrId(name)));
        assert_eq!((names.len(), names.column().len(), names.last()), (10_001, 10_001, Some(StrId(9))));
        // Keys that keep coming (a resource per row): a column of its own past an id per 4 rows.
        let (mut keys, mut values) = (Column::<StrId>::default(), Keyed::default());
        for i in 0..100_000u32 {
            keys.push(StrId(i));
            values.push(StrId(i % 7), &keys);
        }
        assert!(values.by_key().is_none() && values.heap_bytes() < 100_000, "{} bytes", values.heap_bytes());
        assert!((0..100_000).all(|r| values.get(r, &keys) == StrId(r as u32 % 7)));
        let back = Keyed::from_pairs(3, [(StrId(2), StrId(7))].into_iter());
        let mut keys: Column<StrId> = Column::default();
        [2, 2, 4].into_iter().for_each(|k| keys.push(StrId(k)));
        assert_eq!((back.get(0, &keys), back.get(2, &keys)), (StrId(7), StrId::EMPTY), "a key without a value");
    }
}
