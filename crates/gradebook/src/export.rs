//! The gradebook as CSV: one row per student, a column per line item, the average and
//! the letter, and a last row of class averages. Marks are written as the grid shows
//! them (`M`, `X`, `8 L`), so nothing a teacher entered is lost, sent or not.

use std::collections::HashMap;

use crate::entry::format_score;
use crate::store::GradebookView;

/// A field a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return) is prefixed with `'`, as OWASP recommends; the CSV writer does the quoting.
pub fn guard_formula(field: &str) -> String {
    match field.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{field}"),
        _ => field.to_owned(),
    }
}

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
    header.extend(["Average %".to_owned(), "Letter".to_owned()]);
    writer.write_record(&header)?;
    let cells: HashMap<(&str, &str), String> = view
        .cells
        .iter()
        .map(|c| {
            (
                (c.student_id.as_str(), c.line_item_id.as_str()),
                c.value.display(),
            )
        })
        .collect();
    for (student, average) in view.students.iter().zip(&view.student_averages) {
        let mut row = vec![
            guard_formula(&student.family_name),
            guard_formula(&student.given_name),
            guard_formula(&student.sourced_id),
        ];
        for column in &view.columns {
            row.push(
                cells
                    .get(&(student.sourced_id.as_str(), column.sourced_id.as_str()))
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        row.push(average.percent.map(format_score).unwrap_or_default());
        row.push(guard_formula(average.letter.as_deref().unwrap_or_default()));
        writer.write_record(&row)?;
    }
    let mut last = vec!["Class average".to_owned(), String::new(), String::new()];
    for average in &view.item_averages {
        last.push(
            average
                .percent
                .map(|p| format!("{}%", format_score(p)))
                .unwrap_or_default(),
        );
    }
    last.extend([String::new(), String::new()]);
    writer.write_record(&last)?;
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(guard_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard_formula("+1"), "'+1");
        assert_eq!(guard_formula("-1"), "'-1");
        assert_eq!(guard_formula("Ana"), "Ana");
    }
}
