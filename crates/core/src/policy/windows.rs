//! Windows: Group Policy's registry keys, `HKLM` (machine) and `HKCU` (user).

use std::collections::BTreeMap;

use winreg::RegKey;
use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, RegType};
use winreg::types::FromRegValue;

use super::{PolicyLevel, PolicySource, RawValue};

const PATH: &str = r"SOFTWARE\Policies\Rollbook";

/// `HKLM\SOFTWARE\Policies\Rollbook` or `HKCU\SOFTWARE\Policies\Rollbook`. A missing key
/// means no policy. Text values are `REG_SZ`; flags and minutes are `REG_DWORD`.
#[derive(Debug, Clone, Copy)]
pub struct RegistryPolicy {
    level: PolicyLevel,
}

impl RegistryPolicy {
    pub fn machine() -> Self {
        Self {
            level: PolicyLevel::Machine,
        }
    }

    pub fn user() -> Self {
        Self {
            level: PolicyLevel::User,
        }
    }
}

impl PolicySource for RegistryPolicy {
    fn location(&self) -> String {
        match self.level {
            PolicyLevel::Machine => format!(r"HKLM\{PATH}"),
            PolicyLevel::User => format!(r"HKCU\{PATH}"),
        }
    }

    fn level(&self) -> PolicyLevel {
        self.level
    }

    fn read(&self) -> Result<BTreeMap<String, RawValue>, String> {
        let hive = match self.level {
            PolicyLevel::Machine => HKEY_LOCAL_MACHINE,
            PolicyLevel::User => HKEY_CURRENT_USER,
        };
        let key = match RegKey::predef(hive).open_subkey(PATH) {
            Ok(key) => key,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => {
                return Err(format!(
                    "it cannot be read ({e}); no policy from it applies"
                ));
            }
        };
        let mut values = BTreeMap::new();
        for item in key.enum_values() {
            let (name, value) = item.map_err(|e| format!("it cannot be read ({e})"))?;
            let raw = match value.vtype {
                RegType::REG_SZ | RegType::REG_EXPAND_SZ => {
                    String::from_reg_value(&value).map(RawValue::Text)
                }
                RegType::REG_DWORD => {
                    u32::from_reg_value(&value).map(|n| RawValue::Number(n.into()))
                }
                RegType::REG_QWORD => u64::from_reg_value(&value)
                    .map(|n| RawValue::Number(i64::try_from(n).unwrap_or(i64::MAX))),
                other => Ok(RawValue::Text(format!("<a {other:?} value>"))),
            };
            values.insert(
                name,
                raw.unwrap_or_else(|e| RawValue::Text(format!("<unreadable: {e}>"))),
            );
        }
        Ok(values)
    }
}
