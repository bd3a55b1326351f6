//! Reading a class's gradebook from the roster source into a [`ClassSnapshot`].

use rollbook_oneroster::{RosterClient, RosterError};

use crate::store::{ClassSnapshot, StudentName};

/// The class's students, line items, results and the district's categories, read in
/// parallel. `title` is the class's title as the caller already has it.
pub async fn fetch_snapshot(
    client: &RosterClient,
    class_id: &str,
    title: &str,
    synced_at: &str,
) -> Result<ClassSnapshot, RosterError> {
    let (students, line_items, results, categories) = tokio::join!(
        client.students_for_class(class_id),
        client.line_items_for_class(class_id),
        client.results_for_class(class_id),
        client.categories(),
    );
    let mut students: Vec<StudentName> = students?
        .into_iter()
        .filter(|s| s.status.as_deref() != Some("tobedeleted"))
        .map(|s| StudentName {
            sourced_id: s.sourced_id,
            given_name: s.preferred_first_name.unwrap_or(s.given_name),
            family_name: s.family_name,
        })
        .collect();
    students.sort_by(|a, b| {
        (a.family_name.to_lowercase(), a.given_name.to_lowercase())
            .cmp(&(b.family_name.to_lowercase(), b.given_name.to_lowercase()))
    });
    Ok(ClassSnapshot {
        class_id: class_id.to_owned(),
        title: title.to_owned(),
        students,
        line_items: line_items?
            .into_iter()
            .filter(|i| i.status.as_deref() != Some("tobedeleted"))
            .collect(),
        results: results?
            .into_iter()
            .filter(|r| r.status.as_deref() != Some("tobedeleted"))
            .collect(),
        // Categories help the averages but a server without them still has a gradebook.
        categories: categories.unwrap_or_default(),
        synced_at: synced_at.to_owned(),
    })
}
