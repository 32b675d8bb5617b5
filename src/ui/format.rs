//! Number formatting for people: thousands separators, sensible decimals.

/// `1234567.891` → `1,234,567.89` (at most `decimals` decimals, trailing zeros dropped).
pub fn format_number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let frac = frac.trim_end_matches('0');
    let sign = if value < 0.0 && (int != "0" || !frac.is_empty()) { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn groups_and_trims() {
        assert_eq!(format_number(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(format_number(1500.0, 2), "1,500");
        assert_eq!(format_number(999.0, 0), "999");
        assert_eq!(format_number(-1234.5, 2), "-1,234.5");
        assert_eq!(format_number(0.004, 2), "0");
        assert_eq!(format_number(-0.001, 2), "0");
    }
}
