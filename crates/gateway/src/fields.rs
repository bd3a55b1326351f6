//! What of a district's records reaches the teacher: per resource, the fields the app
//! reads and nothing else. Districts send more (a user's `password`, their own `href`s,
//! `userIds`, `agents`, `phone`, metadata); none of it is the app's to see. References
//! keep `sourcedId` and `type` only. An envelope the gateway does not know is dropped.

use serde_json::{Map, Value};

/// A reference field: a single reference or a list of them.
const REF: &[&str] = &["sourcedId", "type"];

struct Allowed {
    plain: &'static [&'static str],
    refs: &'static [&'static str],
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
};
const CATEGORY: Allowed = Allowed {
    plain: &["sourcedId", "status", "dateLastModified", "title", "weight"],
    refs: &[],
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

fn reference(value: &Value) -> Value {
    match value {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| REF.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(reference).collect()),
        _ => Value::Null,
    }
}

fn record(value: &Value, allowed: &Allowed) -> Value {
    let Value::Object(o) = value else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (k, v) in o {
        if allowed.plain.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        } else if allowed.refs.contains(&k.as_str()) {
            out.insert(k.clone(), reference(v));
        } else if k == "roles" && std::ptr::eq(allowed, &USER) {
            // OneRoster 1.2's role list: each entry's role, type and org reference.
            let roles = v.as_array().map(|roles| {
                roles
                    .iter()
                    .filter_map(Value::as_object)
                    .map(|r| {
                        let mut kept = Map::new();
                        for (k, v) in r {
                            match k.as_str() {
                                "roleType" | "role" => {
                                    kept.insert(k.clone(), v.clone());
                                }
                                "org" => {
                                    kept.insert(k.clone(), reference(v));
                                }
                                _ => {}
                            }
                        }
                        Value::Object(kept)
                    })
                    .collect()
            });
            out.insert(k.clone(), Value::Array(roles.unwrap_or_default()));
        }
    }
    Value::Object(out)
}

/// The body as the teacher may see it: each known envelope's records reduced to their
/// allowed fields. `None` when the body is not a JSON object (passed on unchanged only
/// if it is empty).
pub fn filter(body: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let mut out = Map::new();
    for (envelope, value) in &top {
        let Some(allowed) = allowed_for(envelope) else {
            continue;
        };
        let kept = match value {
            Value::Array(items) => Value::Array(items.iter().map(|r| record(r, allowed)).collect()),
            other => record(other, allowed),
        };
        out.insert(envelope.clone(), kept);
    }
    serde_json::to_vec(&Value::Object(out)).ok()
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
