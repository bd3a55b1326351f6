//! What of a district's records reaches the teacher: per resource, the fields the app
//! reads and nothing else. Districts send more (a user's `password`, their own `href`s,
//! `userIds`, `agents`, `phone`, metadata); none of it is the app's to see. References
//! keep `sourcedId` and `type` only. An envelope the gateway does not know is dropped.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A reference field: a single reference or a list of them.
const REF: &[&str] = &["sourcedId", "type"];

struct Allowed {
    plain: &'static [&'static str],
    refs: &'static [&'static str],
    /// A user's OneRoster 1.2 `roles` list.
    roles: bool,
}

const USER: Allowed = Allowed {
    plain: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "givenName",
        "familyName",
        "middleName",
        "preferredFirstName",
        "preferredLastName",
        "username",
        "email",
        "identifier",
        "role",
        "grades",
    ],
    refs: &["orgs"],
    roles: true,
};
const CLASS: Allowed = Allowed {
    plain: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "classCode",
        "classType",
        "location",
        "grades",
        "subjects",
        "periods",
    ],
    refs: &["course", "school", "terms"],
    roles: false,
};
const SESSION: Allowed = Allowed {
    plain: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "schoolYear",
    ],
    refs: &["parent"],
    roles: false,
};
const ORG: Allowed = Allowed {
    plain: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "name",
        "type",
        "identifier",
    ],
    refs: &[],
    roles: false,
};
const CATEGORY: Allowed = Allowed {
    plain: &["sourcedId", "status", "dateLastModified", "title", "weight"],
    refs: &[],
    roles: false,
};
const LINE_ITEM: Allowed = Allowed {
    plain: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "description",
        "assignDate",
        "dueDate",
        "resultValueMin",
        "resultValueMax",
    ],
    refs: &["class", "category", "gradingPeriod"],
    roles: false,
};
const RESULT: Allowed = Allowed {
    plain: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "scoreStatus",
        "score",
        "scoreDate",
        "comment",
        "late",
        "incomplete",
        "missing",
    ],
    refs: &["lineItem", "student"],
    roles: false,
};

fn allowed_for(envelope: &str) -> Option<&'static Allowed> {
    Some(match envelope {
        "user" | "users" => &USER,
        "class" | "classes" => &CLASS,
        "academicSession" | "academicSessions" | "term" | "terms" => &SESSION,
        "org" | "orgs" | "school" | "schools" => &ORG,
        "category" | "categories" => &CATEGORY,
        "lineItem" | "lineItems" => &LINE_ITEM,
        "result" | "results" => &RESULT,
        _ => return None,
    })
}

/// The records of one envelope, parsed keeping only allowed fields: what is dropped is
/// skipped in the parser (never allocated), which keeps the filter cheap next to the
/// HTTP work around it.
struct Records(&'static Allowed);

/// One record, or a list of them.
impl<'de> DeserializeSeed<'de> for Records {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Records {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record or a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Record(self.0))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        Record(self.0).visit_map(map)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

struct Record(&'static Allowed);

impl<'de> DeserializeSeed<'de> for Record {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Record {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        // Keys are matched without allocating; only kept ones become Strings.
        while let Some(field) = map.next_key_seed(FieldOf(self.0))? {
            match field {
                Field::Plain(key) => {
                    out.insert(key.to_owned(), map.next_value()?);
                }
                Field::Reference(key) => {
                    out.insert(key.to_owned(), map.next_value_seed(Refs)?);
                }
                Field::Roles => {
                    out.insert("roles".to_owned(), map.next_value_seed(Records(&ROLE))?);
                }
                Field::Dropped => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    // Anything but an object where a record belongs is dropped.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// What a record's key is to the filter, named by the allow-list's own `'static` text.
enum Field {
    Plain(&'static str),
    Reference(&'static str),
    Roles,
    Dropped,
}

struct FieldOf(&'static Allowed);

impl<'de> DeserializeSeed<'de> for FieldOf {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldOf {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Field, E> {
        if let Some(k) = self.0.plain.iter().find(|k| **k == key) {
            Ok(Field::Plain(k))
        } else if let Some(k) = self.0.refs.iter().find(|k| **k == key) {
            Ok(Field::Reference(k))
        } else if self.0.roles && key == "roles" {
            Ok(Field::Roles)
        } else {
            Ok(Field::Dropped)
        }
    }
}

/// A 1.2 role assignment inside a user: its role, type and org reference.
const ROLE: Allowed = Allowed {
    plain: &["roleType", "role"],
    refs: &["org"],
    roles: false,
};

/// A reference (or a list of them): `sourcedId` and `type` only.
const REFERENCE: Allowed = Allowed {
    plain: REF,
    refs: &[],
    roles: false,
};

struct Refs;

impl<'de> DeserializeSeed<'de> for Refs {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Records(&REFERENCE).deserialize(d)
    }
}

/// The whole answer: known envelopes kept, each reduced; the rest skipped.
struct Answer;

impl<'de> DeserializeSeed<'de> for Answer {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Answer {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(envelope) = map.next_key::<String>()? {
            match allowed_for(&envelope) {
                Some(allowed) => {
                    let records = map.next_value_seed(Records(allowed))?;
                    out.insert(envelope, records);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// The body as the teacher may see it: each known envelope's records reduced to their
/// allowed fields. `None` when the body is not a JSON object.
pub fn filter(body: &[u8]) -> Option<Vec<u8>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let kept = Answer.deserialize(&mut de).ok()?;
    de.end().ok()?;
    serde_json::to_vec(&kept).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_allowed_fields_pass_and_references_lose_their_hrefs() {
        let body = json!({
            "users": [{
                "sourcedId": "u1", "givenName": "Ann", "password": "hunter2",
                "href": "https://sis/users/u1", "userIds": [{"type": "LDAP", "identifier": "x"}],
                "orgs": [{"sourcedId": "k1", "type": "org", "href": "https://sis/orgs/k1"}],
                "roles": [{"roleType": "primary", "role": "teacher", "org": {"sourcedId": "k1", "href": "h"}, "userProfile": "p"}],
                "metadata": {"secret": 1}
            }],
            "statusInfoSet": [{"x": 1}]
        });
        let out: Value =
            serde_json::from_slice(&filter(&serde_json::to_vec(&body).unwrap()).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({"users": [{
                "sourcedId": "u1", "givenName": "Ann",
                "orgs": [{"sourcedId": "k1", "type": "org"}],
                "roles": [{"roleType": "primary", "role": "teacher", "org": {"sourcedId": "k1"}}]
            }]})
        );
        let result = json!({"result": {"sourcedId": "r", "score": 1.5, "lineItem": {"sourcedId": "l", "href": "h"}, "student": {"sourcedId": "s"}, "href": "h"}});
        let out: Value =
            serde_json::from_slice(&filter(&serde_json::to_vec(&result).unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            out,
            json!({"result": {"sourcedId": "r", "score": 1.5, "lineItem": {"sourcedId": "l"}, "student": {"sourcedId": "s"}}})
        );
        assert_eq!(filter(b"not json"), None);
    }
}
