//! Admin (infrastructure) usage: Azure Stack Hub usage that is reported but never billed.

/// Why a row counts as admin usage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminReason {
    /// The resource group is an infrastructure group (`system.<region>`).
    SystemResourceGroup,
}

impl AdminReason {
    /// A sentence for users.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminReason::SystemResourceGroup => "infrastructure resource group system.*",
        }
    }
}

/// Classifies one Azure Stack row by its resource group.
pub fn classify(resource_group: &str) -> Option<AdminReason> {
    let rg = resource_group.as_bytes();
    (rg.len() > 7 && rg[..7].eq_ignore_ascii_case(b"system.")).then_some(AdminReason::SystemResourceGroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_resource_groups_are_admin() {
        assert_eq!(classify("system.local"), Some(AdminReason::SystemResourceGroup));
        assert_eq!(classify("System.Redmond"), Some(AdminReason::SystemResourceGroup));
        assert_eq!(classify("rg-system.local"), None);
        assert_eq!(classify("system."), None);
        assert_eq!(classify(""), None);
    }
}
