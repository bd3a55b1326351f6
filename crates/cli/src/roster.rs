//! `rollbook classes` and `rollbook roster`.

use rollbook_core::{
    Account, ClassId, ClassSummary, CoreError, RosterSort, Student, TermFilter, sort_students,
};

use crate::output::{note, print_json, print_line};
use crate::table::{csv_line, render};

pub async fn classes(account: &Account, all_terms: bool, json: bool) -> Result<(), CoreError> {
    let filter = if all_terms {
        TermFilter::All
    } else {
        TermFilter::Current
    };
    let classes = account.rosters().classes(filter).await?;
    if json {
        print_json(&classes);
        return Ok(());
    }
    if classes.is_empty() {
        if all_terms {
            print_line("You have no classes on the roster server.");
        } else {
            print_line("No classes this term. (`rollbook classes --all-terms` shows every term.)");
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = classes.iter().map(class_row).collect();
    print_line(&render(
        &["Period", "Class", "Code", "School", "Students", "Id"],
        &rows,
        &[4],
    ));
    Ok(())
}

fn class_row(class: &ClassSummary) -> Vec<String> {
    vec![
        class.periods.join(", "),
        class.title.clone(),
        class.class_code.clone().unwrap_or_default(),
        class
            .school
            .as_ref()
            .and_then(|s| s.name.clone().or(Some(s.sourced_id.clone())))
            .unwrap_or_default(),
        class
            .student_count
            .map_or_else(|| "?".into(), |n| n.to_string()),
        class.sourced_id.clone(),
    ]
}

/// "Family, Preferred (Given)": the SIS's names, preferred first name where present.
fn display_name(s: &Student) -> String {
    match &s.preferred_first_name {
        Some(p) if *p != s.given_name => format!("{}, {p} ({})", s.family_name, s.given_name),
        _ => format!("{}, {}", s.family_name, s.given_name),
    }
}

pub async fn roster(
    account: &Account,
    class: &ClassId,
    sort: RosterSort,
    descending: bool,
    json: bool,
    csv: bool,
) -> Result<(), CoreError> {
    if csv {
        // A roster as CSV is an export too (ExportAllowed).
        account.allow_export()?;
    }
    let mut students = account.rosters().students(class).await?;
    sort_students(&mut students, sort, descending);
    if json {
        print_json(&students);
    } else if csv {
        print_line(&csv_line(&[
            "sourcedId",
            "givenName",
            "familyName",
            "preferredFirstName",
            "email",
            "username",
            "grades",
        ]));
        for s in &students {
            print_line(&csv_line(&[
                &s.sourced_id,
                &s.given_name,
                &s.family_name,
                s.preferred_first_name.as_deref().unwrap_or_default(),
                s.email.as_deref().unwrap_or_default(),
                s.username.as_deref().unwrap_or_default(),
                &s.grades.join(";"),
            ]));
        }
    } else if students.is_empty() {
        print_line("No students are enrolled in this class.");
    } else {
        let rows: Vec<Vec<String>> = students
            .iter()
            .map(|s| {
                vec![
                    display_name(s),
                    s.username.clone().unwrap_or_default(),
                    s.email.clone().unwrap_or_default(),
                    s.grades.join(", "),
                ]
            })
            .collect();
        print_line(&render(&["Name", "Username", "Email", "Grade"], &rows, &[]));
        note(&format!("{} students", students.len()));
    }
    Ok(())
}
