//! JSON parsed the strict way: a key given twice in one object, or in two spellings that
//! differ only in case, is an error. Servers bind such keys differently (first wins, last
//! wins, case-insensitively), so the gateway refuses to guess which one they will use.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictError {
    NotJson,
    /// The key, as first written.
    RepeatedKey(String),
}

/// Marks the serde error that carries a repeated key, to tell it from bad JSON.
const REPEATED: &str = "\u{0}repeated key\u{0}";

pub fn parse(bytes: &[u8]) -> Result<Value, StrictError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict.deserialize(&mut de).map_err(classify)?;
    de.end().map_err(|_| StrictError::NotJson)?;
    Ok(value)
}

fn classify(e: serde_json::Error) -> StrictError {
    let text = e.to_string();
    match text.split_once(REPEATED) {
        Some((_, rest)) => StrictError::RepeatedKey(
            rest.split_once(REPEATED)
                .map_or(rest, |(key, _)| key)
                .to_owned(),
        ),
        None => StrictError::NotJson,
    }
}

#[derive(Clone, Copy)]
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Strict)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut folded = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !folded.insert(fold(&key)) {
                return Err(de::Error::custom(format!("{REPEATED}{key}{REPEATED}")));
            }
            let value = map.next_value_seed(Strict)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A key as a lenient binder may match it. Besides ASCII case, Java's
/// `equalsIgnoreCase` and .NET's `OrdinalIgnoreCase` compare characters through their
/// single-character upper and lower case, so `ſ` (long s) binds as `s`, `ı` and `İ` as
/// `i`, the Kelvin sign as `k`: a character whose case mapping starts with an ASCII
/// letter folds to that letter.
fn fold(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii() {
                return c.to_ascii_lowercase();
            }
            c.to_lowercase()
                .next()
                .filter(char::is_ascii_alphabetic)
                .or_else(|| c.to_uppercase().next().filter(char::is_ascii_alphabetic))
                .map_or_else(
                    || c.to_lowercase().next().unwrap_or(c),
                    |a| a.to_ascii_lowercase(),
                )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_case_variant_keys_are_refused_at_any_depth() {
        let repeated = |s: &str| match parse(s.as_bytes()) {
            Err(StrictError::RepeatedKey(k)) => k,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(repeated(r#"{"a": 1, "a": 2}"#), "a");
        assert_eq!(repeated(r#"{"r": {"class": {}, "Class": {}}}"#), "Class");
        assert_eq!(
            repeated(r#"{"r": {"c": {"sourcedId": "x", "sourcedId": "y"}}}"#),
            "sourcedId"
        );
        // An escaped spelling is the same key once decoded.
        assert_eq!(repeated(r#"{"class": 1, "cl\u0061ss": 2}"#), "class");
        // Spellings a Java or .NET binder matches case-insensitively.
        assert_eq!(
            repeated(r#"{"student": 1, "\u017ftudent": 2}"#),
            "\u{17f}tudent"
        );
        assert_eq!(
            repeated(r#"{"lineItem": 1, "l\u0131neItem": 2}"#),
            "l\u{131}neItem"
        );
        assert_eq!(
            repeated(r#"{"l\u0130neItem": 1, "lineItem": 2}"#),
            "lineItem"
        );
        assert_eq!(repeated(r#"{"\u212aey": 1, "key": 2}"#), "key");
        assert!(parse("{\"cl\u{e4}ss\": 1, \"class\": 2}".as_bytes()).is_ok());
        assert_eq!(parse(b"{\"a\": 1} x"), Err(StrictError::NotJson));
        assert_eq!(parse(b"{"), Err(StrictError::NotJson));
        let fine = parse(
            br#"{"result": {"lineItem": {"sourcedId": "l"}, "score": 1.5, "x": [1, {"a": null}]}}"#,
        )
        .unwrap();
        assert_eq!(fine["result"]["score"], 1.5);
    }
}
