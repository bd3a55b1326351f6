//! The gradebook as CSV: one row per student, a column per line item, the average, the
//! letter, a note of every grade the district does not hold as shown (refused, in
//! conflict, not sent yet) and of every comment, and a last row of class averages. Marks are written as the
//! grid shows them (`M`, `X`, `8 L`), so nothing a teacher entered is lost, sent or not.
//! Averages are the rounded text the grid shows ([`crate::averages`]), never re-rounded.

use std::collections::HashMap;

use crate::entry::format_score;
use crate::store::{CellState, CellView, GradebookView};

/// Excel reads a CSV file without a byte-order mark in the system's code page, so
/// "José" becomes "JosÃ©"; with it, as UTF-8. Other spreadsheets skip it.
pub const UTF8_BOM: &str = "\u{feff}";

/// A field a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return) is prefixed with `'`, as OWASP recommends; the CSV writer does the quoting.
pub fn guard_formula(field: &str) -> String {
    match field.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{field}"),
        _ => field.to_owned(),
    }
}

/// What the Notes column says about a cell, when the district does not hold what the
/// grid shows: the district's own words for a refusal, its value for a conflict.
fn note(title: &str, cell: &CellView) -> Option<String> {
    match &cell.state {
        CellState::Synced | CellState::Sent => None,
        CellState::Saved => Some(format!("{title}: not sent to the district yet")),
        CellState::Refused { reason } => {
            let reason = reason.trim();
            Some(if reason.is_empty() {
                format!("{title}: refused by the district (it gave no reason)")
            } else {
                format!("{title}: refused by the district: {reason}")
            })
        }
        CellState::Conflict { server } => {
            let theirs = server.display();
            let theirs = if theirs.is_empty() {
                "nothing".to_owned()
            } else {
                theirs
            };
            Some(format!(
                "{title}: conflict, the district has {theirs}; Rollbook keeps {} until you choose",
                display_or_nothing(&cell.value.display())
            ))
        }
    }
}

fn display_or_nothing(text: &str) -> &str {
    if text.is_empty() { "nothing" } else { text }
}

/// The CSV file's text, starting with a UTF-8 byte-order mark.
pub fn gradebook_csv(view: &GradebookView) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "Family name".to_owned(),
        "Given name".to_owned(),
        "Student id".to_owned(),
    ];
    for column in &view.columns {
        header.push(guard_formula(&format!(
            "{} ({} pts)",
            column.title,
            format_score(column.max_points)
        )));
    }
    header.extend([
        "Average %".to_owned(),
        "Letter".to_owned(),
        "Notes".to_owned(),
    ]);
    writer.write_record(&header)?;
    let cells: HashMap<(&str, &str), &CellView> = view
        .cells
        .iter()
        .map(|c| ((c.student_id.as_str(), c.line_item_id.as_str()), c))
        .collect();
    for (student, average) in view.students.iter().zip(&view.student_averages) {
        let mut row = vec![
            guard_formula(&student.family_name),
            guard_formula(&student.given_name),
            guard_formula(&student.sourced_id),
        ];
        let mut notes = Vec::new();
        for column in &view.columns {
            let cell = cells.get(&(student.sourced_id.as_str(), column.sourced_id.as_str()));
            row.push(cell.map(|c| c.value.display()).unwrap_or_default());
            notes.extend(cell.and_then(|c| note(&column.title, c)));
            // The comment is the teacher's too: an export kept as the copy of what was
            // typed must not lose it.
            if let Some(comment) = cell.and_then(|c| c.value.comment.as_deref()) {
                let comment = comment.trim();
                if !comment.is_empty() {
                    notes.push(format!("{}: comment: {comment}", column.title));
                }
            }
        }
        row.push(average.percent_text.clone().unwrap_or_default());
        row.push(guard_formula(average.letter.as_deref().unwrap_or_default()));
        row.push(guard_formula(&notes.join("; ")));
        writer.write_record(&row)?;
    }
    let mut last = vec!["Class average".to_owned(), String::new(), String::new()];
    for average in &view.item_averages {
        last.push(
            average
                .percent_text
                .as_ref()
                .map(|p| format!("{p}%"))
                .unwrap_or_default(),
        );
    }
    last.extend([
        view.class_average.percent_text.clone().unwrap_or_default(),
        // The letter the grid and the print-out show beside the class average.
        guard_formula(view.class_average.letter.as_deref().unwrap_or_default()),
        "Students enrolled now only".to_owned(),
    ]);
    writer.write_record(&last)?;
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(format!("{UTF8_BOM}{}", String::from_utf8_lossy(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::averages::{GradingRules, ItemInfo, class_averages};
    use crate::entry::CellValue;
    use crate::store::{ColumnView, StudentName};

    #[test]
    fn formulas_are_defused() {
        assert_eq!(guard_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard_formula("+1"), "'+1");
        assert_eq!(guard_formula("-1"), "'-1");
        assert_eq!(guard_formula("Ana"), "Ana");
    }

    fn column(id: &str, title: &str, max: f64) -> ColumnView {
        ColumnView {
            sourced_id: id.into(),
            title: title.into(),
            category_id: None,
            category_title: None,
            max_points: max,
            assign_date: None,
            due_date: None,
            local: false,
        }
    }

    fn cell(item: &str, student: &str, score: f64, state: CellState) -> CellView {
        CellView {
            line_item_id: item.into(),
            student_id: student.into(),
            value: CellValue {
                score: Some(score),
                ..CellValue::default()
            },
            state,
            over_max: false,
        }
    }

    fn student(id: &str, given: &str, family: &str) -> StudentName {
        StudentName {
            sourced_id: id.into(),
            given_name: given.into(),
            family_name: family.into(),
        }
    }

    /// A view as the store makes it: averages from `class_averages` over the roster.
    fn view(
        students: Vec<StudentName>,
        columns: Vec<ColumnView>,
        cells: Vec<CellView>,
    ) -> GradebookView {
        let rules = GradingRules::default();
        let items: Vec<ItemInfo> = columns
            .iter()
            .map(|c| ItemInfo {
                id: c.sourced_id.clone(),
                title: c.title.clone(),
                category_id: None,
                category_title: None,
                max_points: c.max_points,
            })
            .collect();
        let roster: Vec<&str> = students.iter().map(|s| s.sourced_id.as_str()).collect();
        let averages = class_averages(
            &rules,
            &items,
            &roster,
            cells
                .iter()
                .map(|c| (c.student_id.as_str(), c.line_item_id.as_str(), &c.value)),
        );
        GradebookView {
            class_id: "class".into(),
            title: "Biology".into(),
            synced_at: None,
            students,
            columns,
            cells,
            rules,
            student_averages: averages.students,
            item_averages: averages.items,
            class_average: averages.class,
            pending: 0,
            unsent: Default::default(),
        }
    }

    fn parse(text: &str) -> Vec<Vec<String>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        reader
            .records()
            .map(|r| {
                r.map(|r| r.iter().map(str::to_owned).collect())
                    .unwrap_or_default()
            })
            .collect()
    }

    // Issue 18: no BOM (Excel showed "JosÃ©") and no refusal reasons, though the docs
    // promised them.
    #[test]
    fn the_export_opens_in_excel_and_says_why_a_grade_is_not_in_the_district() {
        let book = view(
            vec![student("s1", "José", "Núñez"), student("s2", "=cmd", "Lee")],
            vec![column("q1", "Quiz 1", 10.0), column("t1", "=Test", 100.0)],
            vec![
                cell(
                    "q1",
                    "s1",
                    8.0,
                    CellState::Refused {
                        reason: "This district does not accept grades".into(),
                    },
                ),
                cell(
                    "t1",
                    "s1",
                    90.0,
                    CellState::Conflict {
                        server: CellValue {
                            score: Some(88.0),
                            ..CellValue::default()
                        },
                    },
                ),
                cell("q1", "s2", 9.0, CellState::Saved),
                cell(
                    "t1",
                    "s2",
                    70.0,
                    CellState::Refused {
                        reason: "=HYPERLINK(\"evil\")".into(),
                    },
                ),
                // An edit kept for a student who left: in no row and no average.
                cell("q1", "gone", 0.0, CellState::Saved),
            ],
        );
        let text = gradebook_csv(&book).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]),
            "UTF-8 BOM first"
        );
        let rows = parse(text.trim_start_matches(UTF8_BOM));
        assert_eq!(
            rows[0],
            [
                "Family name",
                "Given name",
                "Student id",
                "Quiz 1 (10 pts)",
                "'=Test (100 pts)",
                "Average %",
                "Letter",
                "Notes"
            ]
        );
        assert_eq!(rows[1][..3], ["Núñez", "José", "s1"]);
        assert_eq!(rows[1][3..5], ["8", "90"]);
        // 98 of 110 = 89.0909…: the grid's text, the letter of that text.
        assert_eq!(rows[1][5..7], ["89.1", "B"]);
        assert_eq!(
            book.student_averages[0].percent_text.as_deref(),
            Some("89.1")
        );
        assert_eq!(
            rows[1][7],
            "Quiz 1: refused by the district: This district does not accept grades; =Test: conflict, the district has 88; Rollbook keeps 90 until you choose"
        );
        assert_eq!(rows[2][1], "'=cmd");
        assert_eq!(
            rows[2][7],
            "Quiz 1: not sent to the district yet; =Test: refused by the district: =HYPERLINK(\"evil\")"
        );
        // The class-average row: the student who left does not pull the quiz to 56.7%;
        // the class's average is the mean of the averages shown, (89.1 + 71.8) / 2.
        assert_eq!(rows[3][0], "Class average");
        assert_eq!(rows[3][3..6], ["85.0%", "80.0%", "80.5"]);
        // Review of issues 18/22: the grid and the print-out show "80.5% B" for the class,
        // the CSV showed no letter.
        assert_eq!(rows[3][6], "B");
        assert_eq!(rows.len(), 4, "no row for a student who left");

        // A note that would start a formula is defused as a whole.
        let only = view(
            vec![student("s1", "Ana", "Ruiz")],
            vec![column("q1", "=Quiz", 10.0)],
            vec![cell("q1", "s1", 8.0, CellState::Saved)],
        );
        let rows = parse(
            gradebook_csv(&only)
                .unwrap_or_default()
                .trim_start_matches(UTF8_BOM),
        );
        assert_eq!(rows[1][6], "'=Quiz: not sent to the district yet");
    }

    #[test]
    fn the_reader_keeps_every_field_a_teacher_typed() {
        // Commas, quotes and line breaks survive the round trip through a CSV reader.
        let book = view(
            vec![student("s1", "Mary, Jo", "O\"Brien\nSmith")],
            vec![column("q1", "Quiz \"1\", part 2", 10.0)],
            vec![cell("q1", "s1", 8.5, CellState::Synced)],
        );
        let rows = parse(
            gradebook_csv(&book)
                .unwrap_or_default()
                .trim_start_matches(UTF8_BOM),
        );
        assert_eq!(rows[0][3], "Quiz \"1\", part 2 (10 pts)");
        assert_eq!(rows[1][..4], ["O\"Brien\nSmith", "Mary, Jo", "s1", "8.5"]);
        assert_eq!(rows[1][6], "", "a synced grade needs no note");
    }

    // Review of issues 18/22: a comment typed on a cell was in no column of the export.
    #[test]
    fn a_comment_is_in_the_notes() {
        let mut commented = cell("q1", "s1", 8.0, CellState::Synced);
        commented.value.comment = Some("Retake on Friday, \"ok\"".into());
        let book = view(
            vec![student("s1", "Ana", "Ruiz")],
            vec![column("q1", "Quiz 1", 10.0)],
            vec![commented],
        );
        let rows = parse(
            gradebook_csv(&book)
                .unwrap_or_default()
                .trim_start_matches(UTF8_BOM),
        );
        assert_eq!(rows[1][6], "Quiz 1: comment: Retake on Friday, \"ok\"");
    }
}
