//! Windows' own registry hives (winreg), for [`super::RegistryPolicy`].

use winreg::RegKey;
use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, RegType};
use winreg::types::FromRegValue;

use super::registry::{RegistryData, RegistryHive};

/// `HKLM` or `HKCU`.
#[derive(Debug, Clone, Copy)]
pub enum WindowsHive {
    LocalMachine,
    CurrentUser,
}

impl RegistryHive for WindowsHive {
    fn name(&self) -> &'static str {
        match self {
            Self::LocalMachine => "HKLM",
            Self::CurrentUser => "HKCU",
        }
    }

    fn values(&self, path: &str) -> Result<Option<Vec<(String, RegistryData)>>, String> {
        let hive = match self {
            Self::LocalMachine => HKEY_LOCAL_MACHINE,
            Self::CurrentUser => HKEY_CURRENT_USER,
        };
        let key = match RegKey::predef(hive).open_subkey(path) {
            Ok(key) => key,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let mut values = Vec::new();
        for item in key.enum_values() {
            let (name, value) = item.map_err(|e| e.to_string())?;
            let data = match value.vtype {
                RegType::REG_SZ | RegType::REG_EXPAND_SZ => {
                    String::from_reg_value(&value).map(RegistryData::Text)
                }
                RegType::REG_DWORD => u32::from_reg_value(&value).map(RegistryData::Dword),
                RegType::REG_QWORD => u64::from_reg_value(&value).map(RegistryData::Qword),
                other => Ok(RegistryData::Other(format!("{other:?}"))),
            };
            values.push((
                name,
                data.unwrap_or_else(|e| RegistryData::Unreadable(e.to_string())),
            ));
        }
        Ok(Some(values))
    }
}
