//! `rollbook classes`, `rollbook roster` and `rollbook gradebook`.

use std::collections::HashMap;

use rollbook_core::oneroster::{GradeResult, ScoreStatus};
use rollbook_core::{
    Account, ClassSummary, CoreError, RosterSort, Student, TermFilter, sort_students,
};

use crate::output::{note, print_json, print_line};
use crate::table::{csv_line, render};

pub async fn classes(account: &Account, all_terms: bool, json: bool) -> Result<(), CoreError> {
    let filter = if all_terms {
        TermFilter::All
    } else {
        TermFilter::Current
    };
    let classes = account.classes(filter).await?;
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
    class: &str,
    sort: RosterSort,
    descending: bool,
    json: bool,
    csv: bool,
) -> Result<(), CoreError> {
    let mut students = account.roster(class).await?;
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

pub async fn gradebook(account: &Account, class: &str, json: bool) -> Result<(), CoreError> {
    let gradebook = account.gradebook(class).await?;
    if json {
        print_json(&gradebook);
        return Ok(());
    }
    if gradebook.line_items.is_empty() {
        print_line("This class has no gradebook items yet.");
        return Ok(());
    }
    let mut students = account.roster(class).await?;
    sort_students(&mut students, RosterSort::Name, false);
    let by_cell: HashMap<(&str, &str), &GradeResult> = gradebook
        .results
        .iter()
        .map(|r| {
            (
                (
                    r.student.sourced_id.as_str(),
                    r.line_item.sourced_id.as_str(),
                ),
                r,
            )
        })
        .collect();
    let mut headers: Vec<String> = vec!["Student".into()];
    headers.extend((1..=gradebook.line_items.len()).map(|i| format!("#{i}")));
    let rows: Vec<Vec<String>> = students
        .iter()
        .map(|s| {
            let mut row = vec![display_name(s)];
            row.extend(gradebook.line_items.iter().map(|item| {
                by_cell
                    .get(&(s.sourced_id.as_str(), item.sourced_id.as_str()))
                    .map_or_else(|| "·".into(), |r| cell(r))
            }));
            row
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let right: Vec<usize> = (1..headers.len()).collect();
    print_line(&render(&header_refs, &rows, &right));
    print_line("");
    for (i, item) in gradebook.line_items.iter().enumerate() {
        let max = item
            .result_value_max
            .map(|m| format!(" (out of {m})"))
            .unwrap_or_default();
        let due = item
            .due_date
            .as_deref()
            .map(|d| format!(", due {d}"))
            .unwrap_or_default();
        print_line(&format!("#{:<3} {}{max}{due}", i + 1, item.title));
    }
    print_line("");
    print_line(
        "Scores are shown as given. ~ partially graded, SUB submitted, MISS not submitted, EX exempt, · no result.",
    );
    Ok(())
}

fn cell(result: &GradeResult) -> String {
    let score = result.score.map(|s| {
        if s.fract() == 0.0 {
            format!("{s:.0}")
        } else {
            format!("{s}")
        }
    });
    match (&result.score_status, score) {
        (ScoreStatus::FullyGraded, Some(s)) => s,
        (ScoreStatus::PartiallyGraded, Some(s)) => format!("~{s}"),
        (ScoreStatus::Submitted, _) => "SUB".into(),
        (ScoreStatus::NotSubmitted, _) => "MISS".into(),
        (ScoreStatus::Exempt, _) => "EX".into(),
        (ScoreStatus::FullyGraded | ScoreStatus::PartiallyGraded, None) => "?".into(),
        (ScoreStatus::Other(s), _) => s.clone(),
    }
}
