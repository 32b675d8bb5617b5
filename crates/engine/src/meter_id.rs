//! Meter ID normalisation: one spelling per meter, whatever the source printed.

/// Normalises a meter ID: trims, drops braces, upper-cases, and writes a 32-hex-digit GUID in its dashed form.
/// IDs that are not GUIDs (e.g. `Custom Worker Tiers`, `AzureSql`) are only trimmed and upper-cased.
///
/// ```
/// use meterlens_engine::meter_id::normalize;
/// assert_eq!(normalize("f271a8a388c44d93956a063e1d2fa80b"), "F271A8A3-88C4-4D93-956A-063E1D2FA80B");
/// assert_eq!(normalize("{fab6eb84-500b-4a09-a8ca-7358f8bbaea5}"), "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5");
/// ```
pub fn normalize(raw: &str) -> String {
    let trimmed = raw.trim().trim_start_matches('{').trim_end_matches('}');
    let hex: Vec<u8> = trimmed.bytes().filter(|&b| b != b'-').collect();
    let dashes_ok = trimmed.len() == 32 || (trimmed.len() == 36 && dashes_at_guid_positions(trimmed));
    if hex.len() == 32 && dashes_ok && hex.iter().all(u8::is_ascii_hexdigit) {
        let mut out = String::with_capacity(36);
        for (i, b) in hex.iter().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            out.push(b.to_ascii_uppercase() as char);
        }
        out
    } else {
        trimmed.to_ascii_uppercase()
    }
}

fn dashes_at_guid_positions(s: &str) -> bool {
    s.bytes().enumerate().all(|(i, b)| (b == b'-') == matches!(i, 8 | 13 | 18 | 23))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn spellings_of_one_meter_agree() {
        let want = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A";
        for raw in [
            "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A",
            "9cd92d4c-bafd-4492-b278-bedc2de8232a",
            "9CD92D4CBAFD4492B278BEDC2DE8232A",
            " {9cd92d4c-bafd-4492-b278-bedc2de8232a} ",
        ] {
            assert_eq!(normalize(raw), want, "{raw}");
        }
    }

    #[test]
    fn non_guids_are_kept_upper_cased() {
        assert_eq!(normalize("Custom Worker Tiers"), "CUSTOM WORKER TIERS");
        assert_eq!(normalize("AzureSql"), "AZURESQL");
        assert_eq!(normalize("9CD92D4C-BAFD-4492-B278-BEDC2DE8232"), "9CD92D4C-BAFD-4492-B278-BEDC2DE8232");
        assert_eq!(normalize("9CD92D4CB-AFD-4492-B278-BEDC2DE8232A"), "9CD92D4CB-AFD-4492-B278-BEDC2DE8232A");
    }
}
