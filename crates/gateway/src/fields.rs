//! What of a district's records reaches the teacher: per resource, the fields the app
//! reads and nothing else. Districts send more (a user's `password`, their own `href`s,
//! `userIds`, `agents`, `phone`, metadata); none of it is the app's to see. References
//! keep `sourcedId` and `type` only. An envelope the gateway does not know is dropped.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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

/// Where the kept JSON is written.
type Out = Vec<u8>;

fn raw_error<E: serde::de::Error>(e: impl fmt::Display) -> E {
    E::custom(e)
}

/// The records of one envelope, written to the output as they are read, keeping only
/// allowed fields: what is dropped is skipped in the parser (never allocated), and what
/// is kept is copied, not built into a tree, which keeps the filter cheap next to the
/// HTTP work around it.
struct Records<'o>(&'static Allowed, &'o mut Out);

/// One record, or a list of them.
impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record or a list of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Records(allowed, out) = self;
        out.push(b'[');
        let mut first = true;
        loop {
            let mark = out.len();
            if !first {
                out.push(b',');
            }
            if seq.next_element_seed(Record(allowed, out))?.is_none() {
                out.truncate(mark);
                break;
            }
            first = false;
        }
        out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Record(self.0, self.1).visit_map(map)
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.1.extend_from_slice(b"null");
        Ok(())
    }
}

struct Record<'o>(&'static Allowed, &'o mut Out);

impl<'de> DeserializeSeed<'de> for Record<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A kept field's value until the record ends: a repeated key keeps its last value, as
/// a parse into a map does (what every check and the app see), and is written once.
enum Kept<'de> {
    /// A scalar, copied as the district wrote it.
    Raw(&'de serde_json::value::RawValue),
    /// Written already (a reference, roles, or a list of scalars re-serialised).
    Written(Vec<u8>),
}

impl<'de> Visitor<'de> for Record<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Record(allowed, out) = self;
        // One slot per allowed field, in the allow-list's order.
        let mut kept: [Option<Kept<'de>>; MAX_FIELDS] = [const { None }; MAX_FIELDS];
        while let Some(field) = map.next_key_seed(FieldOf(allowed))? {
            match field {
                Field::Plain(i) => {
                    let raw: &'de serde_json::value::RawValue = map.next_value()?;
                    kept[i] = plain_value(raw).map_err(raw_error)?;
                }
                Field::Reference(i) => {
                    let mut written = Vec::new();
                    map.next_value_seed(Records(&REFERENCE, &mut written))?;
                    kept[i] = Some(Kept::Written(written));
                }
                Field::Roles(i) => {
                    let mut written = Vec::new();
                    map.next_value_seed(Records(&ROLE, &mut written))?;
                    kept[i] = Some(Kept::Written(written));
                }
                Field::Dropped => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        out.push(b'{');
        let mut first = true;
        for (name, value) in allowed.names().zip(kept.iter()) {
            let Some(value) = value else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            // Allow-list names are plain ASCII letters: nothing to escape.
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            match value {
                Kept::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
                Kept::Written(bytes) => out.extend_from_slice(bytes),
            }
        }
        out.push(b'}');
        Ok(())
    }

    // Anything but an object where a record belongs is dropped.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.1.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.1.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.1.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.1.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.1.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.1.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.1.extend_from_slice(b"null");
        Ok(())
    }
}

/// A plain field's value as it may go on: a scalar, or a list of scalars (`grades`,
/// `subjects`, `periods`). Anything nested is dropped (`None`): no allowed plain field
/// holds an object, and one would carry whatever the district put in it (`href`s,
/// `password`s) past the allow-list, at any depth. A scalar a tree parser refuses (a
/// lone surrogate, a number out of range) refuses the answer: what the teacher gets
/// must parse as what every check read.
fn plain_value(raw: &serde_json::value::RawValue) -> Result<Option<Kept<'_>>, serde_json::Error> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => Ok(None),
        Some(b'[') => {
            let Ok(items) = serde_json::from_str::<Vec<Scalar>>(text) else {
                return Ok(None);
            };
            Ok(Some(Kept::Written(serde_json::to_vec(&items)?)))
        }
        Some(b'"') if !text.contains('\\') => Ok(Some(Kept::Raw(raw))),
        Some(_) => {
            serde_json::from_str::<Scalar>(text)?;
            Ok(Some(Kept::Raw(raw)))
        }
        None => Ok(None),
    }
}

/// A JSON scalar, checked as a tree parser would check it.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Scalar {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Text(String),
}

/// The most fields any allow-list keeps (checked by a test).
const MAX_FIELDS: usize = 20;

impl Allowed {
    /// Every kept name, in slot order: plain fields, references, then `roles`.
    fn names(&self) -> impl Iterator<Item = &'static str> + use<> {
        let roles: &'static [&'static str] = if self.roles { &["roles"] } else { &[] };
        self.plain
            .iter()
            .chain(self.refs.iter())
            .chain(roles.iter())
            .copied()
    }
}

/// What a record's key is to the filter: the slot of an allowed field, or dropped.
enum Field {
    Plain(usize),
    Reference(usize),
    Roles(usize),
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
        let plain = self.0.plain.len();
        if let Some(i) = self.0.plain.iter().position(|k| *k == key) {
            Ok(Field::Plain(i))
        } else if let Some(i) = self.0.refs.iter().position(|k| *k == key) {
            Ok(Field::Reference(plain + i))
        } else if self.0.roles && key == "roles" {
            Ok(Field::Roles(plain + self.0.refs.len()))
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

/// Envelope names as the filter knows them (an envelope not here is dropped whole).
const ENVELOPES: &[&str] = &[
    "user",
    "users",
    "class",
    "classes",
    "academicSession",
    "academicSessions",
    "term",
    "terms",
    "org",
    "orgs",
    "school",
    "schools",
    "category",
    "categories",
    "lineItem",
    "lineItems",
    "result",
    "results",
];

/// An envelope's key: its index in [`ENVELOPES`], or `None` to drop it.
struct EnvelopeKey;

impl<'de> DeserializeSeed<'de> for EnvelopeKey {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeKey {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an envelope name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(ENVELOPES.iter().position(|e| *e == key))
    }
}

/// The whole answer: the envelopes asked for kept, each reduced; the rest skipped. A
/// repeated envelope keeps its last value, as a map would.
struct Answer<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for Answer<'_> {
    type Value = Vec<(usize, Out)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Answer<'_> {
    type Value = Vec<(usize, Out)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut envelopes: Vec<(usize, Out)> = Vec::with_capacity(1);
        while let Some(envelope) = map.next_key_seed(EnvelopeKey)? {
            let allowed = envelope
                .filter(|i| self.0.contains(&ENVELOPES[*i]))
                .and_then(|i| allowed_for(ENVELOPES[i]).map(|a| (i, a)));
            match allowed {
                Some((i, allowed)) => {
                    let mut written = Vec::new();
                    map.next_value_seed(Records(allowed, &mut written))?;
                    envelopes.retain(|(j, _)| *j != i);
                    envelopes.push((i, written));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelopes)
    }
}

/// The body as the teacher may see it: the envelopes in `only` (names the filter knows),
/// their records reduced to their allowed fields. `None` when the body is not a JSON
/// object.
pub fn filter(body: &[u8], only: &[&str]) -> Option<Vec<u8>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let envelopes = Answer(only).deserialize(&mut de).ok()?;
    de.end().ok()?;
    let mut out =
        Vec::with_capacity(2 + envelopes.iter().map(|(_, w)| w.len() + 24).sum::<usize>());
    out.push(b'{');
    for (n, (i, written)) in envelopes.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(ENVELOPES[*i].as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(written);
    }
    out.push(b'}');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn filter_all(body: &[u8]) -> Option<Vec<u8>> {
        filter(body, ENVELOPES)
    }

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
            serde_json::from_slice(&filter_all(&serde_json::to_vec(&body).unwrap()).unwrap())
                .unwrap();
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
            serde_json::from_slice(&filter_all(&serde_json::to_vec(&result).unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            out,
            json!({"result": {"sourcedId": "r", "score": 1.5, "lineItem": {"sourcedId": "l"}, "student": {"sourcedId": "s"}}})
        );
        assert_eq!(filter_all(b"not json"), None);
    }

    fn filtered(body: &str) -> Value {
        serde_json::from_slice(&filter_all(body.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn repeated_keys_keep_the_last_value_as_a_map_does() {
        // Every check reads the district's answer as a map (last value wins); what the
        // teacher gets must mean the same, and carry each key once.
        let body = r#"{"result": {"sourcedId": "r1", "score": 1, "score": 2,
            "student": {"sourcedId": "s1"}, "student": {"sourcedId": "s2", "sourcedId": "s3"},
            "comment": {"a": 1, "a": 2}}, "result": {"sourcedId": "r2"}}"#;
        assert_eq!(filtered(body), json!({"result": {"sourcedId": "r2"}}));
        let body = r#"{"results": [{"sourcedId": "r1", "score": 1, "score": 2,
            "student": {"sourcedId": "s1"}, "student": {"sourcedId": "s2", "sourcedId": "s3"},
            "comment": {"a": 1, "a": 2}}]}"#;
        let out = String::from_utf8(filter_all(body.as_bytes()).unwrap()).unwrap();
        assert_eq!(out.matches("score").count(), 1, "{out}");
        assert_eq!(out.matches("student").count(), 1, "{out}");
        assert_eq!(
            filtered(body),
            // A comment is text: an object there is dropped whole.
            json!({"results": [{"sourcedId": "r1", "score": 2, "student": {"sourcedId": "s3"}}]})
        );
    }

    #[test]
    fn odd_shapes_are_dropped_or_refused_as_before() {
        assert_eq!(
            filtered(
                r#"{"users": [1, "x", null, [2], {"sourcedId": "u"}], "other": {"password": "p"}}"#
            ),
            json!({"users": [null, null, null, null, {"sourcedId": "u"}]})
        );
        assert_eq!(filtered(r#"{"user": null}"#), json!({"user": null}));
        assert_eq!(filtered("{}"), json!({}));
        assert_eq!(filter_all(br#"{"users": "x"}"#), None);
        assert_eq!(filter_all(br#"{"users": []} trailing"#), None);
        assert_eq!(filter_all(b"[1]"), None);
        // Escapes in kept strings survive as the same text.
        assert_eq!(
            filtered(r#"{"user": {"sourcedId": "\u0075\"1", "givenName": "Zo\u00eb"}}"#),
            json!({"user": {"sourcedId": "u\"1", "givenName": "Zoë"}})
        );
    }

    #[test]
    fn nothing_nested_under_an_allowed_field_gets_through() {
        // `comment` and `location` are allowed; what a district (or a teacher, through a
        // comment) nests in them is not.
        let body = r#"{"results": [{"sourcedId": "r1",
            "comment": {"password": "p", "href": "h"},
            "location": [{"href": "h"}], "grades": ["09", "10"],
            "subjects": [["x"]], "periods": [1, null, true, "2"]}]}"#;
        assert_eq!(
            filtered(body),
            json!({"results": [{"sourcedId": "r1"}]}),
            "{body}"
        );
        let body = r#"{"classes": [{"sourcedId": "c1", "location": {"password": "p"},
            "grades": ["09", "10"], "subjects": [["x"]], "periods": [1, null, true, "2"]}]}"#;
        assert_eq!(
            filtered(body),
            json!({"classes": [{"sourcedId": "c1", "grades": ["09", "10"], "periods": [1, null, true, "2"]}]})
        );
        // Key names are matched after unescaping and exactly; other spellings are dropped.
        let body = r#"{"user": {"sourcedId": "u", "pass\u0077ord": "p", "Password": "p",
            "hre\u0066": "h", "given\u004eame": "Ann", "GivenName": "x"}}"#;
        assert_eq!(
            filtered(body),
            json!({"user": {"sourcedId": "u", "givenName": "Ann"}})
        );
        // Nesting far past any parser's depth, kept or dropped, neither overflows nor passes.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!(r#"{{"user": {{"sourcedId": "u", "grades": {deep}, "x": {deep}}}}}"#);
        assert_eq!(filtered(&body), json!({"user": {"sourcedId": "u"}}));
    }

    #[test]
    fn a_value_a_tree_parser_refuses_refuses_the_answer() {
        // Copied as written, these would reach the teacher unparsable by what checked
        // them (and by the app).
        for odd in [r#""\ud800""#, r#""a\udc00b""#, "1e400", "-1e999"] {
            let body = format!(r#"{{"result": {{"sourcedId": "r", "comment": {odd}}}}}"#);
            assert_eq!(filter_all(body.as_bytes()), None, "{odd}");
        }
        // Escapes that do parse are kept as written.
        let body = r#"{"result": {"sourcedId": "r", "comment": "\ud83d\ude00 \n", "score": 1e2}}"#;
        let out = String::from_utf8(filter_all(body.as_bytes()).unwrap()).unwrap();
        assert!(out.contains(r#""comment":"\ud83d\ude00 \n""#), "{out}");
        assert!(out.contains(r#""score":1e2"#), "{out}");
    }

    #[test]
    fn every_allow_list_fits_its_slots() {
        for allowed in [
            &USER, &CLASS, &SESSION, &ORG, &CATEGORY, &LINE_ITEM, &RESULT, &ROLE, &REFERENCE,
        ] {
            assert!(allowed.names().count() <= MAX_FIELDS);
        }
        for envelope in ENVELOPES {
            assert!(allowed_for(envelope).is_some(), "{envelope}");
        }
    }
}
