//! `rollbook gradebook`, `rollbook grade` and `rollbook sync`: the same local store and
//! outbox as the window.

use std::collections::HashMap;

use rollbook_core::grades::entry::format_score;
use rollbook_core::grades::store::{CellChange, CellState, GradebookView};
use rollbook_core::grades::{CellInput, SyncReport};
use rollbook_core::{
    Account, AttentionCounts, ClassId, CoreError, GradebookPage, LineItemId, StoreLocation,
    StudentId,
};

use crate::output::{note, print_json, print_line};
use crate::table::render;

pub async fn gradebook(
    account: &Account,
    class: &ClassId,
    json: bool,
    csv: bool,
) -> Result<(), CoreError> {
    let page = account.grades().gradebook_page(class).await;
    say_store_set_aside(account).await;
    let page = page?;
    if let Some(reason) = &page.offline_reason {
        note(&format!(
            "offline: showing the copy on this computer from {} ({reason})",
            page.gradebook
                .synced_at
                .as_deref()
                .unwrap_or("an earlier sync")
        ));
    }
    if csv {
        print_line(account.grades().gradebook_csv(class).await?.trim_end());
        return Ok(());
    }
    if json {
        print_json(&page);
        return Ok(());
    }
    print_table(&page.gradebook);
    where_grades_are(&page);
    Ok(())
}

fn print_table(view: &GradebookView) {
    if view.columns.is_empty() {
        print_line("This class has no gradebook items yet.");
        return;
    }
    let cells: HashMap<(&str, &str), (String, &CellState)> = view
        .cells
        .iter()
        .map(|c| {
            (
                (c.student_id.as_str(), c.line_item_id.as_str()),
                (c.value.display(), &c.state),
            )
        })
        .collect();
    let mut headers: Vec<String> = vec!["Student".into()];
    headers.extend((1..=view.columns.len()).map(|i| format!("#{i}")));
    headers.extend(["Average".into(), "".into()]);
    let rows: Vec<Vec<String>> = view
        .students
        .iter()
        .zip(&view.student_averages)
        .map(|(s, average)| {
            let mut row = vec![format!("{}, {}", s.family_name, s.given_name)];
            row.extend(view.columns.iter().map(|column| {
                match cells.get(&(s.sourced_id.as_str(), column.sourced_id.as_str())) {
                    Some((text, state)) => format!(
                        "{}{}",
                        if text.is_empty() { "·" } else { text },
                        state_mark(state)
                    ),
                    None => "·".into(),
                }
            }));
            // The store's rounded text, as the window and CSV show it: re-rounding
            // `percent` here could print 90% beside a B.
            row.push(
                average
                    .percent_text
                    .as_deref()
                    .map(|p| format!("{p}%"))
                    .unwrap_or_default(),
            );
            row.push(average.letter.clone().unwrap_or_default());
            row
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let right: Vec<usize> = (1..headers.len() - 1).collect();
    print_line(&render(&header_refs, &rows, &right));
    if let Some(text) = &view.class_average.percent_text {
        let letter = view
            .class_average
            .letter
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default();
        print_line(&format!("Class average: {text}%{letter}"));
    }
    print_line("");
    for (i, (column, average)) in view.columns.iter().zip(&view.item_averages).enumerate() {
        let due = column
            .due_date
            .as_deref()
            .map(|d| format!(", due {d}"))
            .unwrap_or_default();
        let mean = average
            .percent_text
            .as_deref()
            .map(|p| format!(", class average {p}%"))
            .unwrap_or_default();
        let local = if column.local {
            " (new, not yet sent)"
        } else {
            ""
        };
        print_line(&format!(
            "#{:<3} {} (out of {}){due}{mean}{local}  [{}]",
            i + 1,
            column.title,
            format_score(column.max_points),
            column.sourced_id
        ));
    }
    print_line("");
    print_line(
        "M missing, X exempt, L late, I incomplete. * saved here, not yet sent; ! refused by the server; ? conflict.",
    );
}

fn state_mark(state: &CellState) -> &'static str {
    match state {
        CellState::Saved => "*",
        CellState::Refused { .. } => "!",
        CellState::Conflict { .. } => "?",
        CellState::Synced | CellState::Sent => "",
    }
}

fn where_grades_are(page: &GradebookPage) {
    match &page.location {
        StoreLocation::Disk => {
            if page.gradebook.pending > 0 {
                note(&format!(
                    "{} grades are saved on this computer and not yet sent; `rollbook sync` sends them.",
                    page.gradebook.pending
                ));
            }
        }
        StoreLocation::Memory { .. } => note(
            "this computer keeps no grades (shared computer, or your district's policy): grades are sent at once or not kept",
        ),
    }
}

pub async fn grade(
    account: &Account,
    class: &ClassId,
    line_item: &LineItemId,
    student: &StudentId,
    value: &str,
    comment: Option<String>,
    json: bool,
) -> Result<(), CoreError> {
    let input = CellInput::parse(value)?;
    // The class must be on this computer; read it first when it is not.
    let saved = account.grades().saved_gradebook(class).await;
    say_store_set_aside(account).await;
    if saved?.is_none() {
        account.grades().gradebook_page(class).await?;
    }
    let mut cell = account
        .grades()
        .enter_grade(class, line_item, student, CellChange::Input(input))
        .await?;
    if let Some(comment) = comment {
        cell = account
            .grades()
            .enter_grade(
                class,
                line_item,
                student,
                CellChange::Comment(Some(comment).filter(|c| !c.is_empty())),
            )
            .await?;
    }
    let page = account.grades().saved_gradebook(class).await?;
    // A store that lives in memory is gone when this command ends: send now, though
    // not past a district's Retry-After (the teacher did not ask for a sync).
    let report = match page.as_ref().map(|p| &p.location) {
        Some(StoreLocation::Memory { .. }) => Some(account.grades().sync_grades(false).await?),
        _ => None,
    };
    if json {
        print_json(&serde_json::json!({ "cell": cell, "sync": report }));
        return Ok(());
    }
    let shown = if cell.value.is_empty() {
        "cleared".to_owned()
    } else {
        cell.value.display()
    };
    match &report {
        None => print_line(&format!(
            "Saved on this computer: {shown}. `rollbook sync` writes it back to the district."
        )),
        Some(report) => print_sync(report),
    }
    if cell.over_max {
        note("note: the score is above the assignment's maximum (kept as extra credit)");
    }
    Ok(())
}

/// The teacher's "Sync now": writes waiting out a back-off go too.
pub async fn sync(account: &Account, json: bool) -> Result<(), CoreError> {
    let report = account.grades().sync_grades(true).await;
    say_store_set_aside(account).await;
    let report = report?;
    if json {
        print_json(&report);
    } else {
        print_sync(&report);
        // What no cell shows: said so the teacher knows why writes still wait.
        match account.grades().attention_counts().await {
            Ok(counts) => print_attention(&counts),
            Err(e) => {
                tracing::warn!(code = %e.code(), "what waits for the teacher could not be counted")
            }
        }
    }
    Ok(())
}

fn print_attention(counts: &AttentionCounts) {
    let n = |count: u32, one: &str, many: &str| {
        if count == 1 {
            format!("1 {one}")
        } else {
            format!("{count} {many}")
        }
    };
    if counts.orphans > 0 {
        print_line(&format!(
            "{} not sent: {} assignment was deleted in the district's system, or the student left the class. They are kept here; settle them under \"To settle\" in the Rollbook window.",
            n(counts.orphans, "grade is", "grades are"),
            if counts.orphans == 1 { "its" } else { "their" },
        ));
    }
    if counts.held_assignments > 0 {
        print_line(&format!(
            "{} refused by the district and held here with {}; settle {} under \"To settle\" in the Rollbook window.",
            n(
                counts.held_assignments,
                "new assignment was",
                "new assignments were"
            ),
            if counts.held_assignments == 1 {
                "its grades"
            } else {
                "their grades"
            },
            if counts.held_assignments == 1 {
                "it"
            } else {
                "them"
            },
        ));
    }
}

/// "45 seconds", "2 minutes", "1 hour 5 minutes": a pause as the teacher reads it.
fn duration_words(seconds: u32) -> String {
    let unit = |n: u32, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    match seconds {
        0..60 => unit(seconds, "second"),
        60..3600 => unit(seconds.div_ceil(60), "minute"),
        _ => {
            let (hours, minutes) = (seconds / 3600, (seconds % 3600).div_ceil(60));
            if minutes == 0 {
                unit(hours, "hour")
            } else {
                format!("{} {}", unit(hours, "hour"), unit(minutes, "minute"))
            }
        }
    }
}

/// Says on stderr what a sign-out with `--discard-unsent` deleted unsent: the count, or
/// that it could not be counted (with the last count kept beside the store, if any).
pub fn say_discarded(counted: &Result<u32, CoreError>) {
    match counted {
        Ok(0) => {}
        Ok(n) => note(&format!(
            "warning: {} not yet sent {} deleted.",
            if *n == 1 {
                "1 grade".to_owned()
            } else {
                format!("{n} grades")
            },
            if *n == 1 { "was" } else { "were" }
        )),
        Err(CoreError::UnsentUnknown { last_known, .. }) => note(&format!(
            "warning: any grades not yet sent were deleted (Rollbook could not count them{last_known})."
        )),
        Err(_) => {
            note("warning: any grades not yet sent were deleted (Rollbook could not count them).")
        }
    }
}

/// Says on stderr, with its stable code, that this command found the local store
/// unopenable and set it aside (never deleted), and what it held.
pub async fn say_store_set_aside(account: &Account) {
    if let Some(aside) = account.grades().store_set_aside().await {
        note(&format!("notice: {}: {}", aside.code, aside.message));
    }
}

fn print_sync(report: &SyncReport) {
    print_line(&format!("Sent {} to the district.", report.sent.len()));
    for refused in &report.refused {
        print_line(&format!(
            "Refused, kept in Rollbook only: {} ({})",
            cell_name(refused),
            refused.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    for conflict in &report.conflicts {
        print_line(&format!(
            "Conflict: {} was changed in the district's system since you read it; open the gradebook to choose which value to keep.",
            cell_name(conflict)
        ));
    }
    if report.offline {
        print_line(
            "The district could not be reached; your grades are saved on this computer and will be sent later.",
        );
    } else if !report.retrying.is_empty() {
        print_line(&format!(
            "{} could not be sent yet (the district is busy or failing); they will be tried again.",
            report.retrying.len()
        ));
    }
    if let Some(seconds) = report.paused_seconds {
        let wait = duration_words(seconds);
        print_line(&if report.paused_by_server {
            format!(
                "Sending is paused: the district asked Rollbook to wait {wait} before sending more (it was busy). Your grades are kept here; sync again after that."
            )
        } else {
            format!(
                "Sending is paused for {wait} after the district failed to answer; your grades are kept here and `rollbook sync` tries again at once."
            )
        });
    }
    if report.waiting > 0 {
        note(&format!(
            "{} writes are waiting ({} of them for you).",
            report.waiting, report.held
        ));
    }
}

fn cell_name(outcome: &rollbook_core::grades::sync::WriteOutcome) -> String {
    match (&outcome.line_item_id, &outcome.student_id) {
        (Some(item), Some(student)) => format!("the grade of {student} on {item}"),
        _ => format!("{} {}", outcome.kind, outcome.sourced_id),
    }
}
