//! The demo district's data, generated deterministically from a seed and a size.
//!
//! People, classes and enrollments are generated up front (compactly: enrollments are
//! indexes). Line items and results are derived on demand from the seed and their
//! position, so even the `district` preset (50,000 students, 10,000 classes, millions
//! of potential results) takes little memory and starts fast.

mod names;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::dice::Dice;

/// How big a district to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// One teacher with five sections at one school.
    #[default]
    Tiny,
    /// One high school: 40 teachers, 1,000 students.
    School,
    /// Two small schools, 4 teachers and 150 students each: enough people to test who
    /// may see what (colleagues, another school, a principal, a student).
    Pair,
    /// 50 schools: 2,000 teachers, 50,000 students, 10,000 classes.
    District,
}

struct Shape {
    schools: usize,
    teachers_per_school: usize,
    students_per_school: usize,
}

impl Size {
    fn shape(self) -> Shape {
        match self {
            Self::Tiny => Shape {
                schools: 1,
                teachers_per_school: 1,
                students_per_school: 125,
            },
            Self::School => Shape {
                schools: 1,
                teachers_per_school: 40,
                students_per_school: 1_000,
            },
            Self::Pair => Shape {
                schools: 2,
                teachers_per_school: 4,
                students_per_school: 150,
            },
            Self::District => Shape {
                schools: 50,
                teachers_per_school: 40,
                students_per_school: 1_000,
            },
        }
    }
}

pub const DISTRICT_ID: &str = "org-district";
pub const DISTRICT_NAME: &str = "Rollbook Demo Unified School District";
pub const TENANT_ID: &str = "2718";
const EMAIL_DOMAIN: &str = "demo-district.example";
const PERIODS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Teacher,
    Administrator,
    Student,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::Administrator => "administrator",
            Self::Student => "student",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub role: Role,
    pub given: String,
    pub family: String,
    pub middle: Option<String>,
    pub preferred: Option<String>,
    pub username: String,
    pub email: String,
    pub identifier: String,
    pub grade: Option<String>,
    pub school: usize,
}

impl Person {
    pub fn display_name(&self) -> String {
        format!(
            "{} {}",
            self.preferred.as_deref().unwrap_or(&self.given),
            self.family
        )
    }
}

#[derive(Debug, Clone)]
pub struct School {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub grades: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Term {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub start: Date,
    pub end: Date,
    pub parent: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Class {
    pub id: String,
    pub title: String,
    pub code: String,
    pub period: String,
    pub subject: &'static str,
    pub course_id: String,
    pub grade: String,
    pub location: String,
    pub school: usize,
    pub terms: Vec<usize>,
    /// Index into `District::staff`.
    pub teacher: usize,
    /// Indexes into `District::students`.
    pub students: Vec<u32>,
}

pub const CATEGORIES: [(&str, &str); 5] = [
    ("cat-homework", "Homework"),
    ("cat-quizzes", "Quizzes"),
    ("cat-tests", "Tests"),
    ("cat-projects", "Projects"),
    ("cat-participation", "Participation"),
];

/// A line item, derived from its class and position.
#[derive(Debug, Clone)]
pub struct LineItem {
    pub id: String,
    pub class: usize,
    pub index: usize,
    pub title: String,
    pub description: String,
    pub category: usize,
    pub assign: Date,
    pub due: Date,
    pub max: u32,
    pub term: usize,
}

/// A result, derived from its line item and student.
#[derive(Debug, Clone)]
pub struct GradeResult {
    pub id: String,
    pub line_item: String,
    pub student: usize,
    pub status: &'static str,
    pub score: Option<f64>,
    pub date: Date,
    pub comment: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct District {
    pub seed: u64,
    pub size: Size,
    pub today: Date,
    pub schools: Vec<School>,
    pub terms: Vec<Term>,
    /// Teachers and administrators.
    pub staff: Vec<Person>,
    pub students: Vec<Person>,
    pub classes: Vec<Class>,
    /// For each staff member, the classes they teach.
    pub classes_of_staff: Vec<Vec<usize>>,
    /// For each school, its classes.
    pub classes_of_school: Vec<Vec<usize>>,
    /// For each student, their classes.
    pub classes_of_student: Vec<Vec<u32>>,
    by_id: HashMap<String, Entity>,
}

/// What a sourcedId names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    School(usize),
    Term(usize),
    Staff(usize),
    Student(usize),
    Class(usize),
}

const SUBJECTS: [(&str, &str, [&str; 4]); 10] = [
    (
        "Mathematics",
        "MATH",
        ["Algebra I", "Geometry", "Algebra II", "Pre-Calculus"],
    ),
    (
        "English",
        "ENG",
        [
            "English 9",
            "English 10",
            "American Literature",
            "AP Language",
        ],
    ),
    (
        "Science",
        "SCI",
        ["Biology", "Chemistry", "Physics", "Earth Science"],
    ),
    (
        "Social Studies",
        "SOC",
        ["World History", "U.S. History", "Civics", "Economics"],
    ),
    (
        "World Languages",
        "LANG",
        ["Spanish I", "Spanish II", "French I", "Mandarin I"],
    ),
    (
        "Arts",
        "ART",
        ["Studio Art", "Ceramics", "Concert Band", "Choir"],
    ),
    (
        "Physical Education",
        "PE",
        ["Physical Education", "Health", "Dance", "Fitness"],
    ),
    (
        "Computer Science",
        "CS",
        [
            "Intro to Programming",
            "AP CS Principles",
            "Robotics",
            "Web Design",
        ],
    ),
    (
        "Mathematics",
        "MATH",
        ["Math 6", "Math 7", "Math 8", "Statistics"],
    ),
    (
        "Science",
        "SCI",
        [
            "Life Science",
            "Physical Science",
            "Environmental Science",
            "Anatomy",
        ],
    ),
];

const SCHOOL_NAMES: [&str; 25] = [
    "Maple Grove",
    "Riverside",
    "Cedar Hills",
    "Lincoln",
    "Harbor View",
    "Sunnyslope",
    "Eastwood",
    "Mountain View",
    "Pioneer",
    "Lakeside",
    "Oak Park",
    "Westfield",
    "Bayshore",
    "Juniper",
    "Mesa Verde",
    "Northgate",
    "Willow Creek",
    "Summit",
    "Valley Oak",
    "Horizon",
    "Redwood",
    "Canyon Ridge",
    "Sequoia",
    "Brookside",
    "Prairie Wind",
];

impl District {
    /// Generates the district for `seed` and `size`, with its school year around
    /// `today` so there is always a current term.
    pub fn generate(seed: u64, size: Size, today: Date) -> Self {
        let shape = size.shape();
        let terms = school_year(today);
        let mut district = Self {
            seed,
            size,
            today,
            schools: Vec::new(),
            terms,
            staff: Vec::new(),
            students: Vec::new(),
            classes: Vec::new(),
            classes_of_staff: Vec::new(),
            classes_of_school: Vec::new(),
            classes_of_student: Vec::new(),
            by_id: HashMap::new(),
        };
        for s in 0..shape.schools {
            district.generate_school(s, &shape);
        }
        district.index();
        district
    }

    fn generate_school(&mut self, s: usize, shape: &Shape) {
        let high = shape.schools == 1 || s % 5 != 4;
        let level = if high { "High School" } else { "Middle School" };
        let base = SCHOOL_NAMES[s % SCHOOL_NAMES.len()];
        let name = if s < SCHOOL_NAMES.len() {
            format!("{base} {level}")
        } else {
            format!("{base} {level} {}", s / SCHOOL_NAMES.len() + 1)
        };
        let grades: Vec<String> = if high {
            ["09", "10", "11", "12"].map(str::to_owned).to_vec()
        } else {
            ["06", "07", "08"].map(str::to_owned).to_vec()
        };
        self.schools.push(School {
            id: format!("sch-{:03}", s + 1),
            name,
            identifier: format!("{}", 1000 + s * 7),
            grades: grades.clone(),
        });

        // Students, spread over the school's grades.
        let first_student = self.students.len();
        for i in 0..shape.students_per_school {
            let n = first_student + i;
            let mut dice = Dice::for_part(self.seed, "student", n as u64);
            let grade = grades[i % grades.len()].clone();
            let person = self.person(&mut dice, Role::Student, n, s, Some(grade));
            self.students.push(person);
            self.classes_of_student.push(Vec::new());
        }

        // Teachers (each with a grade, a subject line and one free period) and a principal.
        let first_teacher = self.staff.len();
        for _ in 0..shape.teachers_per_school {
            let n = self.staff.len();
            let mut dice = Dice::for_part(self.seed, "staff", n as u64);
            let person = self.person(&mut dice, Role::Teacher, n, s, None);
            self.staff.push(person);
            self.classes_of_staff.push(Vec::new());
        }
        let n = self.staff.len();
        let mut dice = Dice::for_part(self.seed, "staff", n as u64);
        let principal = self.person(&mut dice, Role::Administrator, n, s, None);
        self.staff.push(principal);
        self.classes_of_staff.push(Vec::new());
        self.classes_of_school.push(Vec::new());

        // Classes: each teacher teaches five of the six periods, for one grade.
        let mut slots: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
        for t in 0..shape.teachers_per_school {
            let teacher = first_teacher + t;
            let mut dice = Dice::for_part(self.seed, "teacher-classes", teacher as u64);
            let grade_index = t % grades.len();
            let subject = SUBJECTS[(t / grades.len() + s) % SUBJECTS.len()];
            let free = dice.below(PERIODS);
            let room = format!("Room {}", 100 + dice.between(1, 60));
            for period in (0..PERIODS).filter(|p| *p != free) {
                let course = subject.2[(grade_index + period) % subject.2.len()];
                let c = self.classes.len();
                // Most classes run all year; some are one semester.
                let terms = match dice.below(10) {
                    0 => vec![1],
                    1 => vec![2],
                    _ => vec![1, 2],
                };
                self.classes.push(Class {
                    id: format!("cls-{:05}", c + 1),
                    title: format!("{course} - Period {}", period + 1),
                    code: format!("{}-{}-{:02}", subject.1, 100 + (c % 400), period + 1),
                    period: (period + 1).to_string(),
                    subject: subject.0,
                    course_id: format!("crs-{}-{}", subject.1.to_lowercase(), ascii_course(course)),
                    grade: grades[grade_index].clone(),
                    location: room.clone(),
                    school: s,
                    terms,
                    teacher,
                    students: Vec::new(),
                });
                self.classes_of_staff[teacher].push(c);
                self.classes_of_school[s].push(c);
                slots.entry((grade_index, period)).or_default().push(c);
            }
        }

        // Fill each (grade, period) slot's classes from that grade's students.
        let mut slot_keys: Vec<_> = slots.keys().copied().collect();
        slot_keys.sort_unstable();
        for (grade_index, period) in slot_keys {
            let mut dice = Dice::for_part(
                self.seed,
                &format!("slot-{s}"),
                (grade_index * 10 + period) as u64,
            );
            let mut pool: Vec<u32> = (0..shape.students_per_school)
                .filter(|i| i % grades.len() == grade_index)
                .filter_map(|i| u32::try_from(first_student + i).ok())
                .collect();
            dice.shuffle(&mut pool);
            let mut next = 0;
            let slot = &slots[&(grade_index, period)];
            for (k, &c) in slot.iter().enumerate() {
                // A fair share of who is left, give or take a few, at most 32.
                let left = pool.len() - next;
                let fair = left.div_ceil(slot.len() - k);
                let size = (fair + dice.below(4))
                    .saturating_sub(3)
                    .clamp(1, 32)
                    .min(left);
                let mut members = pool[next..next + size].to_vec();
                next += size;
                members.sort_unstable();
                for &st in &members {
                    self.classes_of_student[st as usize].push(u32::try_from(c).unwrap_or(0));
                }
                self.classes[c].students = members;
            }
        }
    }

    fn person(
        &self,
        dice: &mut Dice,
        role: Role,
        n: usize,
        school: usize,
        grade: Option<String>,
    ) -> Person {
        let given = (*dice.pick(names::GIVEN)).to_owned();
        let family = (*dice.pick(names::FAMILY)).to_owned();
        let middle = dice
            .chance(0.3)
            .then(|| (*dice.pick(names::GIVEN)).to_owned());
        let preferred = (role == Role::Student && dice.chance(0.12))
            .then(|| (*dice.pick(names::PREFERRED)).to_owned());
        let given_slug = names::ascii_slug(&given);
        let family_slug = names::ascii_slug(&family);
        let (id, username, email) = match role {
            Role::Student => {
                let username = format!("{}{}{}", &given_slug[..1], family_slug, n % 1000);
                let email = format!("{username}@students.{EMAIL_DOMAIN}");
                (format!("stu-{:06}", n + 1), username, email)
            }
            Role::Teacher | Role::Administrator => {
                let username = format!("{}.{}{}", given_slug, family_slug, n % 100);
                let email = format!("{username}@{EMAIL_DOMAIN}");
                let prefix = if role == Role::Teacher { "tch" } else { "adm" };
                (format!("{prefix}-{:05}", n + 1), username, email)
            }
        };
        Person {
            id,
            role,
            given,
            family,
            middle,
            preferred,
            username,
            email,
            identifier: format!("{}", 100_000 + n),
            grade,
            school,
        }
    }

    fn index(&mut self) {
        let mut by_id = HashMap::with_capacity(
            self.students.len() + self.staff.len() + self.classes.len() + 64,
        );
        for (i, x) in self.schools.iter().enumerate() {
            by_id.insert(x.id.clone(), Entity::School(i));
        }
        for (i, x) in self.terms.iter().enumerate() {
            by_id.insert(x.id.clone(), Entity::Term(i));
        }
        for (i, x) in self.staff.iter().enumerate() {
            by_id.insert(x.id.clone(), Entity::Staff(i));
        }
        for (i, x) in self.students.iter().enumerate() {
            by_id.insert(x.id.clone(), Entity::Student(i));
        }
        for (i, x) in self.classes.iter().enumerate() {
            by_id.insert(x.id.clone(), Entity::Class(i));
        }
        self.by_id = by_id;
    }

    pub fn lookup(&self, id: &str) -> Option<Entity> {
        self.by_id.get(id).copied()
    }

    pub fn staff_by_login(&self, login: &str) -> Option<usize> {
        match self.lookup(login) {
            Some(Entity::Staff(i)) => Some(i),
            _ => self
                .staff
                .iter()
                .position(|p| p.username == login || p.email == login),
        }
    }

    /// The line items of class `c`, derived from the seed.
    pub fn line_items(&self, c: usize) -> Vec<LineItem> {
        let class = &self.classes[c];
        let mut dice = Dice::for_part(self.seed, "line-items", c as u64);
        let count = dice.between(6, 10);
        let term = class.terms[0];
        let (start, end) = (
            self.terms[term].start,
            self.terms[*class.terms.last().unwrap_or(&term)].end,
        );
        let span = (end - start).whole_days().max(1);
        (0..count)
            .map(|i| {
                let category = dice.below(CATEGORIES.len());
                let (title, max) = match category {
                    0 => (format!("Homework {}", i + 1), 10),
                    1 => (format!("Quiz {}", i + 1), 20),
                    2 => (format!("Unit {} Test", i / 2 + 1), 100),
                    3 => (format!("Project {}", i / 3 + 1), 50),
                    _ => (format!("Participation, week {}", i + 1), 5),
                };
                // Spread over the first 80% of the class's span.
                let offset = span * 4 / 5 * i as i64 / count as i64;
                let assign = start + time::Duration::days(offset);
                LineItem {
                    id: format!("li-{:05}-{:02}", c + 1, i + 1),
                    class: c,
                    index: i,
                    title,
                    description: format!("{} for {}", CATEGORIES[category].1, class.title),
                    category,
                    assign,
                    due: assign + time::Duration::days(7),
                    max,
                    term,
                }
            })
            .collect()
    }

    /// Parses a line item id back to (class, index).
    pub fn line_item_position(&self, id: &str) -> Option<(usize, usize)> {
        let rest = id.strip_prefix("li-")?;
        let (class, index) = rest.split_once('-')?;
        let class = class.parse::<usize>().ok()?.checked_sub(1)?;
        let index = index.parse::<usize>().ok()?.checked_sub(1)?;
        (class < self.classes.len() && index < self.line_items(class).len())
            .then_some((class, index))
    }

    /// The result for `item` and student `st`, derived from the seed: none before the
    /// item is assigned, some work handed in before it is due, and grades after.
    pub fn result(&self, item: &LineItem, st: u32) -> Option<GradeResult> {
        let mut dice = Dice::for_part(self.seed, &item.id, u64::from(st));
        if item.assign > self.today {
            return None;
        }
        let graded = item.due < self.today;
        let roll = dice.below(100);
        let status = match (graded, roll) {
            (false, 0..=59) => return None,
            (false, _) => "submitted",
            (true, 0..=79) => "fully graded",
            (true, 80..=86) => "partially graded",
            (true, 87..=91) => "not submitted",
            (true, 92..=95) => "submitted",
            (true, _) => "exempt",
        };
        let max = f64::from(item.max);
        let score = match status {
            "fully graded" => {
                // Most students do well; some struggle.
                let base = 0.55 + 0.45 * (dice.below(1000) as f64 / 1000.0).sqrt();
                Some((base * max * 2.0).round() / 2.0)
            }
            "partially graded" => Some(((dice.below(1000) as f64 / 1000.0) * max * 0.6).round()),
            _ => None,
        };
        let comment = (status == "fully graded" && dice.chance(0.1)).then(|| {
            *dice.pick(&[
                "Great work!",
                "See me about question 3.",
                "Nice improvement.",
                "Show your steps next time.",
            ])
        });
        Some(GradeResult {
            id: Self::result_id(&item.id, &self.students[st as usize].id),
            line_item: item.id.clone(),
            student: st as usize,
            status,
            score,
            date: item.due.min(self.today),
            comment,
        })
    }

    /// A result's id: `{lineItem}.{student}`.
    pub fn result_id(line_item: &str, student: &str) -> String {
        format!("{line_item}.{student}")
    }
}

fn ascii_course(course: &str) -> String {
    names::ascii_slug(course)
}

/// The school year around `today`: August to July, in two semesters with no gap, so
/// every day of the year has a current term.
fn school_year(today: Date) -> Vec<Term> {
    let start_year = if today.month() >= Month::August {
        today.year()
    } else {
        today.year() - 1
    };
    let date = |y: i32, m: Month, d: u8| Date::from_calendar_date(y, m, d).unwrap_or(today);
    let year_title = format!("{}-{}", start_year, start_year + 1);
    vec![
        Term {
            id: format!("sy-{}", start_year + 1),
            title: year_title,
            kind: "schoolYear",
            start: date(start_year, Month::August, 1),
            end: date(start_year + 1, Month::July, 31),
            parent: None,
        },
        Term {
            id: format!("term-{}-fall", start_year),
            title: format!("Fall {start_year}"),
            kind: "semester",
            start: date(start_year, Month::August, 1),
            end: date(start_year, Month::December, 31),
            parent: Some(0),
        },
        Term {
            id: format!("term-{}-spring", start_year + 1),
            title: format!("Spring {}", start_year + 1),
            kind: "semester",
            start: date(start_year + 1, Month::January, 1),
            end: date(start_year + 1, Month::July, 31),
            parent: Some(0),
        },
    ]
}

/// `YYYY-MM-DD`, OneRoster's date format (`time`'s `Display` for dates).
pub fn ymd(date: Date) -> String {
    date.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: Month, d: u8) -> Date {
        Date::from_calendar_date(y, m, d).unwrap()
    }

    #[test]
    fn same_seed_same_district_other_seed_other_people() {
        let today = day(2026, Month::November, 27);
        let a = District::generate(1, Size::School, today);
        let b = District::generate(1, Size::School, today);
        let c = District::generate(2, Size::School, today);
        let names = |d: &District| {
            d.students
                .iter()
                .map(Person::display_name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
        let rosters = |d: &District| {
            d.classes
                .iter()
                .map(|c| c.students.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(rosters(&a), rosters(&b));
        let item = &a.line_items(3)[2];
        let st = a.classes[3].students[0];
        assert_eq!(
            a.result(item, st).map(|r| r.score),
            b.result(&b.line_items(3)[2], st).map(|r| r.score)
        );
    }

    #[test]
    fn sizes_match_their_promises() {
        let today = day(2026, Month::November, 27);
        let tiny = District::generate(1, Size::Tiny, today);
        assert_eq!(
            tiny.staff
                .iter()
                .filter(|p| p.role == Role::Teacher)
                .count(),
            1
        );
        assert_eq!(tiny.classes.len(), 5);
        let school = District::generate(1, Size::School, today);
        assert_eq!(
            school
                .staff
                .iter()
                .filter(|p| p.role == Role::Teacher)
                .count(),
            40
        );
        assert_eq!(school.students.len(), 1_000);
        let district = District::generate(1, Size::District, today);
        assert!(district.students.len() >= 50_000);
        assert!(district.classes.len() >= 2_000);
        // Classes are real sections: 18 to 32 students, each in the class's grade.
        for class in &district.classes {
            assert!(
                (1..=32).contains(&class.students.len()),
                "{} has {}",
                class.id,
                class.students.len()
            );
            for st in &class.students {
                assert_eq!(
                    district.students[*st as usize].grade.as_deref(),
                    Some(class.grade.as_str())
                );
            }
        }
        // No student is in two classes in the same period.
        for (st, classes) in district.classes_of_student.iter().enumerate().take(5_000) {
            let mut periods: Vec<&str> = classes
                .iter()
                .map(|c| district.classes[*c as usize].period.as_str())
                .collect();
            periods.sort_unstable();
            let before = periods.len();
            periods.dedup();
            assert_eq!(before, periods.len(), "student {st} is double-booked");
        }
    }

    #[test]
    fn there_is_always_a_current_term() {
        for (m, d) in [
            (Month::January, 1),
            (Month::July, 31),
            (Month::August, 1),
            (Month::December, 31),
            (Month::June, 15),
        ] {
            let today = day(2027, m, d);
            let terms = school_year(today);
            assert!(
                terms[1..]
                    .iter()
                    .any(|t| t.start <= today && today <= t.end),
                "{today}"
            );
        }
    }

    #[test]
    fn people_have_diverse_names_and_valid_logins() {
        let district = District::generate(3, Size::School, day(2026, Month::November, 27));
        let families: std::collections::HashSet<&str> = district
            .students
            .iter()
            .map(|p| p.family.as_str())
            .collect();
        assert!(families.len() > 80);
        assert!(district.students.iter().any(|p| p.preferred.is_some()));
        assert!(district.students.iter().any(|p| !p.family.is_ascii()));
        for p in district.students.iter().chain(&district.staff) {
            assert!(p.email.is_ascii() && p.email.contains('@'), "{}", p.email);
            assert_eq!(
                district.staff_by_login(&p.id).is_some(),
                p.role != Role::Student
            );
        }
    }
}
