//! The district's records as OneRoster 1.1 JSON, with the quirks a test asked for and
//! what `PUT` and `DELETE` changed.

use serde_json::{Value, json};

use super::access::{Scope, Viewer};
use super::{BASE_PATH, MODIFIED};
use crate::Quirks;
use crate::district::{
    CATEGORIES, DISTRICT_ID, DISTRICT_NAME, District, LineItem, Person, Role, ymd,
};
use crate::state::State;

pub(super) struct Render<'a> {
    district: &'a District,
    quirks: Quirks,
    href_base: String,
    /// Users marked `tobedeleted` (`Sandbox::deactivate_user`).
    inactive: Vec<String>,
}

impl Render<'_> {
    pub(super) fn flag(&self, v: bool) -> Value {
        if self.quirks.string_booleans {
            json!(v.to_string())
        } else {
            json!(v)
        }
    }

    pub(super) fn reference(&self, path: &str, id: &str, kind: &str) -> Value {
        json!({ "href": format!("{}{BASE_PATH}/{path}/{id}", self.href_base), "sourcedId": id, "type": kind })
    }

    pub(super) fn class(&self, c: usize) -> Value {
        let class = &self.district.classes[c];
        let blank = self.quirks.empty_class_codes && c.is_multiple_of(3);
        let terms: Vec<Value> = class
            .terms
            .iter()
            .map(|t| {
                self.reference(
                    "academicSessions",
                    &self.district.terms[*t].id,
                    "academicSession",
                )
            })
            .collect();
        json!({
            "sourcedId": class.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "title": class.title,
            "classCode": if blank { "" } else { class.code.as_str() },
            "classType": "scheduled",
            "location": class.location,
            "grades": [class.grade],
            "subjects": [class.subject],
            "course": self.reference("courses", &class.course_id, "course"),
            "school": self.reference("schools", &self.district.schools[class.school].id, "org"),
            "terms": terms,
            "periods": if blank { json!("") } else { json!([class.period]) },
        })
    }

    pub(super) fn user(&self, person: &Person) -> Value {
        let school = &self.district.schools[person.school];
        let status = if self.inactive.contains(&person.id) {
            "tobedeleted"
        } else {
            "active"
        };
        let mut user = json!({
            "sourcedId": person.id,
            "status": status,
            "dateLastModified": MODIFIED,
            "username": person.username,
            "userIds": [{ "type": "LDAP", "identifier": person.username }],
            "enabledUser": self.flag(true),
            "givenName": person.given,
            "familyName": person.family,
            "middleName": person.middle.clone().unwrap_or_default(),
            "identifier": person.identifier,
            "email": person.email,
            "sms": "",
            "phone": "",
            "password": "",
            "agents": [],
            "orgs": [self.reference("schools", &school.id, "org")],
            "grades": person.grade.iter().collect::<Vec<_>>(),
        });
        if let Some(preferred) = &person.preferred {
            user["preferredFirstName"] = json!(preferred);
        }
        if self.quirks.roles_array {
            user["roles"] = json!([{
                "roleType": "primary",
                "role": person.role.as_str(),
                "org": self.reference("schools", &school.id, "org"),
            }]);
        } else {
            user["role"] = json!(person.role.as_str());
        }
        user
    }

    pub(super) fn school(&self, s: usize) -> Value {
        let school = &self.district.schools[s];
        json!({
            "sourcedId": school.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "name": school.name,
            "type": "school",
            "identifier": school.identifier,
            "parent": self.reference("orgs", DISTRICT_ID, "org"),
        })
    }

    pub(super) fn district_org(&self) -> Value {
        json!({ "sourcedId": DISTRICT_ID, "status": "active", "dateLastModified": MODIFIED, "name": DISTRICT_NAME, "type": "district", "identifier": "D-1" })
    }

    pub(super) fn session(&self, t: usize) -> Value {
        let term = &self.district.terms[t];
        let mut v = json!({
            "sourcedId": term.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "title": term.title,
            "type": term.kind,
            "startDate": ymd(term.start),
            "endDate": ymd(term.end),
            "schoolYear": (self.district.terms[0].end.year()).to_string(),
        });
        if let Some(parent) = term.parent {
            v["parent"] = self.reference(
                "academicSessions",
                &self.district.terms[parent].id,
                "academicSession",
            );
        }
        v
    }

    pub(super) fn enrollment(&self, c: usize, person: &Person, role: Role) -> Value {
        let class = &self.district.classes[c];
        json!({
            "sourcedId": format!("enr-{}-{}", class.id, person.id),
            "status": "active",
            "dateLastModified": MODIFIED,
            "role": role.as_str(),
            "primary": self.flag(role == Role::Teacher),
            "user": self.reference("users", &person.id, "user"),
            "class": self.reference("classes", &class.id, "class"),
            "school": self.reference("schools", &self.district.schools[class.school].id, "org"),
        })
    }

    pub(super) fn category(&self, i: usize) -> Value {
        json!({ "sourcedId": CATEGORIES[i].0, "status": "active", "dateLastModified": MODIFIED, "title": CATEGORIES[i].1 })
    }

    pub(super) fn line_item(&self, item: &LineItem) -> Value {
        json!({
            "sourcedId": item.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "title": item.title,
            "description": item.description,
            "assignDate": ymd(item.assign),
            "dueDate": ymd(item.due),
            "class": self.reference("classes", &self.district.classes[item.class].id, "class"),
            "category": self.reference("categories", CATEGORIES[item.category].0, "category"),
            "gradingPeriod": self.reference("academicSessions", &self.district.terms[item.term].id, "academicSession"),
            "resultValueMin": 0.0,
            "resultValueMax": f64::from(item.max),
        })
    }

    /// The result as generated, or `None` when there is none (yet).
    pub(super) fn result(&self, item: &LineItem, st: u32) -> Option<Value> {
        let r = self.district.result(item, st)?;
        let mut v = json!({
            "sourcedId": r.id,
            "status": "active",
            "dateLastModified": MODIFIED,
            "lineItem": self.reference("lineItems", &r.line_item, "lineItem"),
            "student": self.reference("users", &self.district.students[r.student].id, "user"),
            "scoreStatus": r.status,
            "score": r.score,
            "scoreDate": ymd(r.date),
        });
        if let Some(comment) = r.comment {
            v["comment"] = json!(comment);
        }
        Some(v)
    }

    /// A result a teacher is about to write where none exists yet.
    pub(super) fn blank_result(&self, item: &LineItem, st: u32) -> Value {
        let student = &self.district.students[st as usize].id;
        json!({
            "sourcedId": District::result_id(&item.id, student),
            "status": "active",
            "dateLastModified": MODIFIED,
            "lineItem": self.reference("lineItems", &item.id, "lineItem"),
            "student": self.reference("users", student, "user"),
            "scoreStatus": "not submitted",
            "score": null,
            "scoreDate": ymd(self.district.today),
        })
    }
}

/// Replaces generated records by what `PUT` wrote, and leaves out deleted ones.
pub(super) fn with_writes(state: &State, records: Vec<Value>) -> Vec<Value> {
    let Ok(writes) = state.writes.read() else {
        return records;
    };
    records
        .into_iter()
        .filter_map(|r| {
            let id = r.get("sourcedId").and_then(Value::as_str)?;
            if writes.is_deleted(id) {
                return None;
            }
            Some(writes.record(id).cloned().unwrap_or(r))
        })
        .collect()
}

/// Who is asking, and how records are rendered for them under the current quirks.
pub(super) fn view<'a>(
    state: &'a State,
    scope: Scope,
    knobs: &crate::Knobs,
) -> (Viewer<'a>, Render<'a>) {
    let district = &*state.district;
    let viewer = Viewer { district, scope };
    let render = Render {
        district,
        quirks: knobs.quirks.clone(),
        href_base: knobs
            .quirks
            .foreign_href_base
            .clone()
            .unwrap_or_else(|| state.issuer.clone()),
        inactive: state
            .inactive_users
            .read()
            .map(|u| u.clone())
            .unwrap_or_default(),
    };
    (viewer, render)
}
