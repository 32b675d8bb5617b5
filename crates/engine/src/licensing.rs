//! How a stamp is licensed (Azure Stack Hub pricing models), and which usage charges that waives.

use std::fmt;

/// The local meter Windows VMs pay per vCPU hour on top of the base VM meter.
pub const WINDOWS_VM_METER: &str = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A";

/// A stamp's licensing model, chosen by the user (MeterLens cannot see it in usage data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Licensing {
    /// Pay-as-you-use with Windows Server licences included: Windows VMs pay the Windows meter on top of the base
    /// VM rate.
    #[default]
    PaygIncluded,
    /// Pay-as-you-use, bringing your own Windows Server licence: the Windows meter is not charged.
    PaygByol,
    /// Capacity model: an annual subscription per physical core; usage is analysed but not charged.
    Capacity,
    /// Azure Stack Development Kit: nothing is billed.
    Asdk,
}

impl Licensing {
    /// Every model.
    pub const ALL: [Licensing; 4] =
        [Licensing::PaygIncluded, Licensing::PaygByol, Licensing::Capacity, Licensing::Asdk];

    /// Stable machine name (`meterlens bill --licensing`, JSON, URLs).
    pub fn as_str(self) -> &'static str {
        match self {
            Licensing::PaygIncluded => "payg-included",
            Licensing::PaygByol => "payg-byol",
            Licensing::Capacity => "capacity",
            Licensing::Asdk => "asdk",
        }
    }

    /// The model whose [`Licensing::as_str`] is `name`.
    pub fn from_name(name: &str) -> Option<Licensing> {
        Licensing::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            Licensing::PaygIncluded => "Pay-as-you-use, Windows Server licences included",
            Licensing::PaygByol => "Pay-as-you-use, bring your own Windows Server licence",
            Licensing::Capacity => "Capacity model (annual subscription)",
            Licensing::Asdk => "Development kit (ASDK)",
        }
    }

    /// What the model does to the bill, in one sentence.
    pub fn describe(self) -> &'static str {
        match self {
            Licensing::PaygIncluded => {
                "Licensing: pay-as-you-use with Windows Server licences included; Windows VMs pay the Windows meter \
                 on top of the base VM rate."
            }
            Licensing::PaygByol => {
                "Licensing: pay-as-you-use with your own Windows Server licences (BYOL); Windows VMs pay the base VM \
                 rate only, the Windows meter is not charged (for the whole stamp: usage data does not say which VMs \
                 brought a licence)."
            }
            Licensing::Capacity => {
                "Licensing: capacity model; usage is covered by the annual subscription and costs 0 here (the \
                 subscription itself is billed per core, outside usage)."
            }
            Licensing::Asdk => "Licensing: development kit (ASDK); nothing is billed, every amount is 0.",
        }
    }

    /// Why the usage charge of local meter `meter_id` is waived under this model, if it is.
    pub fn waiver(self, meter_id: &str) -> Option<&'static str> {
        match self {
            Licensing::PaygIncluded => None,
            Licensing::PaygByol if meter_id == WINDOWS_VM_METER => {
                Some("own Windows Server licence (BYOL): not charged")
            }
            Licensing::PaygByol => None,
            Licensing::Capacity => Some("capacity model: covered by the annual subscription"),
            Licensing::Asdk => Some("development kit: not billed"),
        }
    }
}

impl fmt::Display for Licensing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
