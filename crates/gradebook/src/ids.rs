//! The ids of the OneRoster records a gradebook is keyed by, each its own type, so a
//! student's id cannot be passed where a line item's is expected (`enter(class,
//! line_item, student, …)` took three bare strings). On the wire they are the bare
//! string (`serde(transparent)`), so formats and the UI's bindings do not change.

use serde::{Deserialize, Serialize};

macro_rules! id_types {
    ($( $(#[doc = $doc:literal])* $name:ident, )+) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(id: &String) -> Self {
                Self(id.clone())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

id_types! {
    /// A class's `sourcedId`.
    ClassId,
    /// A line item's (an assignment's) `sourcedId`.
    LineItemId,
    /// A student's `sourcedId`.
    StudentId,
    /// A result's (one student's mark on one line item) `sourcedId`.
    ResultId,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_are_the_bare_string_on_the_wire() {
        let id = LineItemId::from("li-1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"li-1\"");
        assert_eq!(serde_json::from_str::<LineItemId>("\"li-1\"").unwrap(), id);
        assert_eq!(id.to_string(), "li-1");
        assert_eq!(ClassId::new(String::from("c")).as_str(), "c");
    }
}
