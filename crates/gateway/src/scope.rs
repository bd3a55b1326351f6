//! The security boundary: what a caller may read or change. The scope is read from
//! upstream with the gateway's own credentials (the teacher's classes, a class's
//! students), never taken from the request. Every decision is one function here, with
//! deny as the default arm.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rollbook_oneroster::{RosterError, User};

use crate::identity::{Caller, Role};
use crate::ops::Metrics;
use crate::upstream::Upstream;

/// The classes a teacher actively teaches, with each one's school.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TeacherScope {
    pub classes: HashMap<String, Option<String>>,
    /// The teacher's own user record is active and says `teacher`.
    pub active: bool,
}

impl TeacherScope {
    pub fn teaches(&self, class: &str) -> bool {
        self.classes.contains_key(class)
    }

    pub fn has_school(&self, school: &str) -> bool {
        self.classes.values().any(|s| s.as_deref() == Some(school))
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// `/teachers/{id}/classes`
    ClassesOfTeacher(&'a str),
    /// `/classes/{id}` and its `students`, `teachers`, `lineItems`, `results`
    Class(&'a str),
    /// `/schools/{id}`
    School(&'a str),
    /// `/users/{id}`
    User(&'a str),
    /// `/categories`, `/academicSessions`, `/terms` and their records: no people in them.
    Reference,
    /// Anything else: district-wide lists (`/users`, `/classes`, `/enrollments`, …).
    Other,
}

impl Resource<'_> {
    /// Whether the decision depends on the caller's scope: the classes they teach, or
    /// (for reference lists) their own user record saying an active teacher, since an
    /// OIDC provider without a role claim calls everyone a teacher. The others are
    /// decided from the caller alone, so no upstream call is made for them.
    pub fn needs_scope(self) -> bool {
        matches!(
            self,
            Self::Class(_) | Self::School(_) | Self::User(_) | Self::Reference
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(&'static str),
}

pub const NOT_A_TEACHER: &str = "Only teachers can read class rosters through Rollbook.";
pub const NOT_YOUR_CLASS: &str = NO_SUCH_RECORD;
pub const NOT_ACTIVE: &str =
    "Your account is not active in your district's roster; ask your school office.";
pub const NOT_SERVED: &str =
    "Rollbook's roster gateway serves a teacher's own classes only; this list is not one of them.";

/// Whether `caller` may read `resource`, given the classes they teach.
pub fn may_read(caller: &Caller, scope: &TeacherScope, resource: Resource<'_>) -> Decision {
    if caller.role != Role::Teacher {
        return Decision::Deny(NOT_A_TEACHER);
    }
    match resource {
        Resource::ClassesOfTeacher(id) if id == caller.sourced_id => Decision::Allow,
        Resource::Class(id) if scope.teaches(id) => Decision::Allow,
        Resource::School(id) if scope.has_school(id) => Decision::Allow,
        Resource::User(id) if id == caller.sourced_id && scope.active => Decision::Allow,
        // The same role decision as every other route: the district's own record.
        Resource::Reference if scope.active => Decision::Allow,
        Resource::Reference => Decision::Deny(NOT_A_TEACHER),
        Resource::Other => Decision::Deny(NOT_SERVED),
        _ => Decision::Deny(NOT_YOUR_CLASS),
    }
}

/// One answer for a record that does not exist and one that is not the caller's, so
/// no answer tells who is enrolled or graded where.
pub const NO_SUCH_RECORD: &str = "There is no such record in your classes.";
pub const STUDENT_NOT_IN_CLASS: &str =
    "That student is not enrolled in the class this grade belongs to.";
pub const NO_MOVES: &str = "A line item cannot move to another class through Rollbook: its grades would go with it. Create it in the other class instead.";
pub const NO_CELL_MOVES: &str =
    "A grade cannot move to another assignment or student; write the grade in its own cell.";
pub const CREATES_REFUSED: &str = "Your district's roster server is set up in Rollbook's gateway to take no new records (tenants.creates = \"refused\"); ask your district's IT.";
pub const CREATES_STOPPED: &str = "Your district's roster server answered a new record as a change to an existing one, so Rollbook's gateway has stopped creating records there until your district's IT checks it.";
pub const CREATE_ID_UNCHECKABLE: &str = "Rollbook's gateway creates records in your district only under ids it can check (a UUID, or a grade's own lineItem.student id).";
pub const CREATE_NOT_YET_CHECKABLE: &str = "Rollbook's gateway cannot yet check that this record is new in your district (the district lists no record it could read back); ask your district's IT whether its server lists lineItems and results.";
pub const READS_BY_ID_BROKEN: &str = "Your district's roster server cannot read records by id, so Rollbook's gateway cannot check that a new record is new; ask your district's IT.";

/// The OneRoster fields a caller may name in `filter`, `sort` and `fields`: plain names a
/// district can look up, never text it could take for more of its own query.
const QUERY_FIELDS: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "name",
    "type",
    "description",
    "givenName",
    "familyName",
    "middleName",
    "role",
    "username",
    "email",
    "identifier",
    "enabledUser",
    "classCode",
    "classType",
    "location",
    "grades",
    "subjects",
    "assignDate",
    "dueDate",
    "resultValueMin",
    "resultValueMax",
    "score",
    "scoreStatus",
    "scoreDate",
    "comment",
    "startDate",
    "endDate",
    "schoolYear",
];

pub const BAD_QUERY: &str = "Rollbook's gateway passes on only plain OneRoster queries: limit and offset as numbers, sort and fields naming known fields, orderBy asc or desc, and a filter of one or two predicates (field, one of = != > >= < <= ~, a value in single quotes without quotes inside) joined by AND or OR.";

/// The query parameters passed upstream, each checked against a grammar no district
/// can read as more than it says (a careless one glues them into its SQL). `filter` is
/// kept only where `filter_allowed` (lists; a filter on one record means nothing).
pub fn checked_query(
    params: &HashMap<String, String>,
    filter_allowed: bool,
) -> Result<Vec<(String, String)>, &'static str> {
    let mut query = Vec::new();
    for key in ["limit", "offset", "filter", "sort", "orderBy", "fields"] {
        let Some(value) = params.get(key) else {
            continue;
        };
        let ok = match key {
            "limit" | "offset" => {
                !value.is_empty() && value.len() <= 9 && value.bytes().all(|b| b.is_ascii_digit())
            }
            "sort" => QUERY_FIELDS.contains(&value.as_str()),
            "orderBy" => matches!(value.as_str(), "asc" | "desc"),
            "fields" => value.split(',').all(|f| QUERY_FIELDS.contains(&f)),
            _ if !filter_allowed => continue,
            _ => safe_filter(value),
        };
        if !ok {
            return Err(BAD_QUERY);
        }
        let value = match key {
            // A bigger page is asked as the largest one (the app's pager follows a
            // server's cap): one request must not ask a district for its whole table.
            "limit" => value
                .parse::<u64>()
                .map_or(MAX_LIMIT, |l| l.min(MAX_LIMIT))
                .to_string(),
            _ => value.clone(),
        };
        query.push((key.to_owned(), value));
    }
    Ok(query)
}

/// The largest `limit` passed upstream (the app asks 500 a page).
pub const MAX_LIMIT: u64 = 1000;

/// OneRoster 1.1's filter as the gateway passes it on: `field op 'value'`, once or twice
/// joined by ` AND ` or ` OR `. The value holds no quote (so no `''` escape either),
/// backslash or control character.
pub fn safe_filter(filter: &str) -> bool {
    fn predicate(p: &str) -> bool {
        let Some(field_end) = p.find(|c: char| !c.is_ascii_alphabetic()) else {
            return false;
        };
        let (field, rest) = p.split_at(field_end);
        let rest = rest.trim_start();
        let Some(value) = [">=", "<=", "!=", "=", ">", "<", "~"]
            .iter()
            .find_map(|op| rest.strip_prefix(op))
        else {
            return false;
        };
        let Some(value) = value.trim_start().strip_prefix('\'') else {
            return false;
        };
        let Some(value) = value.strip_suffix('\'') else {
            return false;
        };
        QUERY_FIELDS.contains(&field)
            && value.len() <= 256
            && !value
                .chars()
                .any(|c| c == '\'' || c == '\\' || c.is_control())
    }
    if filter.len() > 600 {
        return false;
    }
    // The joiner is found outside quotes only: a value may hold " AND ".
    let mut quoted = false;
    let mut join = None;
    for (i, c) in filter.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && c == ' ' {
            for word in [" AND ", " OR "] {
                if filter[i..].starts_with(word) {
                    if join.is_some() {
                        return false;
                    }
                    join = Some((i, word.len()));
                }
            }
        }
    }
    match join {
        None => predicate(filter.trim()),
        Some((at, len)) => predicate(filter[..at].trim()) && predicate(filter[at + len..].trim()),
    }
}

/// Teachers' scopes and classes' students, cached briefly per instance.
pub struct Scopes {
    teachers: moka::future::Cache<(String, String), Arc<TeacherScope>>,
    active: moka::future::Cache<(String, String), bool>,
    students: moka::future::Cache<(String, String), Arc<HashSet<String>>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scopes").finish_non_exhaustive()
    }
}

impl Scopes {
    pub fn new(ttl: Duration, metrics: Arc<Metrics>) -> Self {
        Self {
            teachers: short_lived(ttl),
            active: short_lived(ttl),
            students: short_lived(ttl),
            metrics,
        }
    }

    /// The classes `teacher` actively teaches in `upstream`'s district: none when their
    /// own user record is no longer active.
    pub async fn of_teacher(
        &self,
        upstream: &Upstream,
        teacher: &str,
    ) -> Result<Arc<TeacherScope>, Arc<RosterError>> {
        let key = (upstream.tenant.clone(), teacher.to_owned());
        if let Some(hit) = self.teachers.get(&key).await {
            self.metrics.cache_lookup("scope", "hit");
            return Ok(hit);
        }
        self.teachers
            .try_get_with(key, async {
                self.metrics.cache_lookup("scope", "miss");
                // The teacher's own record through its cache: the class-list route
                // may have read it already.
                // The user record read afresh with the classes, not from its own cache:
                // a scope built now on an answer cached earlier would outlive it, keeping
                // a deactivated teacher in for up to twice `scope_ttl`.
                let (classes, active) = tokio::join!(
                    upstream.roster.classes_for_teacher(teacher),
                    self.refresh_active(upstream, teacher)
                );
                if !active? {
                    return Ok(Arc::new(TeacherScope::default()));
                }
                let classes = classes.map_err(Arc::new)?;
                Ok::<_, Arc<RosterError>>(Arc::new(TeacherScope {
                    active: true,
                    classes: classes
                        .into_iter()
                        .filter(|c| is_active(c.status.as_deref()))
                        .map(|c| (c.sourced_id, c.school.map(|s| s.sourced_id)))
                        .collect(),
                }))
            })
            .await
            // The loader's own error is already shared; unwrap moka's extra layer.
            .map_err(|e| Arc::clone(&*e))
    }

    /// Whether the teacher's own user record upstream is active: not `tobedeleted` or
    /// `inactive`, and `enabledUser` not false. A teacher who left keeps a valid ClassLink
    /// token for up to a day; the district's roster says first that they are gone.
    pub async fn is_active(
        &self,
        upstream: &Upstream,
        teacher: &str,
    ) -> Result<bool, Arc<RosterError>> {
        let key = (upstream.tenant.clone(), teacher.to_owned());
        self.active
            .try_get_with(key, fetch_active(upstream, teacher))
            .await
    }

    /// Reads the teacher's user record now and caches the answer from now.
    pub async fn refresh_active(
        &self,
        upstream: &Upstream,
        teacher: &str,
    ) -> Result<bool, Arc<RosterError>> {
        let active = fetch_active(upstream, teacher).await.map_err(Arc::new)?;
        self.active
            .insert((upstream.tenant.clone(), teacher.to_owned()), active)
            .await;
        Ok(active)
    }

    /// Keeps a teacher's scope read from a complete, unfiltered `/teachers/{id}/classes`
    /// answer (the same upstream data [`Self::of_teacher`] would fetch), saving the app's
    /// first class request a round trip.
    pub async fn remember(&self, tenant: &str, teacher: &str, scope: TeacherScope) {
        self.teachers
            .insert((tenant.to_owned(), teacher.to_owned()), Arc::new(scope))
            .await;
    }

    /// The active students enrolled in `class`.
    pub async fn students_of(
        &self,
        upstream: &Upstream,
        class: &str,
    ) -> Result<Arc<HashSet<String>>, Arc<RosterError>> {
        let key = (upstream.tenant.clone(), class.to_owned());
        self.students
            .try_get_with(key, async {
                let students = upstream.roster.students_for_class(class).await?;
                Ok(Arc::new(
                    students
                        .into_iter()
                        .filter(|s| is_active(s.status.as_deref()))
                        .map(|s| s.sourced_id)
                        .collect(),
                ))
            })
            .await
    }
}

fn short_lived<V: Clone + Send + Sync + 'static>(
    ttl: Duration,
) -> moka::future::Cache<(String, String), V> {
    moka::future::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(ttl)
        .build()
}

/// The teacher's own user record, read upstream: active or not.
async fn fetch_active(upstream: &Upstream, teacher: &str) -> Result<bool, RosterError> {
    match upstream.roster.get::<User>(&["users", teacher]).await {
        // The district's own word on the role, in both identity profiles: a provider's
        // claim alone does not make a student a teacher.
        Ok(user) => {
            Ok(is_active(user.status.as_deref()) && user.enabled_user && user.has_role("teacher"))
        }
        // A teacher the roster does not know teaches nothing.
        Err(RosterError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// OneRoster 1.1 marks records about to go as `tobedeleted`; 1.2 uses `inactive`.
fn is_active(status: Option<&str>) -> bool {
    !matches!(status, Some("tobedeleted" | "inactive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            tenant: "1".into(),
            sourced_id: "t-me".into(),
            role,
        }
    }

    fn scope() -> TeacherScope {
        TeacherScope {
            active: true,
            classes: HashMap::from([
                ("c-mine".to_owned(), Some("s-1".to_owned())),
                ("c-mine-2".to_owned(), None),
            ]),
        }
    }

    #[test]
    fn reads_as_a_table() {
        use Decision::Allow;
        let deny_all = |r: Resource<'_>| {
            for role in [Role::Student, Role::Administrator, Role::Other] {
                assert_ne!(
                    may_read(&caller(role), &scope(), r),
                    Allow,
                    "{role:?} {r:?}"
                );
            }
        };
        let table: &[(Resource<'_>, bool)] = &[
            (Resource::ClassesOfTeacher("t-me"), true),
            (Resource::ClassesOfTeacher("t-other"), false),
            (Resource::Class("c-mine"), true),
            (Resource::Class("c-mine-2"), true),
            (Resource::Class("c-other"), false),
            (Resource::Class(""), false),
            (Resource::School("s-1"), true),
            (Resource::School("s-2"), false),
            (Resource::User("t-me"), true),
            (Resource::User("t-other"), false),
            (Resource::Reference, true),
            (Resource::Other, false),
        ];
        for (resource, allowed) in table {
            let got = may_read(&caller(Role::Teacher), &scope(), *resource);
            assert_eq!(got == Allow, *allowed, "{resource:?}: {got:?}");
            deny_all(*resource);
        }
        // A caller the provider calls a teacher whose own user record does not say an
        // active teacher (no scope): not even the reference lists.
        for resource in [Resource::Class("c-mine"), Resource::Reference] {
            assert_ne!(
                may_read(&caller(Role::Teacher), &TeacherScope::default(), resource),
                Allow,
                "{resource:?}"
            );
        }
    }
    #[test]
    fn a_page_is_at_most_max_limit() {
        let params = |limit: &str| HashMap::from([("limit".to_owned(), limit.to_owned())]);
        let limit = |q: Vec<(String, String)>| q[0].1.clone();
        assert_eq!(limit(checked_query(&params("500"), true).unwrap()), "500");
        assert_eq!(
            limit(checked_query(&params("999999999"), true).unwrap()),
            "1000"
        );
        assert!(checked_query(&params("-1"), true).is_err());
    }

    #[test]
    fn filters_pass_only_in_the_plain_grammar() {
        for good in [
            "sourcedId='li1'",
            "status = 'active'",
            "dateLastModified>'2026-01-01T00:00:00Z' AND status='active'",
            "familyName~'jo' OR givenName='Ann Marie'",
            "title='cats AND dogs'",
            "score>='9.5'",
        ] {
            assert!(safe_filter(good), "{good}");
        }
        for bad in [
            "1=1",
            "sourcedId='x' OR 1=1",
            "sourcedId='x'' OR ''1''=''1'",
            "sourcedId='a' OR sourcedId='b' OR sourcedId='c'",
            "password='x'",
            "class.sourcedId='c2'",
            "sourcedId='x\\' OR 1=1 -- '",
            "sourcedId='x');DROP TABLE results;--'",
            "sourcedId=x",
            "sourcedId='x' or sourcedId='y'x",
            "sourcedId='\u{0}'",
            "",
        ] {
            assert!(!safe_filter(bad), "{bad}");
        }
        let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert!(
            checked_query(
                &q(&[
                    ("limit", "100"),
                    ("sort", "familyName"),
                    ("orderBy", "desc"),
                    ("fields", "sourcedId,title")
                ]),
                true
            )
            .is_ok()
        );
        for bad in [
            ("limit", "1 OR 1=1"),
            ("sort", "(SELECT 1)"),
            ("orderBy", "asc;"),
            ("fields", "sourcedId,password"),
        ] {
            assert!(checked_query(&q(&[bad]), true).is_err(), "{bad:?}");
        }
        let one_record = checked_query(&q(&[("filter", "1=1")]), false).unwrap();
        assert!(one_record.is_empty(), "a filter on one record is dropped");
    }
}
