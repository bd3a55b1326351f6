//! The roster use cases the app and the CLI share: "my classes", "class roster" and
//! "class gradebook", plus finding the signed-in teacher's OneRoster id.
//!
//! Only counts and timings are logged; never a name, an email or a score.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use rollbook_auth::Identity;
use rollbook_oneroster::{
    AcademicSession, Class, GradeResult, LineItem, RosterClient, RosterError, User,
};

use crate::classlink;
use crate::{CoreError, Profile, ProviderSettings};

/// The signed-in teacher as the roster server knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterIdentity {
    pub sourced_id: String,
    /// ClassLink's tenant; a `SourcedId` is unique only within it.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Where the id came from: `claim`, `classlink` or `email`.
    pub source: String,
}

/// Finds the teacher's OneRoster `sourcedId`: a configured claim, then ClassLink's
/// `/v2/my/info`, then `users?filter=email='…'`.
pub(crate) async fn resolve_teacher(
    settings: &ProviderSettings,
    identity: &Identity,
    http: &reqwest::Client,
    roster: &RosterClient,
    token: &str,
) -> Result<RosterIdentity, CoreError> {
    if let Some(claim) = &settings.teacher_id_claim {
        if let Some(id) = identity.claims.get(claim).filter(|v| !v.trim().is_empty()) {
            return Ok(RosterIdentity {
                sourced_id: id.trim().to_owned(),
                tenant_id: None,
                source: "claim".into(),
            });
        }
        tracing::debug!(
            claim,
            "the configured roster-id claim is absent; trying the next source"
        );
    }
    let mut tenant_id = None;
    if settings.profile == Profile::ClassLink {
        let info = classlink::my_info(http, &settings.classlink_api_base()?, token).await?;
        tenant_id = info.tenant_id;
        if let Some(id) = info.sourced_id {
            return Ok(RosterIdentity {
                sourced_id: id,
                tenant_id,
                source: "classlink".into(),
            });
        }
    }
    let Some(email) = identity.email.as_deref().filter(|e| !e.is_empty()) else {
        return Err(CoreError::TeacherNotFound(format!(
            "the sign-in gave no roster id and no email address to look you up by; {OTHER_WAYS}"
        )));
    };
    // Anyone may type any address at some providers: an address the provider has not
    // verified must never decide whose classes you see.
    if !identity.email_verified {
        return Err(CoreError::TeacherNotFound(format!(
            "your sign-in provider does not say your email address is verified, so Rollbook cannot use it to find you in the roster; {OTHER_WAYS}"
        )));
    }
    let users = roster.users_with_email(email).await?;
    let sourced_id = the_one_active_staff_member(&users, email)?;
    Ok(RosterIdentity {
        sourced_id,
        tenant_id,
        source: "email".into(),
    })
}

/// What IT can set instead of an email lookup.
const OTHER_WAYS: &str = "ask IT which sign-in claim holds your roster id and set it in the sign-in options, or sign in with the ClassLink profile";

/// The one active staff record among users found by email; none or several is an error
/// (guessing could show one teacher another's classes).
fn the_one_active_staff_member(
    users: &[rollbook_oneroster::User],
    email: &str,
) -> Result<String, CoreError> {
    const STAFF: [&str; 4] = ["teacher", "administrator", "aide", "proctor"];
    let staff: Vec<&rollbook_oneroster::User> = users
        .iter()
        .filter(|u| STAFF.iter().any(|r| u.has_role(r)))
        .filter(|u| !matches!(u.status.as_deref(), Some("tobedeleted" | "inactive")))
        .filter(|u| u.enabled_user)
        .collect();
    match staff.as_slice() {
        [one] => Ok(one.sourced_id.clone()),
        [] => Err(CoreError::TeacherNotFound(format!(
            "the roster has no active staff member with the email address {email}; {OTHER_WAYS}"
        ))),
        several => Err(CoreError::TeacherNotFound(format!(
            "the roster has {} active staff members with the email address {email}, so Rollbook cannot tell which is you; {OTHER_WAYS}",
            several.len()
        ))),
    }
}

/// Which classes `classes` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TermFilter {
    /// Classes with a term that includes today (or no dated term at all).
    #[default]
    Current,
    All,
}

/// A reference with the name or title filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct NamedRef {
    pub sourced_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TermRef {
    pub sourced_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub end_date: Option<String>,
}

/// A class as "my classes" shows it: OneRoster's field names plus `studentCount`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ClassSummary {
    pub sourced_id: String,
    pub title: String,
    pub class_code: Option<String>,
    pub periods: Vec<String>,
    pub school: Option<NamedRef>,
    pub terms: Vec<TermRef>,
    pub grades: Vec<String>,
    pub subjects: Vec<String>,
    pub location: Option<String>,
    /// `None` when the count could not be read (the class is still listed).
    pub student_count: Option<u64>,
}

/// A student on a class roster, as the SIS gives the names. `Debug` shows only the
/// `sourcedId`, so a stray `{:?}` cannot put a name in a log or a crash report.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Student {
    pub sourced_id: String,
    pub given_name: String,
    pub family_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub preferred_first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub middle_name: Option<String>,
    pub email: Option<String>,
    pub username: Option<String>,
    pub grades: Vec<String>,
}

impl std::fmt::Debug for Student {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Student")
            .field("sourced_id", &self.sourced_id)
            .finish_non_exhaustive()
    }
}

impl Student {
    fn from_user(user: User) -> Self {
        Self {
            sourced_id: user.sourced_id,
            given_name: user.given_name,
            family_name: user.family_name,
            preferred_first_name: user.preferred_first_name,
            middle_name: user.middle_name,
            email: user.email,
            username: user.username,
            grades: user.grades,
        }
    }

    /// "Family, Preferred-or-given".
    pub fn sort_name(&self) -> String {
        format!(
            "{}, {}",
            self.family_name,
            self.preferred_first_name
                .as_deref()
                .unwrap_or(&self.given_name)
        )
    }
}

/// How to order a roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RosterSort {
    /// Family name, then first name.
    #[default]
    Name,
    FirstName,
    Username,
    Email,
    Grade,
}

pub fn sort_students(students: &mut [Student], by: RosterSort, descending: bool) {
    let key = |s: &Student| -> String {
        match by {
            RosterSort::Name => s.sort_name(),
            RosterSort::FirstName => format!(
                "{} {}",
                s.preferred_first_name.as_deref().unwrap_or(&s.given_name),
                s.family_name
            ),
            RosterSort::Username => s.username.clone().unwrap_or_default(),
            RosterSort::Email => s.email.clone().unwrap_or_default(),
            RosterSort::Grade => s.grades.first().cloned().unwrap_or_default(),
        }
        .to_lowercase()
    };
    students.sort_by_cached_key(|s| (key(s), s.sort_name().to_lowercase(), s.sourced_id.clone()));
    if descending {
        students.reverse();
    }
}

/// A class's gradebook: line items and results, as OneRoster names them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Gradebook {
    pub line_items: Vec<LineItem>,
    pub results: Vec<GradeResult>,
}

/// "My classes": the teacher's classes with school names, terms and student counts.
pub(crate) async fn my_classes(
    roster: &RosterClient,
    teacher: &RosterIdentity,
    filter: TermFilter,
    today: &str,
) -> Result<Vec<ClassSummary>, CoreError> {
    let started = Instant::now();
    let (classes, sessions) = tokio::join!(
        roster.classes_for_teacher(&teacher.sourced_id),
        roster.academic_sessions()
    );
    let classes = classes?;
    // Terms make the list nicer but are not essential: a server that refuses them
    // still shows its classes (all of them, undated).
    let sessions: HashMap<String, AcademicSession> = match sessions {
        Ok(list) => list
            .into_iter()
            .map(|s| (s.sourced_id.clone(), s))
            .collect(),
        Err(e) => {
            tracing::warn!(
                code = %e.code(),
                "academic sessions unavailable; showing every class"
            );
            HashMap::new()
        }
    };
    let classes: Vec<Class> = classes
        .into_iter()
        .filter(|c| c.status.as_deref() != Some("tobedeleted"))
        .filter(|c| filter == TermFilter::All || is_current(c, &sessions, today))
        .collect();
    classes_with_details(roster, classes, &sessions, started).await
}

/// All classes of a school (the principal's view); for benchmarks and admin tools.
pub(crate) async fn school_classes(
    roster: &RosterClient,
    school_id: &str,
) -> Result<Vec<ClassSummary>, CoreError> {
    let started = Instant::now();
    let classes = roster.classes_for_school(school_id).await?;
    classes_with_details(roster, classes, &HashMap::new(), started).await
}

async fn classes_with_details(
    roster: &RosterClient,
    classes: Vec<Class>,
    sessions: &HashMap<String, AcademicSession>,
    started: Instant,
) -> Result<Vec<ClassSummary>, CoreError> {
    let school_ids: BTreeSet<String> = classes
        .iter()
        .filter_map(|c| c.school.as_ref().map(|s| s.sourced_id.clone()))
        .collect();
    let schools: BTreeMap<String, String> = roster
        .for_each(school_ids, async |id| {
            let name = roster.school(&id).await.ok().map(|o| o.name);
            (id, name)
        })
        .await
        .into_iter()
        .filter_map(|(id, name)| name.map(|n| (id, n)))
        .collect();
    // Owned ids, not an iterator over `classes`: a borrowing closure held across the
    // awaits makes this future fail Tauri's `Send` check (a higher-ranked lifetime
    // limitation of rustc).
    let class_ids: Vec<String> = classes.iter().map(|c| c.sourced_id.clone()).collect();
    let counts: Vec<Result<u64, RosterError>> = roster
        .for_each(class_ids, async |id| roster.student_count(&id).await)
        .await;
    let mut failed_counts = 0;
    let mut summaries: Vec<ClassSummary> = classes
        .into_iter()
        .zip(counts)
        .map(|(class, count)| {
            let student_count = match count {
                Ok(n) => Some(n),
                Err(RosterError::Unauthorized { status }) => {
                    // Not a per-class problem: the whole sign-in is refused.
                    return Err(RosterError::Unauthorized { status });
                }
                Err(_) => {
                    failed_counts += 1;
                    None
                }
            };
            Ok(summarize(class, student_count, &schools, sessions))
        })
        .collect::<Result<_, _>>()?;
    summaries.sort_by(|a, b| {
        let period = |c: &ClassSummary| {
            c.periods
                .first()
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        };
        (period(a), a.title.to_lowercase()).cmp(&(period(b), b.title.to_lowercase()))
    });
    tracing::info!(
        classes = summaries.len(),
        failed_counts,
        elapsed_ms = started.elapsed().as_millis(),
        "classes read"
    );
    Ok(summaries)
}

fn is_current(class: &Class, sessions: &HashMap<String, AcademicSession>, today: &str) -> bool {
    let known: Vec<&AcademicSession> = class
        .terms
        .iter()
        .filter_map(|t| sessions.get(&t.sourced_id))
        .collect();
    // A class whose terms we cannot date is shown rather than hidden.
    known.is_empty() || known.iter().any(|s| s.contains(today))
}

fn summarize(
    class: Class,
    student_count: Option<u64>,
    schools: &BTreeMap<String, String>,
    sessions: &HashMap<String, AcademicSession>,
) -> ClassSummary {
    ClassSummary {
        school: class.school.map(|s| NamedRef {
            name: schools.get(&s.sourced_id).cloned(),
            kind: s.kind.unwrap_or_else(|| "org".into()),
            sourced_id: s.sourced_id,
        }),
        terms: class
            .terms
            .into_iter()
            .map(|t| {
                let session = sessions.get(&t.sourced_id);
                TermRef {
                    title: session.map(|s| s.title.clone()),
                    start_date: session.and_then(|s| s.start_date.clone()),
                    end_date: session.and_then(|s| s.end_date.clone()),
                    kind: t.kind.unwrap_or_else(|| "academicSession".into()),
                    sourced_id: t.sourced_id,
                }
            })
            .collect(),
        sourced_id: class.sourced_id,
        title: class.title,
        class_code: class.class_code,
        periods: class.periods,
        grades: class.grades,
        subjects: class.subjects,
        location: class.location,
        student_count,
    }
}

pub(crate) async fn class_roster(
    roster: &RosterClient,
    class_id: &str,
) -> Result<Vec<Student>, CoreError> {
    let started = Instant::now();
    let students: Vec<Student> = roster
        .students_for_class(class_id)
        .await?
        .into_iter()
        .filter(|u| u.status.as_deref() != Some("tobedeleted"))
        .map(Student::from_user)
        .collect();
    tracing::info!(
        students = students.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "roster read"
    );
    Ok(students)
}

pub(crate) async fn class_gradebook(
    roster: &RosterClient,
    class_id: &str,
) -> Result<Gradebook, CoreError> {
    let started = Instant::now();
    let (line_items, results) = tokio::join!(
        roster.line_items_for_class(class_id),
        roster.results_for_class(class_id)
    );
    let mut line_items = line_items?;
    line_items.sort_by(|a, b| (&a.due_date, &a.title).cmp(&(&b.due_date, &b.title)));
    let results = results?;
    tracing::info!(
        line_items = line_items.len(),
        results = results.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "gradebook read"
    );
    Ok(Gradebook {
        line_items,
        results,
    })
}

/// One class with everything the app shows for it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassData {
    pub class: ClassSummary,
    pub students: Vec<Student>,
    pub gradebook: Gradebook,
}

/// The teacher's whole view (classes, rosters, gradebooks) in one go: every
/// independent request is started at once and the client's concurrency bound paces
/// them, so the wall time approaches `round trips ÷ concurrency × latency`.
pub async fn sync_teacher(
    roster: &RosterClient,
    teacher_id: &str,
    filter: TermFilter,
    today: &str,
) -> Result<Vec<ClassData>, CoreError> {
    let (classes, sessions) = tokio::join!(
        roster.classes_for_teacher(teacher_id),
        roster.academic_sessions()
    );
    let sessions: HashMap<String, AcademicSession> = sessions
        .map(|list| {
            list.into_iter()
                .map(|s| (s.sourced_id.clone(), s))
                .collect()
        })
        .unwrap_or_default();
    let classes: Vec<Class> = classes?
        .into_iter()
        .filter(|c| filter == TermFilter::All || is_current(c, &sessions, today))
        .collect();
    sync_details(roster, classes, &sessions).await
}

/// A principal's view of a whole school, read the same way.
pub async fn sync_school(
    roster: &RosterClient,
    school_id: &str,
) -> Result<Vec<ClassData>, CoreError> {
    let classes = roster.classes_for_school(school_id).await?;
    sync_details(roster, classes, &HashMap::new()).await
}

async fn sync_details(
    roster: &RosterClient,
    classes: Vec<Class>,
    sessions: &HashMap<String, AcademicSession>,
) -> Result<Vec<ClassData>, CoreError> {
    let started = Instant::now();
    let school_ids: BTreeSet<String> = classes
        .iter()
        .filter_map(|c| c.school.as_ref().map(|s| s.sourced_id.clone()))
        .collect();
    let schools = futures_util::future::join_all(school_ids.into_iter().map(async |id| {
        let name = roster.school(&id).await.ok().map(|o| o.name);
        (id, name)
    }));
    let class_ids: Vec<String> = classes.iter().map(|c| c.sourced_id.clone()).collect();
    let per_class = futures_util::future::join_all(
        class_ids
            .into_iter()
            .map(async |id| tokio::join!(class_roster(roster, &id), class_gradebook(roster, &id))),
    );
    let (schools, per_class) = tokio::join!(schools, per_class);
    let schools: BTreeMap<String, String> = schools
        .into_iter()
        .filter_map(|(id, name)| name.map(|n| (id, n)))
        .collect();
    let mut out = Vec::with_capacity(classes.len());
    for (class, (students, gradebook)) in classes.into_iter().zip(per_class) {
        let students = students?;
        let count = u64::try_from(students.len()).ok();
        out.push(ClassData {
            class: summarize(class, count, &schools, sessions),
            students,
            gradebook: gradebook?,
        });
    }
    tracing::info!(
        classes = out.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "class data synced"
    );
    Ok(out)
}

/// Today on this computer's calendar, as `YYYY-MM-DD`.
pub fn today() -> String {
    today_in(&rollbook_auth::SystemClock, &jiff::tz::TimeZone::system())
}

/// The date `clock` shows in `zone`, as `YYYY-MM-DD`. A teacher's "today" is local: at
/// 8 pm in New York it is already tomorrow in UTC, and a term that ends today would
/// vanish from the class list hours early.
pub fn today_in(clock: &dyn rollbook_auth::Clock, zone: &jiff::tz::TimeZone) -> String {
    let now = jiff::Timestamp::try_from(clock.now()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    // jiff displays civil dates as `YYYY-MM-DD`.
    now.to_zoned(zone.clone()).date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_local_date_not_utcs() {
        // 2026-11-28 01:30 UTC is still the evening of the 27th in New York.
        let clock = rollbook_auth::ManualClock::starting_at(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_829_400),
        );
        let new_york = jiff::tz::TimeZone::get("America/New_York").unwrap();
        assert_eq!(today_in(&clock, &new_york), "2026-11-27");
        assert_eq!(today_in(&clock, &jiff::tz::TimeZone::UTC), "2026-11-28");
        let auckland = jiff::tz::TimeZone::get("Pacific/Auckland").unwrap();
        assert_eq!(today_in(&clock, &auckland), "2026-11-28");
    }

    fn user(id: &str, role: &str, status: &str, enabled: bool) -> rollbook_oneroster::User {
        serde_json::from_value(serde_json::json!({
            "sourcedId": id, "role": role, "status": status, "enabledUser": enabled,
            "givenName": "A", "familyName": "B", "username": id,
        }))
        .unwrap()
    }

    #[test]
    fn an_email_finds_exactly_one_active_staff_member_or_nobody() {
        let teacher = user("t1", "teacher", "active", true);
        let student = user("s1", "student", "active", true);
        let gone = user("t0", "teacher", "tobedeleted", true);
        let disabled = user("t2", "teacher", "active", false);
        let pick =
            |users: Vec<rollbook_oneroster::User>| the_one_active_staff_member(&users, "a@x");
        assert_eq!(
            pick(vec![student.clone(), teacher.clone(), gone.clone()]).unwrap(),
            "t1"
        );
        // A student with a teacher's address is never taken for anyone.
        let e = pick(vec![student.clone()]).unwrap_err().to_string();
        assert!(
            e.contains("no active staff member") && e.contains("roster id") && !e.contains("--"),
            "{e}"
        );
        assert!(pick(vec![gone, disabled]).is_err());
        let e = pick(vec![
            teacher.clone(),
            user("t3", "administrator", "active", true),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("2 active staff members"), "{e}");
    }

    fn student(given: &str, family: &str, preferred: Option<&str>, username: &str) -> Student {
        Student {
            sourced_id: username.into(),
            given_name: given.into(),
            family_name: family.into(),
            preferred_first_name: preferred.map(str::to_owned),
            middle_name: None,
            email: Some(format!("{username}@x.example")),
            username: Some(username.into()),
            grades: vec!["09".into()],
        }
    }

    #[test]
    fn sorts_by_family_name_then_the_name_a_student_goes_by() {
        let mut list = vec![
            student("Zoë", "Nguyen", None, "zn"),
            student("Alexander", "nguyen", Some("Alex"), "an"),
            student("Omar", "Abara", None, "oa"),
        ];
        sort_students(&mut list, RosterSort::Name, false);
        let order: Vec<&str> = list.iter().map(|s| s.sourced_id.as_str()).collect();
        assert_eq!(order, ["oa", "an", "zn"]);
        sort_students(&mut list, RosterSort::Username, true);
        let order: Vec<&str> = list.iter().map(|s| s.sourced_id.as_str()).collect();
        assert_eq!(order, ["zn", "oa", "an"]);
    }
}
