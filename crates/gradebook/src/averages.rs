//! Averages a teacher can explain: per student, per line item and for the class, with
//! category weights, drop-lowest, exempt and missing work, extra credit, rounding and a
//! letter-grade scale. Pure functions; the explanation is built from the same numbers
//! the average is, and every face (grid, explanation, CSV, print) shows the one rounded
//! value computed here.
//!
//! The rules, in the order they apply (docs/gradebook.md says the same in prose):
//! 1. Exempt cells, empty cells and incomplete cells without a score are left out.
//! 2. Missing cells count as zero points when `missing_counts_as_zero` (the default),
//!    otherwise they are left out too.
//! 3. Work is grouped by category; work with no category is the group "Uncategorised",
//!    which has a weight and a drop-lowest of its own in the rules.
//! 4. In each group, `drop_lowest` scores are dropped: the ones whose dropping leaves the
//!    highest average (points-based, so a small quiz and a big test are weighed by their
//!    points); at least one score always stays, and extra credit (no points possible) is
//!    never dropped. Among equally good choices the item whose id sorts first goes.
//! 5. A group's percent is its points earned over its points possible.
//! 6. With weights, the average is the weighted mean of the groups that have counted
//!    work and a weight; their weights are scaled to add up to 100%. A group whose counted
//!    work has no points possible (extra credit only) adds its points to the average as
//!    percentage points. A group without a weight is shown and not counted. Without
//!    weights (every weight zero) the average is all points earned over all possible.
//! 7. The average is rounded once, to the class's `precision` with its `rounding` rule;
//!    the letter is the highest grade on the scale whose minimum that rounded value
//!    reaches.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::entry::{CellValue, Mark, format_score};
use crate::error::GradebookError;

/// How a class's averages are computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GradingRules {
    pub categories: Vec<CategoryRule>,
    pub missing_counts_as_zero: bool,
    pub scale: LetterScale,
    /// Decimal places of every average shown (0 to 3). Rules saved before it existed
    /// read as 1, the grid's one decimal.
    #[serde(default = "default_precision")]
    pub precision: u8,
    #[serde(default)]
    pub rounding: Rounding,
    /// The weight and drop-lowest of work with no category.
    #[serde(default)]
    pub uncategorised: UncategorisedRule,
}

/// One decimal: what the grid always showed, enough to tell 89.9 from 90.0 at a letter's
/// boundary, and no more precision than the scores have.
pub const DEFAULT_PRECISION: u8 = 1;
pub const MAX_PRECISION: u8 = 3;

fn default_precision() -> u8 {
    DEFAULT_PRECISION
}

impl Default for GradingRules {
    fn default() -> Self {
        GradingRules {
            categories: Vec::new(),
            missing_counts_as_zero: true,
            scale: LetterScale::default(),
            precision: DEFAULT_PRECISION,
            rounding: Rounding::default(),
            uncategorised: UncategorisedRule::default(),
        }
    }
}

/// How an average is cut to the class's decimal places.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Rounding {
    /// 89.95 → 90.0 (and 89.94 → 89.9), as on paper.
    #[default]
    HalfUp,
    /// 89.99 → 89.9: the average never shows more than was earned.
    Truncate,
}

impl Rounding {
    fn words(self) -> &'static str {
        match self {
            Rounding::HalfUp => "rounded half up",
            Rounding::Truncate => "cut (not rounded)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CategoryRule {
    pub category_id: String,
    pub title: String,
    /// Percent of the average; zero in every category means "total points".
    pub weight_percent: f64,
    pub drop_lowest: u32,
}

/// The rule of the "Uncategorised" group (work with no category). Its weight is zero
/// until the teacher sets one: in a weighted class such work is then shown in the
/// explanation and not counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UncategorisedRule {
    #[serde(default)]
    pub weight_percent: f64,
    #[serde(default)]
    pub drop_lowest: u32,
}

pub const UNCATEGORISED_TITLE: &str = "Uncategorised";
const UNTITLED_CATEGORY: &str = "Untitled category";

/// Letter grades by minimum percent, highest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LetterScale {
    pub grades: Vec<LetterGrade>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct LetterGrade {
    pub letter: String,
    pub min_percent: f64,
}

impl Default for LetterScale {
    fn default() -> Self {
        let grade = |letter: &str, min_percent: f64| LetterGrade {
            letter: letter.to_owned(),
            min_percent,
        };
        LetterScale {
            grades: vec![
                grade("A", 90.0),
                grade("B", 80.0),
                grade("C", 70.0),
                grade("D", 60.0),
                grade("F", 0.0),
            ],
        }
    }
}

impl LetterScale {
    /// The grade of an already rounded percent.
    pub fn letter(&self, percent: f64) -> Option<&LetterGrade> {
        // A hair of tolerance for minimums typed with decimals (89.9 is not exactly
        // representable); averages reach here rounded, so nothing else depends on it.
        self.grades
            .iter()
            .filter(|g| percent + 1e-9 >= g.min_percent)
            .max_by(|a, b| a.min_percent.total_cmp(&b.min_percent))
    }

    /// Every letter named once, minimums falling from top to bottom, the last at 0%.
    pub fn validate(&self) -> Result<(), GradebookError> {
        let invalid = |m: String| Err(GradebookError::Invalid(m));
        if self.grades.is_empty() {
            return invalid("The letter scale needs at least one letter.".into());
        }
        let mut seen = HashSet::new();
        for (i, grade) in self.grades.iter().enumerate() {
            let letter = grade.letter.trim();
            if letter.is_empty() {
                return invalid(format!("Letter {} of the scale has no name.", i + 1));
            }
            if letter.chars().count() > 12 {
                return invalid(format!(
                    "\u{201c}{letter}\u{201d} is too long for a letter grade (12 characters at most)."
                ));
            }
            if !seen.insert(letter.to_lowercase()) {
                return invalid(format!(
                    "The letter \u{201c}{letter}\u{201d} is on the scale twice."
                ));
            }
            if !grade.min_percent.is_finite() || !(0.0..=100.0).contains(&grade.min_percent) {
                return invalid(format!(
                    "The minimum of {letter} must be between 0% and 100%."
                ));
            }
            if let Some(above) = i.checked_sub(1).and_then(|j| self.grades.get(j))
                && grade.min_percent >= above.min_percent
            {
                return invalid(format!(
                    "Each letter needs a lower minimum than the one above it: {letter} ({}%) is not below {} ({}%).",
                    format_score(grade.min_percent),
                    above.letter.trim(),
                    format_score(above.min_percent)
                ));
            }
        }
        if let Some(last) = self.grades.last()
            && last.min_percent != 0.0
        {
            return invalid(format!(
                "The last letter ({}) must start at 0%, so every average gets a letter.",
                last.letter.trim()
            ));
        }
        Ok(())
    }
}

impl GradingRules {
    /// What the window's rules form may save: weights from 0 to 100% adding up to 100%
    /// (or all zero for total points), 0 to 3 decimal places, and a valid letter scale.
    pub fn validate(&self) -> Result<(), GradebookError> {
        let invalid = |m: String| Err(GradebookError::Invalid(m));
        let weights = self
            .categories
            .iter()
            .map(|c| (human_title(Some(&c.title), None), c.weight_percent))
            .chain(std::iter::once((
                UNCATEGORISED_TITLE.to_owned(),
                self.uncategorised.weight_percent,
            )));
        let mut total = 0.0;
        for (title, weight) in weights {
            if !weight.is_finite() || !(0.0..=100.0).contains(&weight) {
                return invalid(format!(
                    "The weight of {title} must be between 0% and 100%."
                ));
            }
            total += weight;
        }
        if total > 0.0 && (total - 100.0).abs() > 0.01 {
            return invalid(format!(
                "Category weights must add up to 100% (they add up to {}%), or all be 0 to average total points.",
                format_score(total)
            ));
        }
        if self.precision > MAX_PRECISION {
            return invalid(format!(
                "Averages can show 0 to {MAX_PRECISION} decimal places, not {}.",
                self.precision
            ));
        }
        self.scale.validate()
    }

    /// Whether the class averages by category weights (any weight above zero).
    pub fn weighted(&self) -> bool {
        self.categories.iter().any(|r| r.weight_percent > 0.0)
            || self.uncategorised.weight_percent > 0.0
    }

    /// `percent` cut to the class's decimal places by its rounding rule.
    pub fn round(&self, percent: f64) -> f64 {
        round_to(percent, self.precision.min(MAX_PRECISION), self.rounding)
    }

    /// The rounded percent as the teacher reads it: exactly `precision` decimals, no `%`.
    pub fn percent_text(&self, percent: f64) -> String {
        let places = usize::from(self.precision.min(MAX_PRECISION));
        format!("{:.*}", places, self.round(percent))
    }
}

/// Decimal rounding as on paper. A typed 89.95 is held in binary a hair below 89.95, and
/// sums carry a little noise, so the value is nudged by a tolerance far below any real
/// difference between two averages (relative 1e-12) before it is cut.
fn round_to(value: f64, places: u8, rounding: Rounding) -> f64 {
    if !value.is_finite() {
        return value;
    }
    let factor = 10f64.powi(i32::from(places));
    let scaled = value.abs() * factor;
    let nudged = scaled + 1e-12 * scaled.max(1.0);
    let cut = match rounding {
        Rounding::HalfUp => (nudged + 0.5).floor(),
        Rounding::Truncate => nudged.floor(),
    };
    let rounded = cut / factor;
    if rounded == 0.0 {
        0.0
    } else {
        rounded.copysign(value)
    }
}

/// A category's name as a teacher knows it: the rules' title, else the district's, else
/// "Untitled category" (never an internal id).
fn human_title(rule_title: Option<&str>, district_title: Option<&str>) -> String {
    [rule_title, district_title]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|t| !t.is_empty())
        .unwrap_or(UNTITLED_CATEGORY)
        .to_owned()
}

/// "a" or "an" before a letter grade, by how it is said: a letter's name (an A, an F, a B,
/// an A+), or a word's first sound (an Excellent, a Pass).
pub fn article(letter: &str) -> &'static str {
    let mut chars = letter.trim().chars();
    let Some(first) = chars.next().map(|c| c.to_ascii_uppercase()) else {
        return "a";
    };
    let single_letter = !chars.any(char::is_alphabetic);
    let an = if single_letter {
        "AEFHILMNORSX".contains(first)
    } else {
        "AEIOU".contains(first)
    };
    if an { "an" } else { "a" }
}

/// What the maths needs to know about a line item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemInfo {
    pub id: String,
    pub title: String,
    pub category_id: Option<String>,
    /// The category's title as the district has it, for categories the rules do not name.
    pub category_title: Option<String>,
    /// Points possible; zero makes the item extra credit (points earned, none possible).
    pub max_points: f64,
}

/// A student's average, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StudentAverage {
    /// The average, already rounded by the class's rules; `None` when nothing counts yet.
    pub percent: Option<f64>,
    /// `percent` as every face shows it: exactly the class's decimal places, no `%` sign
    /// ("89.9"). Show this, never a re-rounded `percent`.
    pub percent_text: Option<String>,
    /// The average before rounding (for the explanation and tests).
    pub unrounded_percent: Option<f64>,
    /// The letter of the rounded `percent`.
    pub letter: Option<String>,
    pub weighted: bool,
    pub categories: Vec<CategoryBreakdown>,
    /// Line items left out because they are exempt.
    pub exempt: Vec<String>,
    /// Missing line items counted as zero (or left out, per the rules).
    pub missing: Vec<String>,
    /// Groups with counted work that carry no weight, so are not counted (weighted mode).
    pub unweighted: Vec<String>,
    /// Percentage points added by extra-credit-only groups (weighted mode).
    pub extra_credit_points: f64,
    /// The average in sentences ([`StudentAverage::explain`]), for the window.
    pub explanation: Vec<String>,
}

/// One group of the average: a category, or "Uncategorised".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CategoryBreakdown {
    /// `None` for the "Uncategorised" group.
    pub category_id: Option<String>,
    /// A human name, never an id.
    pub title: String,
    pub earned: f64,
    pub possible: f64,
    /// Earned over possible, unrounded; `None` when nothing is possible.
    pub percent: Option<f64>,
    /// `percent` rounded and shown the class's way, no `%` sign.
    pub percent_text: Option<String>,
    /// The weight the rules give this group (weighted mode).
    pub weight_percent: Option<f64>,
    /// This group's share of the average after scaling (weighted mode), in percent.
    pub effective_weight_percent: Option<f64>,
    /// Only extra credit counted (points earned, none possible).
    pub extra_credit_only: bool,
    /// Titles of the line items dropped.
    pub dropped: Vec<String>,
    pub counted: u32,
}

#[derive(Clone, Copy)]
struct Counted<'a> {
    item: &'a ItemInfo,
    earned: f64,
}

/// A group's key: categories by id, then "Uncategorised" (`None` sorts first, so it is
/// put last by hand in [`student_average`]'s output order).
type GroupKey<'a> = Option<&'a str>;

struct Group<'a> {
    key: GroupKey<'a>,
    title: String,
    weight: f64,
    drop_lowest: usize,
    counted: Vec<Counted<'a>>,
}

/// The student's average under `rules`, from their cells by line-item id.
pub fn student_average(
    rules: &GradingRules,
    items: &[ItemInfo],
    cells: &HashMap<String, CellValue>,
) -> StudentAverage {
    let mut by_group: BTreeMap<GroupKey<'_>, Vec<Counted<'_>>> = BTreeMap::new();
    let mut exempt = Vec::new();
    let mut missing = Vec::new();
    let mut ordered: Vec<&ItemInfo> = items.iter().collect();
    ordered.sort_by(|a, b| a.id.cmp(&b.id));
    for item in ordered {
        let Some(cell) = cells.get(&item.id) else {
            continue;
        };
        let earned = match (cell.mark, cell.score) {
            (Some(Mark::Exempt), _) => {
                exempt.push(item.title.clone());
                continue;
            }
            (Some(Mark::Missing), _) => {
                missing.push(item.title.clone());
                if !rules.missing_counts_as_zero {
                    continue;
                }
                0.0
            }
            (_, Some(score)) => score,
            (_, None) => continue,
        };
        by_group
            .entry(item.category_id.as_deref())
            .or_default()
            .push(Counted { item, earned });
    }

    let weighted = rules.weighted();
    let mut groups: Vec<Group<'_>> = by_group
        .into_iter()
        .map(|(key, counted)| {
            let (title, weight, drop) = group_rule(rules, key, &counted);
            Group {
                key,
                title,
                weight,
                drop_lowest: drop,
                counted,
            }
        })
        .collect();
    // Categories in id order, "Uncategorised" last.
    groups.sort_by_key(|g| (g.key.is_none(), g.key));

    // Drops: per group in weighted mode (each group's percent is what counts), over the
    // whole gradebook in total-points mode (the total percent is what counts).
    let drop_sets: Vec<HashSet<&str>> = if weighted {
        groups
            .iter()
            .map(|g| best_drops(std::slice::from_ref(g)).remove(0))
            .collect()
    } else {
        best_drops(&groups)
    };

    let mut breakdowns = Vec::new();
    let mut unweighted = Vec::new();
    let (mut total_earned, mut total_possible) = (0.0, 0.0);
    let mut weighted_parts: Vec<(usize, f64, f64)> = Vec::new(); // (breakdown, weight, percent)
    let mut extra_credit_points = 0.0;
    for (group, dropped_ids) in groups.iter().zip(&drop_sets) {
        let kept: Vec<&Counted<'_>> = group
            .counted
            .iter()
            .filter(|c| !dropped_ids.contains(c.item.id.as_str()))
            .collect();
        let dropped: Vec<String> = group
            .counted
            .iter()
            .filter(|c| dropped_ids.contains(c.item.id.as_str()))
            .map(|c| c.item.title.clone())
            .collect();
        let earned: f64 = kept.iter().map(|c| c.earned).sum();
        let possible: f64 = kept.iter().map(|c| c.item.max_points.max(0.0)).sum();
        let percent = (possible > 0.0).then(|| earned / possible * 100.0);
        let extra_credit_only = possible <= 0.0 && earned != 0.0;
        total_earned += earned;
        total_possible += possible;
        if weighted {
            match percent {
                Some(p) if group.weight > 0.0 => {
                    weighted_parts.push((breakdowns.len(), group.weight, p));
                }
                Some(_) => unweighted.push(group.title.clone()),
                None if extra_credit_only => extra_credit_points += earned,
                None => {}
            }
        }
        breakdowns.push(CategoryBreakdown {
            category_id: group.key.map(str::to_owned),
            title: group.title.clone(),
            earned,
            possible,
            percent,
            percent_text: percent.map(|p| rules.percent_text(p)),
            weight_percent: weighted.then_some(group.weight),
            effective_weight_percent: None,
            extra_credit_only,
            dropped,
            counted: u32::try_from(kept.len()).unwrap_or(u32::MAX),
        });
    }

    let unrounded = if weighted {
        let weight_sum: f64 = weighted_parts.iter().map(|(_, w, _)| w).sum();
        if weight_sum > 0.0 {
            for (index, weight, _) in &weighted_parts {
                breakdowns[*index].effective_weight_percent = Some(weight / weight_sum * 100.0);
            }
            let mean = weighted_parts.iter().map(|(_, w, p)| w * p).sum::<f64>() / weight_sum;
            Some(mean + extra_credit_points)
        } else {
            None
        }
    } else {
        (total_possible > 0.0).then(|| total_earned / total_possible * 100.0)
    };
    let percent = unrounded.map(|p| rules.round(p));
    let mut average = StudentAverage {
        percent,
        percent_text: unrounded.map(|p| rules.percent_text(p)),
        unrounded_percent: unrounded,
        letter: percent
            .and_then(|p| rules.scale.letter(p))
            .map(|g| g.letter.clone()),
        weighted,
        categories: breakdowns,
        exempt,
        missing,
        unweighted,
        extra_credit_points: if weighted { extra_credit_points } else { 0.0 },
        explanation: Vec::new(),
    };
    average.explanation = average.explain(rules);
    average
}

/// A group's human title, weight and drop count.
fn group_rule(
    rules: &GradingRules,
    key: GroupKey<'_>,
    counted: &[Counted<'_>],
) -> (String, f64, usize) {
    let to_usize = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    match key {
        None => (
            UNCATEGORISED_TITLE.to_owned(),
            rules.uncategorised.weight_percent.max(0.0),
            to_usize(rules.uncategorised.drop_lowest),
        ),
        Some(id) => {
            let rule = rules.categories.iter().find(|r| r.category_id == id);
            let district = counted
                .iter()
                .find_map(|c| c.item.category_title.as_deref());
            (
                human_title(rule.map(|r| r.title.as_str()), district),
                rule.map_or(0.0, |r| r.weight_percent.max(0.0)),
                rule.map_or(0, |r| to_usize(r.drop_lowest)),
            )
        }
    }
}

/// Points as whole millionths, so drop-lowest compares averages exactly (cross-multiplied
/// in i128) and a tie is a tie, not floating-point noise. Scores have a few decimals at
/// most; anything finer is below what a teacher can type.
fn micro(points: f64) -> i128 {
    // `as` saturates (and maps NaN to 0), which is what an absurd score deserves.
    (points * 1e6).round() as i128
}

/// For each group, the ids of the `drop_lowest` items to drop so that the points of all
/// the groups together (earned over possible) are as high as they can be; at least one
/// item with points possible stays in each group, extra credit is never dropped, and
/// among equally good choices the item whose id sorts first is dropped.
///
/// Dinkelbach's method, exactly: for a candidate average q = E/P, dropping items with the
/// lowest `earned·P − possible·E` is best; repeat from the average that gives until it
/// no longer rises (a few rounds; each round strictly raises q, so it ends).
fn best_drops<'a>(groups: &[Group<'a>]) -> Vec<HashSet<&'a str>> {
    struct Droppable<'a> {
        id: &'a str,
        earned: i128,
        possible: i128,
    }
    let mut fixed_earned = 0i128;
    let mut candidates: Vec<(Vec<Droppable<'a>>, usize)> = Vec::new();
    for group in groups {
        let mut droppable = Vec::new();
        for c in &group.counted {
            let possible = micro(c.item.max_points);
            if possible > 0 {
                droppable.push(Droppable {
                    id: c.item.id.as_str(),
                    earned: micro(c.earned),
                    possible,
                });
            } else {
                fixed_earned = fixed_earned.saturating_add(micro(c.earned));
            }
        }
        let k = group.drop_lowest.min(droppable.len().saturating_sub(1));
        candidates.push((droppable, k));
    }
    if candidates.iter().all(|(_, k)| *k == 0) {
        return vec![HashSet::new(); groups.len()];
    }
    // Which items to drop at average q = (qe / qp): per group, the k lowest keys.
    let choose = |qe: i128, qp: i128| -> Vec<Vec<usize>> {
        candidates
            .iter()
            .map(|(items, k)| {
                let mut order: Vec<usize> = (0..items.len()).collect();
                order.sort_by(|&a, &b| {
                    let key = |d: &Droppable<'_>| {
                        d.earned
                            .saturating_mul(qp)
                            .saturating_sub(d.possible.saturating_mul(qe))
                    };
                    key(&items[a])
                        .cmp(&key(&items[b]))
                        .then_with(|| items[a].id.cmp(items[b].id))
                });
                order.truncate(*k);
                order
            })
            .collect()
    };
    let kept_points = |drops: &[Vec<usize>]| -> (i128, i128) {
        let (mut e, mut p) = (fixed_earned, 0i128);
        for ((items, _), dropped) in candidates.iter().zip(drops) {
            for (i, d) in items.iter().enumerate() {
                if !dropped.contains(&i) {
                    e = e.saturating_add(d.earned);
                    p = p.saturating_add(d.possible);
                }
            }
        }
        (e, p)
    };
    // Start from a valid choice (the best at the average with nothing dropped), so the
    // next choice is never worse than the current one. Every group with k > 0 keeps an
    // item with points possible, so the kept points possible stay above zero.
    let everything: Vec<Vec<usize>> = vec![Vec::new(); candidates.len()];
    let (all_e, all_p) = kept_points(&everything);
    let mut drops = choose(all_e, all_p);
    let (mut qe, mut qp) = kept_points(&drops);
    for _ in 0..64 {
        let next = choose(qe, qp);
        let (ne, np) = kept_points(&next);
        drops = next;
        // ne/np > qe/qp, both denominators positive.
        if ne.saturating_mul(qp) > qe.saturating_mul(np) {
            (qe, qp) = (ne, np);
        } else {
            break;
        }
    }
    candidates
        .iter()
        .zip(drops)
        .map(|((items, _), dropped)| dropped.into_iter().map(|i| items[i].id).collect())
        .collect()
}

impl StudentAverage {
    /// The average in sentences a teacher can read to a parent.
    pub fn explain(&self, rules: &GradingRules) -> Vec<String> {
        let mut lines = Vec::new();
        let (Some(percent), Some(text)) = (self.percent, self.percent_text.as_deref()) else {
            lines.push("No graded work counts yet.".to_owned());
            if self.categories.iter().any(|c| c.extra_credit_only) {
                lines.push(
                    "Extra credit is added to an average, so it shows once other work is graded."
                        .to_owned(),
                );
            }
            return lines;
        };
        let shown = |c: &CategoryBreakdown| c.percent_text.clone().unwrap_or_default();
        if self.weighted {
            let mut parts: Vec<String> = self
                .categories
                .iter()
                .filter_map(|c| {
                    Some(format!(
                        "{} {}% × {}%",
                        c.title,
                        shown(c),
                        format_score(c.effective_weight_percent?)
                    ))
                })
                .collect();
            if self.extra_credit_points != 0.0 {
                parts.push(format!(
                    "{} extra credit",
                    format_score(self.extra_credit_points)
                ));
            }
            lines.push(format!(
                "Weighted by category: {} = {text}%.",
                parts.join(" + ")
            ));
            if let Some(line) = self.scaling_line(rules) {
                lines.push(line);
            }
        } else {
            let earned: f64 = self.categories.iter().map(|c| c.earned).sum();
            let possible: f64 = self.categories.iter().map(|c| c.possible).sum();
            lines.push(format!(
                "Total points: {} of {} = {text}%.",
                format_score(earned),
                format_score(possible),
            ));
        }
        if let Some(unrounded) = self.unrounded_percent {
            let exact = format_decimals(unrounded, 4);
            if exact != *text {
                let places = rules.precision.min(MAX_PRECISION);
                lines.push(format!(
                    "{exact}% {} to {places} decimal place{}: {text}%.",
                    rules.rounding.words(),
                    if places == 1 { "" } else { "s" }
                ));
            }
        }
        for c in &self.categories {
            let mut line = if c.extra_credit_only {
                format!(
                    "{}: {} points of extra credit",
                    c.title,
                    format_score(c.earned)
                )
            } else {
                format!(
                    "{}: {} of {} points",
                    c.title,
                    format_score(c.earned),
                    format_score(c.possible)
                )
            };
            if !c.dropped.is_empty() {
                line.push_str(&format!(", lowest dropped: {}", c.dropped.join(", ")));
            }
            if self.weighted {
                if c.extra_credit_only {
                    line.push_str(&format!(
                        " (no points possible), added to the average as {} percentage points",
                        format_score(c.earned)
                    ));
                    if c.weight_percent.is_some_and(|w| w > 0.0) {
                        line.push_str("; its weight is not used");
                    }
                } else if c.percent.is_some() && c.effective_weight_percent.is_none() {
                    line.push_str(", not counted: it has no weight in this class");
                }
            }
            line.push('.');
            lines.push(line);
        }
        if !self.exempt.is_empty() {
            lines.push(format!("Exempt, left out: {}.", self.exempt.join(", ")));
        }
        if !self.missing.is_empty() {
            let how = if rules.missing_counts_as_zero {
                "counted as zero"
            } else {
                "left out"
            };
            lines.push(format!("Missing, {how}: {}.", self.missing.join(", ")));
        }
        if let Some(grade) = rules.scale.letter(percent) {
            let letter = grade.letter.trim();
            lines.push(format!(
                "{text}% is {} {letter} ({letter} from {}%).",
                article(letter),
                format_score(grade.min_percent)
            ));
        }
        lines
    }

    /// Why the weights used differ from the weights set, when they do.
    fn scaling_line(&self, rules: &GradingRules) -> Option<String> {
        let used: Vec<&CategoryBreakdown> = self
            .categories
            .iter()
            .filter(|c| c.effective_weight_percent.is_some())
            .collect();
        let changed: Vec<String> = used
            .iter()
            .filter_map(|c| {
                let (set, now) = (c.weight_percent?, c.effective_weight_percent?);
                (format_score(set) != format_score(now)).then(|| {
                    format!(
                        "{} {}% → {}%",
                        c.title,
                        format_score(set),
                        format_score(now)
                    )
                })
            })
            .collect();
        if changed.is_empty() {
            return None;
        }
        // Weighted groups of the rules with no counted work for this student.
        let present: HashSet<Option<&str>> =
            used.iter().map(|c| c.category_id.as_deref()).collect();
        let mut weighted_rules: Vec<&CategoryRule> = rules
            .categories
            .iter()
            .filter(|r| r.weight_percent > 0.0 && !present.contains(&Some(r.category_id.as_str())))
            .collect();
        // In the groups' order (by id), not the order the rules were saved in.
        weighted_rules.sort_by(|a, b| a.category_id.cmp(&b.category_id));
        let mut empty: Vec<String> = weighted_rules
            .into_iter()
            .map(|r| {
                let district = self
                    .categories
                    .iter()
                    .find(|c| c.category_id.as_deref() == Some(r.category_id.as_str()))
                    .map(|c| c.title.as_str());
                format!(
                    "{} ({}%)",
                    human_title(Some(&r.title), district),
                    format_score(r.weight_percent)
                )
            })
            .collect();
        if rules.uncategorised.weight_percent > 0.0 && !present.contains(&None) {
            empty.push(format!(
                "{UNCATEGORISED_TITLE} ({}%)",
                format_score(rules.uncategorised.weight_percent)
            ));
        }
        let why = match empty.len() {
            0 => "because the weights set do not add up to 100%".to_owned(),
            1 => format!("because {} has no scores yet", empty[0]),
            _ => format!("because {} have no scores yet", join_and(&empty)),
        };
        Some(format!("Weights scaled up {why}: {}.", changed.join(", ")))
    }
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Up to `places` decimals, trailing zeros trimmed.
fn format_decimals(value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(id: &str, category: &str, max: f64) -> ItemInfo {
        ItemInfo {
            id: id.to_owned(),
            title: format!("Item {id}"),
            category_id: Some(category.to_owned()),
            category_title: None,
            max_points: max,
        }
    }

    fn uncategorised(id: &str, max: f64) -> ItemInfo {
        ItemInfo {
            category_id: None,
            ..item(id, "", max)
        }
    }

    fn score(s: f64) -> CellValue {
        CellValue {
            score: Some(s),
            ..CellValue::default()
        }
    }

    fn mark(m: Mark) -> CellValue {
        CellValue {
            mark: Some(m),
            ..CellValue::default()
        }
    }

    fn rule(id: &str, weight: f64, drop: u32) -> CategoryRule {
        CategoryRule {
            category_id: id.to_owned(),
            title: id.to_owned(),
            weight_percent: weight,
            drop_lowest: drop,
        }
    }

    fn cells(pairs: &[(&str, CellValue)]) -> HashMap<String, CellValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn weighted(categories: Vec<CategoryRule>) -> GradingRules {
        GradingRules {
            categories,
            ..GradingRules::default()
        }
    }

    #[test]
    fn total_points_without_weights() {
        let items = [item("a", "hw", 10.0), item("b", "hw", 20.0)];
        let avg = student_average(
            &GradingRules::default(),
            &items,
            &cells(&[("a", score(5.0)), ("b", score(20.0))]),
        );
        assert_eq!(avg.unrounded_percent, Some(25.0 / 30.0 * 100.0));
        assert_eq!(avg.percent, Some(83.3));
        assert_eq!(avg.percent_text.as_deref(), Some("83.3"));
        assert_eq!(avg.letter.as_deref(), Some("B"));
        assert!(!avg.weighted);
    }

    #[test]
    fn weights_drop_lowest_missing_and_exempt_each_apply() {
        let items = [
            item("h1", "hw", 10.0),
            item("h2", "hw", 10.0),
            item("h3", "hw", 10.0),
            item("t1", "test", 100.0),
            item("t2", "test", 100.0),
        ];
        let rules = weighted(vec![rule("hw", 40.0, 1), rule("test", 60.0, 0)]);
        let grades = cells(&[
            ("h1", score(10.0)),
            ("h2", score(2.0)),
            ("h3", score(8.0)),
            ("t1", score(90.0)),
            ("t2", mark(Mark::Exempt)),
        ]);
        let avg = student_average(&rules, &items, &grades);
        // hw: 2 dropped → 18/20 = 90%; test: 90%. 0.4·90 + 0.6·90 = 90.
        assert_eq!(avg.percent, Some(90.0));
        assert_eq!(avg.categories[0].dropped, vec!["Item h2".to_owned()]);
        assert_eq!(avg.exempt, vec!["Item t2".to_owned()]);

        // Missing counts as zero by default; the setting leaves it out instead.
        let missing = cells(&[("t1", score(90.0)), ("t2", mark(Mark::Missing))]);
        assert_eq!(
            student_average(&rules, &items, &missing).percent,
            Some(45.0)
        );
        let lenient = GradingRules {
            missing_counts_as_zero: false,
            ..rules.clone()
        };
        assert_eq!(
            student_average(&lenient, &items, &missing).percent,
            Some(90.0)
        );
        let text = student_average(&rules, &items, &grades).explain(&rules);
        assert!(text[0].starts_with("Weighted by category"), "{text:?}");
        assert!(text.iter().any(|l| l.contains("lowest dropped: Item h2")));
        assert!(
            text.iter().any(|l| l == "90.0% is an A (A from 90%)."),
            "{text:?}"
        );
    }

    #[test]
    fn the_last_score_of_a_category_is_never_dropped() {
        let items = [item("a", "hw", 10.0)];
        let rules = weighted(vec![rule("hw", 100.0, 3)]);
        let avg = student_average(&rules, &items, &cells(&[("a", score(4.0))]));
        assert_eq!(avg.percent, Some(40.0));
    }

    #[test]
    fn extra_credit_counts_and_an_item_average_skips_exempt() {
        let items = [item("a", "hw", 10.0), item("bonus", "hw", 0.0)];
        let avg = student_average(
            &GradingRules::default(),
            &items,
            &cells(&[("a", score(9.0)), ("bonus", score(2.0))]),
        );
        assert_eq!(avg.percent, Some(110.0));
        let values = [
            score(10.0),
            score(5.0),
            mark(Mark::Exempt),
            mark(Mark::Missing),
        ];
        let mean = item_average(&GradingRules::default(), &items[0], &values);
        assert_eq!(mean.counted, 3);
        assert_eq!(mean.percent, Some(50.0));
        assert_eq!(mean.percent_text.as_deref(), Some("50.0"));
    }

    // Issue 18: 89.96% showed "90%" in the grid and "B" as its letter.
    #[test]
    fn the_percent_its_text_and_the_letter_are_one_rounded_value() {
        let items = [item("a", "hw", 10_000.0)];
        let grades = cells(&[("a", score(8996.0))]);
        let half_up = student_average(&GradingRules::default(), &items, &grades);
        assert_eq!(half_up.percent, Some(90.0));
        assert_eq!(half_up.percent_text.as_deref(), Some("90.0"));
        assert_eq!(half_up.letter.as_deref(), Some("A"));
        assert!(
            half_up
                .explanation
                .iter()
                .any(|l| l == "89.96% rounded half up to 1 decimal place: 90.0%."),
            "{:?}",
            half_up.explanation
        );
        assert!(
            half_up
                .explanation
                .iter()
                .any(|l| l.starts_with("90.0% is an A"))
        );

        let truncate = GradingRules {
            rounding: Rounding::Truncate,
            ..GradingRules::default()
        };
        let cut = student_average(&truncate, &items, &grades);
        assert_eq!(
            (
                cut.percent,
                cut.percent_text.as_deref(),
                cut.letter.as_deref()
            ),
            (Some(89.9), Some("89.9"), Some("B"))
        );
        let two = GradingRules {
            precision: 2,
            ..GradingRules::default()
        };
        let exact = student_average(&two, &items, &grades);
        assert_eq!(exact.percent_text.as_deref(), Some("89.96"));
        assert_eq!(exact.letter.as_deref(), Some("B"));
        let whole = GradingRules {
            precision: 0,
            ..GradingRules::default()
        };
        assert_eq!(
            student_average(&whole, &items, &grades)
                .percent_text
                .as_deref(),
            Some("90")
        );
    }

    #[test]
    fn rounding_is_decimal_as_on_paper() {
        let rules = GradingRules::default();
        // 89.95 and 0.15 are held a hair below in binary; a teacher rounds them up.
        assert_eq!(rules.percent_text(89.95), "90.0");
        assert_eq!(rules.percent_text(89.94999), "89.9");
        assert_eq!(rules.percent_text(100.0 * 0.8995), "90.0");
        assert_eq!(rules.percent_text(0.0), "0.0");
        let two = GradingRules {
            precision: 2,
            ..GradingRules::default()
        };
        assert_eq!(two.percent_text(1.005), "1.01");
        let cut = GradingRules {
            rounding: Rounding::Truncate,
            ..GradingRules::default()
        };
        // 29.999999999999996 is 30 computed with noise: truncating keeps it 30.
        assert_eq!(cut.percent_text(0.1 * 3.0 * 100.0), "30.0");
        assert_eq!(cut.percent_text(89.99), "89.9");
    }

    #[test]
    fn rules_saved_before_rounding_existed_still_read() {
        let old = r#"{"categories":[{"categoryId":"hw","title":"Homework","weightPercent":100.0,"dropLowest":1}],
            "missingCountsAsZero":false,
            "scale":{"grades":[{"letter":"P","minPercent":50.0},{"letter":"F","minPercent":0.0}]}}"#;
        let rules: GradingRules = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.precision, DEFAULT_PRECISION);
        assert_eq!(rules.rounding, Rounding::HalfUp);
        assert_eq!(rules.uncategorised, UncategorisedRule::default());
        assert!(!rules.missing_counts_as_zero);
        assert_eq!(rules.categories[0].drop_lowest, 1);
        // And what is saved now reads back as it was.
        let now = GradingRules {
            precision: 2,
            rounding: Rounding::Truncate,
            uncategorised: UncategorisedRule {
                weight_percent: 10.0,
                drop_lowest: 1,
            },
            ..rules
        };
        let json = serde_json::to_string(&now).unwrap_or_default();
        assert!(json.contains(r#""rounding":"truncate""#), "{json}");
        assert_eq!(serde_json::from_str::<GradingRules>(&json).ok(), Some(now));
    }

    fn scale(grades: &[(&str, f64)]) -> LetterScale {
        LetterScale {
            grades: grades
                .iter()
                .map(|(l, m)| LetterGrade {
                    letter: (*l).to_owned(),
                    min_percent: *m,
                })
                .collect(),
        }
    }

    fn error(result: Result<(), GradebookError>) -> String {
        match result {
            Ok(()) => "accepted".to_owned(),
            Err(e) => {
                assert_eq!(e.code(), rollbook_error_code::ErrorCode::GradeInvalid);
                e.to_string()
            }
        }
    }

    #[test]
    fn a_letter_scale_is_checked_with_words_a_teacher_understands() {
        assert_eq!(error(LetterScale::default().validate()), "accepted");
        let custom = scale(&[("A+", 97.0), ("A", 93.0), ("Pass", 60.0), ("Fail", 0.0)]);
        assert_eq!(error(custom.validate()), "accepted");
        let cases = [
            (scale(&[]), "The letter scale needs at least one letter."),
            (
                scale(&[("A", 90.0), ("B", 90.0), ("F", 0.0)]),
                "Each letter needs a lower minimum than the one above it: B (90%) is not below A (90%).",
            ),
            (
                scale(&[("B", 80.0), ("A", 90.0), ("F", 0.0)]),
                "Each letter needs a lower minimum than the one above it: A (90%) is not below B (80%).",
            ),
            (
                scale(&[("A", 90.0), ("a", 80.0), ("F", 0.0)]),
                "The letter \u{201c}a\u{201d} is on the scale twice.",
            ),
            (
                scale(&[("A", 90.0), (" ", 80.0), ("F", 0.0)]),
                "Letter 2 of the scale has no name.",
            ),
            (
                scale(&[("A", 90.0), ("D", 60.0)]),
                "The last letter (D) must start at 0%, so every average gets a letter.",
            ),
            (
                scale(&[("A", 120.0), ("F", 0.0)]),
                "The minimum of A must be between 0% and 100%.",
            ),
            (
                scale(&[("A", f64::NAN), ("F", 0.0)]),
                "The minimum of A must be between 0% and 100%.",
            ),
        ];
        for (scale, words) in cases {
            assert_eq!(error(scale.validate()), words, "{scale:?}");
            let rules = GradingRules {
                scale,
                ..GradingRules::default()
            };
            assert_eq!(error(rules.validate()), words);
        }
    }

    #[test]
    fn weights_including_uncategorised_must_add_up_and_precision_is_bounded() {
        let mut rules = weighted(vec![rule("hw", 40.0, 0), rule("test", 50.0, 0)]);
        assert_eq!(
            error(rules.validate()),
            "Category weights must add up to 100% (they add up to 90%), or all be 0 to average total points."
        );
        rules.uncategorised.weight_percent = 10.0;
        assert_eq!(error(rules.validate()), "accepted");
        rules.categories[0].weight_percent = -5.0;
        assert_eq!(
            error(rules.validate()),
            "The weight of hw must be between 0% and 100%."
        );
        rules.categories[0].title = String::new();
        assert_eq!(
            error(rules.validate()),
            "The weight of Untitled category must be between 0% and 100%."
        );
        let places = GradingRules {
            precision: 4,
            ..GradingRules::default()
        };
        assert_eq!(
            error(places.validate()),
            "Averages can show 0 to 3 decimal places, not 4."
        );
        assert_eq!(error(GradingRules::default().validate()), "accepted");
    }

    // Issue 18: ties went to the item whose id sorts first. Dropping the 10-point item
    // (50%) leaves 23/30; dropping the 20-point one (also 50%) leaves 28/40... no: it
    // leaves 15/20 + 18/20. The best is the one that leaves the highest percent.
    #[test]
    fn a_tie_in_percent_drops_the_item_whose_dropping_leaves_the_highest_average() {
        let items = [
            item("a-small", "hw", 10.0),
            item("b-big", "hw", 20.0),
            item("c", "hw", 20.0),
        ];
        let grades = cells(&[
            ("a-small", score(5.0)),
            ("b-big", score(10.0)),
            ("c", score(18.0)),
        ]);
        // Dropping a-small leaves 28/40 = 70%; dropping b-big leaves 23/30 = 76.7%.
        for rules in [
            weighted(vec![rule("hw", 100.0, 1)]),
            GradingRules {
                categories: vec![rule("hw", 0.0, 1)],
                ..GradingRules::default()
            },
        ] {
            let avg = student_average(&rules, &items, &grades);
            assert_eq!(avg.categories[0].dropped, vec!["Item b-big".to_owned()]);
            assert_eq!(avg.percent, Some(76.7));
        }
        // Not the lowest percent, when points say otherwise: 0/1 costs nothing to keep.
        let items = [
            item("tiny", "hw", 1.0),
            item("big", "hw", 100.0),
            item("c", "hw", 100.0),
        ];
        let grades = cells(&[
            ("tiny", score(0.0)),
            ("big", score(40.0)),
            ("c", score(90.0)),
        ]);
        let avg = student_average(&weighted(vec![rule("hw", 100.0, 1)]), &items, &grades);
        assert_eq!(avg.categories[0].dropped, vec!["Item big".to_owned()]);
        // Truly equal choices: the id that sorts first goes, whatever the order given.
        let items = [
            item("y", "hw", 10.0),
            item("x", "hw", 10.0),
            item("z", "hw", 10.0),
        ];
        let grades = cells(&[("x", score(5.0)), ("y", score(5.0)), ("z", score(9.0))]);
        let avg = student_average(&weighted(vec![rule("hw", 100.0, 1)]), &items, &grades);
        assert_eq!(avg.categories[0].dropped, vec!["Item x".to_owned()]);
    }

    // Issue 18: a category holding only extra credit lost its points under weights.
    #[test]
    fn an_extra_credit_only_category_adds_its_points_to_a_weighted_average() {
        let items = [
            item("h1", "hw", 20.0),
            item("t1", "test", 100.0),
            item("b1", "bonus", 0.0),
        ];
        let rules = weighted(vec![
            rule("hw", 40.0, 0),
            rule("test", 60.0, 0),
            rule("bonus", 0.0, 0),
        ]);
        let grades = cells(&[("h1", score(18.0)), ("t1", score(85.0)), ("b1", score(3.0))]);
        let avg = student_average(&rules, &items, &grades);
        // 0.4·90 + 0.6·85 = 87, plus 3 points of extra credit.
        assert_eq!(avg.percent, Some(90.0));
        assert_eq!(avg.letter.as_deref(), Some("A"));
        assert_eq!(avg.extra_credit_points, 3.0);
        let bonus = avg.categories.iter().find(|c| c.title == "bonus");
        assert!(bonus.is_some_and(|c| c.extra_credit_only));
        assert_eq!(
            avg.explanation[0],
            "Weighted by category: hw 90.0% × 40% + test 85.0% × 60% + 3 extra credit = 90.0%."
        );
        assert!(
            avg.explanation.iter().any(|l| l
                == "bonus: 3 points of extra credit (no points possible), added to the average as 3 percentage points."),
            "{:?}",
            avg.explanation
        );
        // A score over the maximum stays in its own category, above 100%.
        let over = cells(&[("h1", score(22.0)), ("t1", score(85.0))]);
        assert_eq!(student_average(&rules, &items, &over).percent, Some(95.0));
        // Extra credit alone is no average.
        let alone = student_average(&rules, &items, &cells(&[("b1", score(3.0))]));
        assert_eq!(alone.percent, None);
        assert_eq!(alone.explanation.len(), 2, "{:?}", alone.explanation);
    }

    // Issue 18: uncategorised work silently left a weighted average.
    #[test]
    fn uncategorised_work_in_a_weighted_class_is_a_group_of_its_own() {
        let items = [item("h1", "hw", 10.0), uncategorised("u1", 10.0)];
        let grades = cells(&[("h1", score(8.0)), ("u1", score(4.0))]);
        let mut rules = weighted(vec![rule("hw", 100.0, 0)]);
        let avg = student_average(&rules, &items, &grades);
        assert_eq!(avg.percent, Some(80.0));
        assert_eq!(avg.unweighted, vec![UNCATEGORISED_TITLE.to_owned()]);
        assert!(
            avg.explanation.iter().any(|l| l
                == "Uncategorised: 4 of 10 points, not counted: it has no weight in this class."),
            "{:?}",
            avg.explanation
        );
        rules.categories[0].weight_percent = 75.0;
        rules.uncategorised.weight_percent = 25.0;
        let avg = student_average(&rules, &items, &grades);
        // 0.75·80 + 0.25·40 = 70.
        assert_eq!(avg.percent, Some(70.0));
        assert_eq!(
            avg.categories.last().map(|c| c.category_id.clone()),
            Some(None)
        );
        assert!(
            avg.explanation[0].contains("Uncategorised 40.0% × 25%"),
            "{:?}",
            avg.explanation
        );
        // Total points: uncategorised work simply counts.
        let points = student_average(&GradingRules::default(), &items, &grades);
        assert_eq!(points.percent, Some(60.0));
    }

    #[test]
    fn the_explanation_names_categories_and_says_why_weights_changed() {
        let items = [
            ItemInfo {
                category_title: Some("Homework".into()),
                ..item("h1", "cat-homework", 10.0)
            },
            item("q1", "cat-quiz", 10.0),
            item("t1", "cat-test", 10.0),
        ];
        let rules = weighted(vec![
            CategoryRule {
                title: String::new(),
                ..rule("cat-homework", 20.0, 0)
            },
            CategoryRule {
                title: " ".into(),
                ..rule("cat-quiz", 10.0, 0)
            },
            CategoryRule {
                title: "Tests".into(),
                ..rule("cat-test", 70.0, 0)
            },
        ]);
        let avg = student_average(
            &rules,
            &items,
            &cells(&[("h1", score(5.0)), ("q1", score(0.0))]),
        );
        let text = avg.explanation.join("\n");
        assert!(!text.contains("cat-"), "{text}");
        assert!(text.contains("Homework 50.0% × 66.67%"), "{text}");
        assert!(text.contains("Untitled category 0.0% × 33.33%"), "{text}");
        assert!(
            text.contains(
                "Weights scaled up because Tests (70%) has no scores yet: Homework 20% → 66.67%, Untitled category 10% → 33.33%."
            ),
            "{text}"
        );
        assert!(text.contains("33.3% is an F (F from 0%)."), "{text}");
    }

    #[test]
    fn the_article_follows_how_the_letter_is_said() {
        for letter in [
            "A",
            "E",
            "F",
            "H",
            "I",
            "L",
            "M",
            "N",
            "O",
            "R",
            "S",
            "X",
            "A+",
            "F-",
            "Excellent",
        ] {
            assert_eq!(article(letter), "an", "{letter}");
        }
        for letter in ["B", "C", "D", "U", "B+", "Pass", "Satisfactory", ""] {
            assert_eq!(article(letter), "a", "{letter}");
        }
    }

    // Issue 18: class averages counted students no longer enrolled.
    #[test]
    fn class_averages_count_only_the_roster() {
        let items = [item("a", "hw", 10.0)];
        let (stays, left) = (score(8.0), score(0.0));
        let averages = class_averages(
            &GradingRules::default(),
            &items,
            &["s1"],
            [("s1", "a", &stays), ("gone", "a", &left)],
        );
        assert_eq!(averages.items[0].percent, Some(80.0));
        assert_eq!(averages.items[0].counted, 1);
        assert_eq!(averages.students.len(), 1);
        assert_eq!(averages.class.percent, Some(80.0));
        assert_eq!(averages.class.letter.as_deref(), Some("B"));
        assert_eq!(averages.class.counted, 1);
    }

    #[test]
    fn the_class_average_is_the_mean_of_the_averages_shown() {
        let items = [item("a", "hw", 3.0)];
        let (one, two) = (score(1.0), score(2.0));
        let averages = class_averages(
            &GradingRules::default(),
            &items,
            &["s1", "s2", "s3"],
            [("s1", "a", &one), ("s2", "a", &two)],
        );
        // 33.3 and 66.7 shown; s3 has no average and is not counted.
        assert_eq!(averages.class.percent_text.as_deref(), Some("50.0"));
        assert_eq!(averages.class.counted, 2);
        assert_eq!(averages.students[2].percent, None);
    }

    fn arbitrary_cell() -> impl Strategy<Value = CellValue> {
        prop_oneof![
            4 => (0u32..=120).prop_map(|s| score(f64::from(s) / 2.0)),
            1 => Just(mark(Mark::Missing)),
            1 => Just(mark(Mark::Exempt)),
            1 => (0u32..=60).prop_map(|s| CellValue { score: Some(f64::from(s)), mark: Some(Mark::Late), comment: None }),
            1 => Just(CellValue::default()),
        ]
    }

    const CATEGORIES: [&str; 3] = ["hw", "quiz", "test"];

    fn arbitrary_class() -> impl Strategy<Value = (Vec<ItemInfo>, Vec<CellValue>, GradingRules)> {
        (1usize..12)
            .prop_flat_map(move |n| {
                (
                    proptest::collection::vec((0usize..4, 0u32..=60), n),
                    proptest::collection::vec(arbitrary_cell(), n),
                    proptest::collection::vec((0u32..=100, 0u32..3), 4),
                    any::<bool>(),
                    (0u8..=3, any::<bool>()),
                )
            })
            .prop_map(move |(shape, cells, weights, zero, (precision, cut))| {
                let items = shape
                    .iter()
                    .enumerate()
                    .map(|(i, (c, max))| {
                        let id = format!("i{i:02}");
                        match CATEGORIES.get(*c) {
                            Some(category) => item(&id, category, f64::from(*max)),
                            None => uncategorised(&id, f64::from(*max)),
                        }
                    })
                    .collect();
                let rules = GradingRules {
                    categories: CATEGORIES
                        .iter()
                        .zip(&weights)
                        .map(|(c, (w, d))| rule(c, f64::from(*w), *d))
                        .collect(),
                    missing_counts_as_zero: zero,
                    scale: LetterScale::default(),
                    precision,
                    rounding: if cut {
                        Rounding::Truncate
                    } else {
                        Rounding::HalfUp
                    },
                    uncategorised: UncategorisedRule {
                        weight_percent: f64::from(weights[3].0),
                        drop_lowest: weights[3].1,
                    },
                };
                (items, cells, rules)
            })
    }

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-9 * x.abs().max(1.0),
            (None, None) => true,
            _ => false,
        }
    }

    fn grades_of(items: &[ItemInfo], values: &[CellValue]) -> HashMap<String, CellValue> {
        items
            .iter()
            .map(|i| i.id.clone())
            .zip(values.iter().cloned())
            .collect()
    }

    /// Every way of dropping `k` of the items with points possible (small inputs only).
    fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
        (0u32..(1 << n))
            .filter(|m| m.count_ones() as usize == k)
            .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
            .collect()
    }

    fn ratio(counted: &[(f64, f64)], dropped: &[usize]) -> f64 {
        let kept = counted
            .iter()
            .enumerate()
            .filter(|(i, _)| !dropped.contains(i));
        let (e, p) = kept.fold((0.0, 0.0), |(e, p), (_, (ce, cp))| (e + ce, p + cp));
        e / p
    }

    proptest! {
        #[test]
        fn the_order_of_items_and_cells_does_not_matter(
            (items, values, rules) in arbitrary_class(),
            seed in any::<u64>(),
        ) {
            let grades = grades_of(&items, &values);
            let before = student_average(&rules, &items, &grades);
            let mut shuffled = items.clone();
            let len = shuffled.len();
            for i in 0..len {
                let j = usize::try_from((seed.rotate_left(u32::try_from(i).unwrap_or(0)) ^ i as u64) % len as u64).unwrap_or(0);
                shuffled.swap(i, j);
            }
            let mut rules_shuffled = rules.clone();
            rules_shuffled.categories.reverse();
            let after = student_average(&rules_shuffled, &shuffled, &grades);
            prop_assert!(close(before.unrounded_percent, after.unrounded_percent), "{:?} vs {:?}", before.percent, after.percent);
            prop_assert_eq!(&before.percent_text, &after.percent_text);
            prop_assert_eq!(&before.explanation, &after.explanation);
            let mut reversed = values.clone();
            reversed.reverse();
            prop_assert_eq!(
                item_average(&rules, &items[0], &values).percent_text,
                item_average(&rules, &items[0], &reversed).percent_text
            );
        }

        #[test]
        fn an_exempt_cell_changes_nothing(
            (items, values, rules) in arbitrary_class(),
            max in 1u32..=50,
            category in 0usize..3,
        ) {
            let mut grades = grades_of(&items, &values);
            let before = student_average(&rules, &items, &grades);
            let mut more = items.clone();
            more.push(item("zz-new", CATEGORIES[category], f64::from(max)));
            grades.insert("zz-new".into(), mark(Mark::Exempt));
            let after = student_average(&rules, &more, &grades);
            prop_assert!(close(before.unrounded_percent, after.unrounded_percent));
            prop_assert_eq!(before.letter, after.letter);
        }

        #[test]
        fn effective_weights_add_up_to_one_hundred(
            (items, values, rules) in arbitrary_class(),
        ) {
            let avg = student_average(&rules, &items, &grades_of(&items, &values));
            if avg.weighted && avg.percent.is_some() {
                let sum: f64 = avg.categories.iter().filter_map(|c| c.effective_weight_percent).sum();
                prop_assert!((sum - 100.0).abs() < 1e-9, "weights add up to {}", sum);
            }
            // Never above the best group, never below the worst one (weighted mean), once
            // extra credit is taken off.
            if let (true, Some(p)) = (avg.weighted, avg.unrounded_percent) {
                let used: Vec<f64> = avg.categories.iter().filter(|c| c.effective_weight_percent.is_some()).filter_map(|c| c.percent).collect();
                let lo = used.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = used.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let base = p - avg.extra_credit_points;
                prop_assert!(base >= lo - 1e-9 && base <= hi + 1e-9);
            }
        }

        // One value everywhere: the number, its text, the letter and the explanation's
        // words all come from the same rounding.
        #[test]
        fn every_face_of_an_average_shows_the_same_rounded_value(
            (items, values, rules) in arbitrary_class(),
        ) {
            let avg = student_average(&rules, &items, &grades_of(&items, &values));
            match (avg.percent, avg.percent_text.as_deref(), avg.unrounded_percent) {
                (Some(p), Some(text), Some(raw)) => {
                    prop_assert_eq!(text.parse::<f64>().ok(), Some(p));
                    let decimals = text.split('.').nth(1).map_or(0, str::len);
                    prop_assert_eq!(decimals, usize::from(rules.precision));
                    prop_assert_eq!(p, rules.round(raw));
                    let step = 10f64.powi(-i32::from(rules.precision));
                    match rules.rounding {
                        Rounding::HalfUp => prop_assert!((p - raw).abs() <= step / 2.0 + 1e-9),
                        Rounding::Truncate => prop_assert!(raw - p >= -1e-9 && raw - p < step + 1e-9),
                    }
                    let letter = rules.scale.letter(p).map(|g| g.letter.clone());
                    prop_assert_eq!(&avg.letter, &letter);
                    let said = format!("{text}% is {} {}", article(letter.as_deref().unwrap_or("")), letter.unwrap_or_default());
                    prop_assert!(avg.explanation.iter().any(|l| l.starts_with(&said)), "{:?}", avg.explanation);
                    prop_assert!(avg.explanation[0].ends_with(&format!("= {text}%.")), "{:?}", avg.explanation);
                }
                (None, None, None) => prop_assert!(avg.letter.is_none()),
                other => prop_assert!(false, "inconsistent {:?}", other),
            }
        }

        // Under weights, each category's drops leave the highest percent any drop of that
        // many items could (brute force over every choice).
        #[test]
        fn weighted_drops_leave_each_category_at_its_best(
            scores in proptest::collection::vec((0u32..=20, 1u32..=20), 2..8),
            extra in 0u32..4,
            drop in 1u32..4,
        ) {
            let mut items: Vec<ItemInfo> = scores.iter().enumerate().map(|(i, (_, max))| item(&format!("i{i}"), "hw", f64::from(*max))).collect();
            let mut grades: HashMap<String, CellValue> = scores.iter().enumerate().map(|(i, (s, _))| (format!("i{i}"), score(f64::from(*s)))).collect();
            if extra > 0 {
                items.push(item("bonus", "hw", 0.0));
                grades.insert("bonus".into(), score(f64::from(extra)));
            }
            let rules = weighted(vec![rule("hw", 100.0, drop)]);
            let avg = student_average(&rules, &items, &grades);
            let k = usize::try_from(drop).unwrap_or(0).min(scores.len() - 1);
            prop_assert_eq!(avg.categories[0].dropped.len(), k);
            prop_assert!(!avg.categories[0].dropped.contains(&"Item bonus".to_owned()));
            let counted: Vec<(f64, f64)> = scores.iter().map(|(s, m)| (f64::from(*s), f64::from(*m))).chain((extra > 0).then_some((f64::from(extra), 0.0))).collect();
            let best = subsets(scores.len(), k).iter().map(|d| ratio(&counted, d)).fold(f64::NEG_INFINITY, f64::max);
            let got = avg.categories[0].percent.unwrap_or(f64::NAN) / 100.0;
            prop_assert!((got - best).abs() < 1e-12, "got {} best {}", got, best);
        }

        // In total points, the drops of every category together leave the highest total.
        #[test]
        fn total_points_drops_leave_the_total_at_its_best(
            hw in proptest::collection::vec((0u32..=20, 1u32..=20), 1..5),
            tests in proptest::collection::vec((0u32..=100, 1u32..=100), 1..5),
            drops in (0u32..3, 0u32..3),
        ) {
            let mut items = Vec::new();
            let mut grades = HashMap::new();
            for (category, list) in [("hw", &hw), ("test", &tests)] {
                for (i, (s, m)) in list.iter().enumerate() {
                    let id = format!("{category}{i}");
                    items.push(item(&id, category, f64::from(*m)));
                    grades.insert(id, score(f64::from(*s)));
                }
            }
            let rules = GradingRules {
                categories: vec![rule("hw", 0.0, drops.0), rule("test", 0.0, drops.1)],
                ..GradingRules::default()
            };
            let avg = student_average(&rules, &items, &grades);
            let counted: Vec<(f64, f64)> = hw.iter().chain(&tests).map(|(s, m)| (f64::from(*s), f64::from(*m))).collect();
            let kh = usize::try_from(drops.0).unwrap_or(0).min(hw.len() - 1);
            let kt = usize::try_from(drops.1).unwrap_or(0).min(tests.len() - 1);
            let mut best = f64::NEG_INFINITY;
            for dh in subsets(hw.len(), kh) {
                for dt in subsets(tests.len(), kt) {
                    let dropped: Vec<usize> = dh.iter().copied().chain(dt.iter().map(|i| i + hw.len())).collect();
                    best = best.max(ratio(&counted, &dropped));
                }
            }
            let got = avg.unrounded_percent.unwrap_or(f64::NAN) / 100.0;
            prop_assert!((got - best).abs() < 1e-12, "got {} best {}", got, best);
        }
    }
}
