//! What the report shows (page, slicer selections, date range, grain, admin choice), and its URL form:
//! `#page?key=value&…`. Never data: a shared link restores the view once the same data is loaded.

use meterlens_engine::query::{Dimension, Filter, Query};
use meterlens_engine::time::parse_timestamp;

/// The report pages, each addressed by a URL hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Page {
    #[default]
    Overview,
    Explorer,
    Resources,
    Data,
    Bill,
    Meters,
    Reconcile,
    Connect,
}

impl Page {
    pub const ALL: [Page; 8] = [
        Page::Overview,
        Page::Explorer,
        Page::Resources,
        Page::Data,
        Page::Bill,
        Page::Meters,
        Page::Reconcile,
        Page::Connect,
    ];

    pub fn hash(self) -> &'static str {
        match self {
            Page::Overview => "overview",
            Page::Explorer => "explorer",
            Page::Resources => "resources",
            Page::Data => "data",
            Page::Bill => "bill",
            Page::Meters => "meters",
            Page::Reconcile => "reconcile",
            Page::Connect => "connect",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::Explorer => "Cost explorer",
            Page::Resources => "Resources",
            Page::Data => "Data",
            Page::Bill => "Bill",
            Page::Meters => "Meters",
            Page::Reconcile => "Reconciliation",
            Page::Connect => "Connect",
        }
    }

    /// Pages filtered by the slicers (the others have their own controls).
    pub fn is_sliced(self) -> bool {
        matches!(self, Page::Overview | Page::Explorer | Page::Resources | Page::Data)
    }

    fn from_name(name: &str) -> Page {
        // `report` was the first page's name before the report had several pages.
        if name == "report" {
            return Page::Overview;
        }
        Page::ALL.into_iter().find(|p| p.hash() == name).unwrap_or_default()
    }
}

/// Time bucket of the charts and the explorer's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Grain {
    Hour,
    #[default]
    Day,
    Week,
    Month,
}

impl Grain {
    pub const ALL: [Grain; 4] = [Grain::Hour, Grain::Day, Grain::Week, Grain::Month];

    pub fn name(self) -> &'static str {
        match self {
            Grain::Hour => "hour",
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Grain::Hour => Dimension::Hour,
            Grain::Day => Dimension::Day,
            Grain::Week => Dimension::Week,
            Grain::Month => Dimension::Month,
        }
    }

    fn from_name(name: &str) -> Option<Grain> {
        Grain::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// The drill-down path of the breakdown visuals and the explorer's rows.
pub const HIERARCHY: [Dimension; 3] = [Dimension::MeterCategory, Dimension::MeterName, Dimension::Resource];

/// Everything the URL carries.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ViewState {
    pub page: Page,
    /// Slicer selections: each dimension keeps the rows whose value is one of these.
    pub selections: Vec<(Dimension, Vec<String>)>,
    /// First day shown (`YYYY-MM-DD`, UTC), inclusive.
    pub from: Option<String>,
    /// Last day shown (`YYYY-MM-DD`, UTC), inclusive.
    pub to: Option<String>,
    pub grain: Grain,
    /// Count zero-priced admin (infrastructure) rows too.
    pub include_admin: bool,
    /// Data page: sorted by this column, descending when true.
    pub sort: Option<(String, bool)>,
    /// What the visuals measure: `rows`, `cost:CURRENCY` or `quantity:UNIT` (default: the first cost, else rows).
    pub measure: Option<String>,
}

impl ViewState {
    /// Reads a URL hash (without `#`); what it cannot read is left at its default.
    pub fn from_hash(hash: &str) -> ViewState {
        let (page, params) = hash.split_once('?').unwrap_or((hash, ""));
        let mut state = ViewState { page: Page::from_name(page), ..Default::default() };
        for pair in params.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (key, value) = (decode(key), decode(value));
            match key.as_str() {
                "from" if is_day(&value) => state.from = Some(value),
                "to" if is_day(&value) => state.to = Some(value),
                "grain" => state.grain = Grain::from_name(&value).unwrap_or_default(),
                "admin" => state.include_admin = value == "1",
                "m" if !value.is_empty() => state.measure = Some(value),
                "sort" => {
                    let descending = value.starts_with('-');
                    state.sort = Some((value.trim_start_matches('-').to_string(), descending));
                }
                _ => {
                    if let Some(Ok(dimension)) = key.strip_prefix("f.").map(str::parse::<Dimension>) {
                        let values = pair.split_once('=').map_or("", |p| p.1).split(',').map(decode).collect();
                        state.set_selection(dimension, values);
                    }
                }
            }
        }
        state
    }

    /// The URL hash (without `#`) for this state; stable, so equal states give equal links.
    pub fn to_hash(&self) -> String {
        let mut params: Vec<String> = Vec::new();
        for (dimension, values) in &self.selections {
            let values: Vec<String> = values.iter().map(|v| encode(v)).collect();
            params.push(format!("f.{}={}", encode(&dimension.name()), values.join(",")));
        }
        if let Some(from) = &self.from {
            params.push(format!("from={from}"));
        }
        if let Some(to) = &self.to {
            params.push(format!("to={to}"));
        }
        if self.grain != Grain::default() {
            params.push(format!("grain={}", self.grain.name()));
        }
        if self.include_admin {
            params.push("admin=1".into());
        }
        if let Some(measure) = &self.measure {
            params.push(format!("m={}", encode(measure)));
        }
        if let Some((column, descending)) = &self.sort {
            params.push(format!("sort={}{}", if *descending { "-" } else { "" }, encode(column)));
        }
        if params.is_empty() {
            self.page.hash().to_string()
        } else {
            format!("{}?{}", self.page.hash(), params.join("&"))
        }
    }

    /// The values selected on `dimension` (empty: no selection).
    pub fn selection(&self, dimension: &Dimension) -> &[String] {
        self.selections.iter().find(|(d, _)| d == dimension).map_or(&[], |(_, v)| v)
    }

    /// Replaces the selection on `dimension` (an empty list clears it).
    pub fn set_selection(&mut self, dimension: Dimension, mut values: Vec<String>) {
        values.dedup();
        self.selections.retain(|(d, _)| *d != dimension);
        if !values.is_empty() {
            self.selections.push((dimension, values));
        }
    }

    /// Adds or removes one value of a selection (a click on a bar or a slicer item).
    pub fn toggle(&mut self, dimension: Dimension, value: &str) {
        let mut values = self.selection(&dimension).to_vec();
        if let Some(at) = values.iter().position(|v| v == value) {
            values.remove(at);
        } else {
            values.push(value.to_string());
        }
        self.set_selection(dimension, values);
    }

    /// Clears every selection and the date range.
    pub fn clear_filters(&mut self) {
        self.selections.clear();
        self.from = None;
        self.to = None;
    }

    /// True when anything filters the rows.
    pub fn is_filtered(&self) -> bool {
        !self.selections.is_empty() || self.from.is_some() || self.to.is_some()
    }

    /// How deep the drill-down is: the hierarchy levels with exactly one value selected, from the top.
    pub fn drill_depth(&self) -> usize {
        HIERARCHY.iter().take_while(|d| self.selection(d).len() == 1).count()
    }

    /// The engine query for the rows this state shows; `except` leaves out the selection on one dimension
    /// (a visual grouped by a dimension shows all its values, the selected ones highlighted).
    pub fn query(&self, except: Option<&Dimension>) -> Query {
        let mut filters: Vec<Filter> = self
            .selections
            .iter()
            .filter(|(d, _)| Some(d) != except)
            .map(|(d, values)| Filter::In(d.clone(), values.clone()))
            .collect();
        if except != Some(&Dimension::Day) {
            if let Some(range) = self.time_range() {
                filters.push(range);
            }
        }
        Query { filters, include_admin: self.include_admin, ..Default::default() }
    }

    /// The date range as an engine filter (days are UTC; `to` is inclusive).
    pub fn time_range(&self) -> Option<Filter> {
        let from = self.from.as_deref().and_then(|d| parse_timestamp(d).ok());
        let to = self.to.as_deref().and_then(|d| parse_timestamp(d).ok()).map(|t| t + 86_400);
        (from.is_some() || to.is_some())
            .then(|| Filter::TimeRange { from: from.unwrap_or(i64::MIN), to: to.unwrap_or(i64::MAX) })
    }

    /// Selects the days of one time bucket label (`2026-10-03`, `2026-10-03 05:00`, `2026-10` or a week's Monday).
    pub fn select_bucket(&mut self, grain: Grain, label: &str) {
        let day = label.get(..10).unwrap_or(label);
        let (from, to) = match grain {
            Grain::Hour | Grain::Day => (day.to_string(), day.to_string()),
            Grain::Week => match parse_timestamp(day) {
                Ok(t) => (day.to_string(), meterlens_engine::time::day_label(t.div_euclid(86_400) + 6)),
                Err(_) => return,
            },
            Grain::Month => {
                let Ok(first) = parse_timestamp(&format!("{label}-01")) else { return };
                let next = parse_timestamp(&next_month(label)).unwrap_or(first + 31 * 86_400);
                (format!("{label}-01"), meterlens_engine::time::day_label(next.div_euclid(86_400) - 1))
            }
        };
        if self.from.as_deref() == Some(&from) && self.to.as_deref() == Some(&to) {
            self.from = None;
            self.to = None;
        } else {
            self.from = Some(from);
            self.to = Some(to);
        }
    }

    /// True when a time bucket label lies inside the selected date range.
    pub fn bucket_selected(&self, label: &str) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return false;
        }
        let day = label.get(..10).unwrap_or(label);
        let day = if day.len() == 7 { format!("{day}-01") } else { day.to_string() };
        self.from.as_deref().is_none_or(|f| day.as_str() >= f) && self.to.as_deref().is_none_or(|t| day.as_str() <= t)
    }
}

fn next_month(month: &str) -> String {
    let (year, m) = month.split_once('-').unwrap_or(("1970", "01"));
    let (year, m): (i32, u32) = (year.parse().unwrap_or(1970), m.parse().unwrap_or(1));
    if m >= 12 {
        format!("{}-01-01", year + 1)
    } else {
        format!("{year}-{:02}-01", m + 1)
    }
}

fn is_day(text: &str) -> bool {
    text.len() == 10 && parse_timestamp(text).is_ok()
}

/// Percent-encodes everything but unreserved characters (so `,`, `&`, `=` and `#` inside values survive).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode`] (and reads `+` as a space); invalid escapes are kept as written.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_survives_its_url() {
        let mut state =
            ViewState { page: Page::Explorer, grain: Grain::Month, include_admin: true, ..Default::default() };
        state.set_selection(Dimension::MeterCategory, vec!["Compute".into(), "Storage, hot & cold".into()]);
        state.set_selection(Dimension::Tag("cost center".into()), vec!["a=b#c".into()]);
        state.from = Some("2026-10-03".into());
        state.to = Some("2026-10-09".into());
        state.sort = Some(("quantity".into(), true));
        state.measure = Some("quantity:GB*hours".into());
        let hash = state.to_hash();
        assert!(hash.starts_with("explorer?"), "{hash}");
        assert!(!hash.contains(' ') && !hash.contains('#'), "{hash}");
        assert_eq!(ViewState::from_hash(&hash), state);
    }

    #[test]
    fn a_bare_page_and_junk_parameters() {
        assert_eq!(ViewState::from_hash(""), ViewState::default());
        assert_eq!(ViewState::from_hash("report").page, Page::Overview);
        let state = ViewState::from_hash("data?from=yesterday&grain=century&f.nonsense=1&%zz=%&admin=0");
        assert_eq!(state, ViewState { page: Page::Data, ..Default::default() });
        assert_eq!(ViewState::default().to_hash(), "overview");
    }

    #[test]
    fn toggling_and_drilling() {
        let mut state = ViewState::default();
        state.toggle(Dimension::MeterCategory, "Compute");
        assert_eq!(state.drill_depth(), 1);
        state.toggle(Dimension::MeterName, "Base VM Size Hours");
        assert_eq!(state.drill_depth(), 2);
        state.toggle(Dimension::MeterCategory, "Compute");
        assert_eq!(state.drill_depth(), 0, "the path is broken at the top");
        assert!(state.is_filtered());
        state.clear_filters();
        assert!(!state.is_filtered());
    }

    #[test]
    fn the_query_leaves_out_one_dimension_when_asked() {
        let mut state = ViewState::default();
        state.toggle(Dimension::Location, "local");
        state.toggle(Dimension::Subscription, "s1");
        state.from = Some("2026-10-02".into());
        let all = state.query(None);
        assert_eq!(all.filters.len(), 3);
        let except = state.query(Some(&Dimension::Location));
        assert_eq!(except.filters.len(), 2);
        assert!(except.filters.iter().all(|f| !matches!(f, Filter::In(Dimension::Location, _))));
        assert_eq!(state.query(Some(&Dimension::Day)).filters.len(), 2, "time visuals show every day");
        let oct2 = parse_timestamp("2026-10-02").unwrap();
        assert_eq!(state.time_range(), Some(Filter::TimeRange { from: oct2, to: i64::MAX }));
    }

    #[test]
    fn buckets_become_inclusive_day_ranges() {
        let mut state = ViewState::default();
        state.select_bucket(Grain::Month, "2026-02");
        assert_eq!((state.from.as_deref(), state.to.as_deref()), (Some("2026-02-01"), Some("2026-02-28")));
        assert!(state.bucket_selected("2026-02"));
        state.select_bucket(Grain::Week, "2026-10-05");
        assert_eq!((state.from.as_deref(), state.to.as_deref()), (Some("2026-10-05"), Some("2026-10-11")));
        assert!(state.bucket_selected("2026-10-07") && !state.bucket_selected("2026-10-12"));
        state.select_bucket(Grain::Hour, "2026-10-07 05:00");
        assert_eq!(state.from.as_deref(), Some("2026-10-07"));
        state.select_bucket(Grain::Day, "2026-10-07");
        assert_eq!(state.from, None, "a second click on the same bucket clears it");
        state.select_bucket(Grain::Month, "2026-12");
        assert_eq!(state.to.as_deref(), Some("2026-12-31"));
    }

    #[test]
    fn percent_coding() {
        for text in ["plain", "a b,c&d=e#f", "Ünïcode €", "100%", "%4", "%"] {
            assert_eq!(decode(&encode(text)), text);
        }
        assert_eq!(decode("a+b%2Cc%zz%4"), "a b,c%zz%4");
    }
}
