//! A line item's class average, and every average of a class's page.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::rules::GradingRules;
use super::student::{ItemInfo, StudentAverage, student_average};
use crate::entry::{CellValue, Mark};

/// A line item's class average: the mean percent of the enrolled students whose cell
/// counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ItemAverage {
    /// Rounded by the class's rules.
    pub percent: Option<f64>,
    /// `percent` as every face shows it, no `%` sign.
    pub percent_text: Option<String>,
    pub mean_points: Option<f64>,
    pub counted: u32,
}

pub fn item_average<'a>(
    rules: &GradingRules,
    item: &ItemInfo,
    cells: impl IntoIterator<Item = &'a CellValue>,
) -> ItemAverage {
    let points: Vec<f64> = cells
        .into_iter()
        .filter_map(|cell| match (cell.mark, cell.score) {
            (Some(Mark::Exempt), _) => None,
            (Some(Mark::Missing), _) => rules.missing_counts_as_zero.then_some(0.0),
            (_, score) => score,
        })
        .collect();
    if points.is_empty() {
        return ItemAverage {
            percent: None,
            percent_text: None,
            mean_points: None,
            counted: 0,
        };
    }
    // Summed in a fixed order, so the mean does not depend on the students' order.
    let mut sorted = points;
    sorted.sort_by(f64::total_cmp);
    let count = sorted.len();
    let mean = sorted.iter().sum::<f64>() / count as f64;
    let unrounded = (item.max_points > 0.0).then(|| mean / item.max_points * 100.0);
    ItemAverage {
        percent: unrounded.map(|p| rules.round(p)),
        percent_text: unrounded.map(|p| rules.percent_text(p)),
        mean_points: Some(mean),
        counted: u32::try_from(count).unwrap_or(u32::MAX),
    }
}

/// The class's overall average: the mean of the enrolled students' averages as shown
/// (rounded), rounded again the class's way, so a teacher can check it from the export.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ClassAverage {
    pub percent: Option<f64>,
    pub percent_text: Option<String>,
    pub letter: Option<String>,
    /// Students with an average.
    pub counted: u32,
}

/// Every average of a class's page, in the roster's order.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassAverages {
    /// By student, in roster order.
    pub students: Vec<StudentAverage>,
    /// By item, in `items` order.
    pub items: Vec<ItemAverage>,
    pub class: ClassAverage,
}

/// The averages of a class. Only the students on `roster` count: a cell kept for a
/// student who left the class (an edit not yet settled) is in no average.
pub fn class_averages<'a>(
    rules: &GradingRules,
    items: &[ItemInfo],
    roster: &[&str],
    cells: impl IntoIterator<Item = (&'a str, &'a str, &'a CellValue)>,
) -> ClassAverages {
    let enrolled: HashSet<&str> = roster.iter().copied().collect();
    let mut by_student: HashMap<&str, HashMap<String, CellValue>> = HashMap::new();
    let mut by_item: HashMap<&str, Vec<&CellValue>> = HashMap::new();
    for (student, item, value) in cells {
        if !enrolled.contains(student) {
            continue;
        }
        by_student
            .entry(student)
            .or_default()
            .insert(item.to_owned(), value.clone());
        by_item.entry(item).or_default().push(value);
    }
    let empty = HashMap::new();
    let students: Vec<StudentAverage> = roster
        .iter()
        .map(|s| student_average(rules, items, by_student.get(s).unwrap_or(&empty)))
        .collect();
    let item_averages = items
        .iter()
        .map(|i| {
            item_average(
                rules,
                i,
                by_item.get(i.id.as_str()).into_iter().flatten().copied(),
            )
        })
        .collect();
    let mut shown: Vec<f64> = students.iter().filter_map(|a| a.percent).collect();
    shown.sort_by(f64::total_cmp);
    let class = if shown.is_empty() {
        ClassAverage {
            percent: None,
            percent_text: None,
            letter: None,
            counted: 0,
        }
    } else {
        let mean = shown.iter().sum::<f64>() / shown.len() as f64;
        let percent = rules.round(mean);
        ClassAverage {
            percent: Some(percent),
            percent_text: Some(rules.percent_text(mean)),
            letter: rules.scale.letter(percent).map(|g| g.letter.clone()),
            counted: u32::try_from(shown.len()).unwrap_or(u32::MAX),
        }
    };
    ClassAverages {
        students,
        items: item_averages,
        class,
    }
}
