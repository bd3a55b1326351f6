//! Unwrapping `{"users":[…]}`-style envelopes. Servers name the envelope after the
//! resource (`/classes/{id}/teachers` → `users`), after the path (`teachers`), or
//! something else again; the expected name wins, otherwise the one list in the object.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};

/// Parses a list envelope. `Ok(None)` when the object holds no list at all.
pub fn parse_list<T: DeserializeOwned>(
    body: &[u8],
    expected: &str,
) -> Result<Option<Vec<T>>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let list = ListEnvelope::<T> {
        expected,
        marker: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(list)
}

/// Parses a single-record envelope (`{"class":{…}}`): the expected key, or the one
/// object-valued key.
pub fn parse_single<T: DeserializeOwned>(
    body: &[u8],
    expected: &str,
) -> Result<Option<T>, serde_json::Error> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)?;
    let value = match object.get(expected) {
        Some(v) => Some(v.clone()),
        None => {
            let mut objects = object.into_iter().filter(|(_, v)| v.is_object());
            match (objects.next(), objects.next()) {
                (Some((_, v)), None) => Some(v),
                _ => None,
            }
        }
    };
    value.map(serde_json::from_value).transpose()
}

struct ListEnvelope<'a, T> {
    expected: &'a str,
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for ListEnvelope<'_, T> {
    type Value = Option<Vec<T>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for ListEnvelope<'_, T> {
    type Value = Option<Vec<T>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object holding a `{}` list", self.expected)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut expected = None;
        let mut other = None;
        while let Some(key) = map.next_key::<String>()? {
            let list = map.next_value::<ListOrOther<T>>()?.0;
            if key == self.expected {
                expected = list;
            } else if other.is_none() {
                other = list;
            }
        }
        Ok(expected.or(other))
    }
}

/// A JSON value that is kept when it is a list and skipped otherwise.
struct ListOrOther<T>(Option<Vec<T>>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for ListOrOther<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = ListOrOther<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(ListOrOther(Some(out)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ListOrOther(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ListOrOther(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ListOrOther(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ListOrOther(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ListOrOther(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ListOrOther(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ListOrOther(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Class, User};

    #[test]
    fn takes_the_expected_envelope_or_the_only_list() {
        let body = br#"{"users":[{"sourcedId":"u1"}],"meta":{"x":1},"warnings":"none"}"#;
        let users: Vec<User> = parse_list(body, "users").unwrap().unwrap();
        assert_eq!(users[0].sourced_id, "u1");
        let body = br#"{"teachers":[{"sourcedId":"t1"},{"sourcedId":"t2"}]}"#;
        let users: Vec<User> = parse_list(body, "users").unwrap().unwrap();
        assert_eq!(users.len(), 2);
        let body = br#"{"statusInfoSet":[],"classes":[{"sourcedId":"c1","title":"Art"}]}"#;
        let classes: Vec<Class> = parse_list(body, "classes").unwrap().unwrap();
        assert_eq!(classes[0].title, "Art");
        assert!(
            parse_list::<Class>(br#"{"class":{"sourcedId":"c"}}"#, "classes")
                .unwrap()
                .is_none()
        );
        assert!(parse_list::<Class>(br#"[1,2]"#, "classes").is_err());
    }

    #[test]
    fn single_records() {
        let c: Class = parse_single(br#"{"class":{"sourcedId":"c1"}}"#, "class")
            .unwrap()
            .unwrap();
        assert_eq!(c.sourced_id, "c1");
        let c: Class = parse_single(br#"{"data":{"sourcedId":"c2"}}"#, "class")
            .unwrap()
            .unwrap();
        assert_eq!(c.sourced_id, "c2");
    }
}
