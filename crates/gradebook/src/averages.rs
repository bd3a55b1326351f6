//! Averages a teacher can explain: per student and per line item, with category weights,
//! drop-lowest, exempt and missing work, and a letter-grade scale. Pure functions; the
//! explanation is built from the same numbers the average is.
//!
//! The rules, in the order they apply:
//! 1. Exempt cells, empty cells and incomplete cells without a score are left out.
//! 2. Missing cells count as zero points when `missing_counts_as_zero` (the default),
//!    otherwise they are left out too.
//! 3. In each category, the `drop_lowest` lowest scores (by percent of the item's
//!    maximum) are dropped, but at least one score always stays. Ties go to the item
//!    whose id sorts first, so the order cells arrive in never matters.
//! 4. A category's percent is its points earned over its points possible.
//! 5. With weights, the average is the weighted mean of the categories that have counted
//!    work; their weights are scaled to add up to 100%. Without weights (every weight
//!    zero), it is all points earned over all points possible.
//! 6. The letter is the highest grade on the scale whose minimum the average reaches.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::entry::{CellValue, Mark, format_score};

/// How a class's averages are computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct GradingRules {
    pub categories: Vec<CategoryRule>,
    pub missing_counts_as_zero: bool,
    pub scale: LetterScale,
}

impl Default for GradingRules {
    fn default() -> Self {
        GradingRules {
            categories: Vec::new(),
            missing_counts_as_zero: true,
            scale: LetterScale::default(),
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
    pub fn letter(&self, percent: f64) -> Option<&LetterGrade> {
        // A hair of tolerance: 89.999999 computed from 8999.9999/100 is still an A-
        // boundary case a teacher would call 90.
        self.grades
            .iter()
            .filter(|g| percent + 1e-9 >= g.min_percent)
            .max_by(|a, b| a.min_percent.total_cmp(&b.min_percent))
    }
}

/// What the maths needs to know about a line item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemInfo {
    pub id: String,
    pub title: String,
    pub category_id: Option<String>,
    /// Points possible; zero makes the item extra credit (points earned, none possible).
    pub max_points: f64,
}

/// A student's average, with everything needed to explain it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StudentAverage {
    /// `None` when nothing counts yet.
    pub percent: Option<f64>,
    pub letter: Option<String>,
    pub weighted: bool,
    pub categories: Vec<CategoryBreakdown>,
    /// Line items left out because they are exempt.
    pub exempt: Vec<String>,
    /// Missing line items counted as zero (or left out, per the rules).
    pub missing: Vec<String>,
    /// Categories with counted work that carry no weight (weighted mode only).
    pub unweighted: Vec<String>,
    /// The average in sentences ([`StudentAverage::explain`]), for the window.
    pub explanation: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CategoryBreakdown {
    pub title: String,
    pub earned: f64,
    pub possible: f64,
    pub percent: Option<f64>,
    /// This category's share of the average after scaling (weighted mode), in percent.
    pub effective_weight_percent: Option<f64>,
    /// Titles of the line items dropped as lowest.
    pub dropped: Vec<String>,
    pub counted: u32,
}

struct Counted<'a> {
    item: &'a ItemInfo,
    earned: f64,
}

impl Counted<'_> {
    fn percent(&self) -> f64 {
        if self.item.max_points > 0.0 {
            self.earned / self.item.max_points
        } else {
            f64::INFINITY
        }
    }
}

const UNCATEGORISED: &str = "";

/// The student's average under `rules`, from their cells by line-item id.
pub fn student_average(
    rules: &GradingRules,
    items: &[ItemInfo],
    cells: &HashMap<String, CellValue>,
) -> StudentAverage {
    let mut by_category: BTreeMap<&str, Vec<Counted<'_>>> = BTreeMap::new();
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
        let category = item.category_id.as_deref().unwrap_or(UNCATEGORISED);
        by_category
            .entry(category)
            .or_default()
            .push(Counted { item, earned });
    }

    let rule_of = |id: &str| rules.categories.iter().find(|r| r.category_id == id);
    let weighted = rules.categories.iter().any(|r| r.weight_percent > 0.0);
    let mut breakdowns = Vec::new();
    let mut unweighted = Vec::new();
    let (mut total_earned, mut total_possible) = (0.0, 0.0);
    let mut weighted_parts: Vec<(usize, f64, f64)> = Vec::new(); // (breakdown, weight, percent)
    for (category, mut counted) in by_category {
        let rule = rule_of(category);
        let title = rule.map_or_else(
            || {
                if category == UNCATEGORISED {
                    "No category".to_owned()
                } else {
                    category.to_owned()
                }
            },
            |r| r.title.clone(),
        );
        // Lowest first; ties by id, so the result does not depend on input order.
        counted.sort_by(|a, b| {
            a.percent()
                .total_cmp(&b.percent())
                .then_with(|| a.item.id.cmp(&b.item.id))
        });
        let droppable = counted
            .iter()
            .filter(|c| c.item.max_points > 0.0)
            .count()
            .saturating_sub(1);
        let drop = rule
            .map_or(0, |r| usize::try_from(r.drop_lowest).unwrap_or(usize::MAX))
            .min(droppable);
        let dropped: Vec<String> = counted
            .iter()
            .filter(|c| c.item.max_points > 0.0)
            .take(drop)
            .map(|c| c.item.title.clone())
            .collect();
        let kept: Vec<&Counted<'_>> = {
            let mut skipped = 0;
            counted
                .iter()
                .filter(|c| {
                    if skipped < drop && c.item.max_points > 0.0 {
                        skipped += 1;
                        false
                    } else {
                        true
                    }
                })
                .collect()
        };
        let earned: f64 = kept.iter().map(|c| c.earned).sum();
        let possible: f64 = kept.iter().map(|c| c.item.max_points.max(0.0)).sum();
        let percent = (possible > 0.0).then(|| earned / possible * 100.0);
        total_earned += earned;
        total_possible += possible;
        let weight = rule.map_or(0.0, |r| r.weight_percent.max(0.0));
        if weighted {
            match percent {
                Some(p) if weight > 0.0 => weighted_parts.push((breakdowns.len(), weight, p)),
                _ => unweighted.push(title.clone()),
            }
        }
        breakdowns.push(CategoryBreakdown {
            title,
            earned,
            possible,
            percent,
            effective_weight_percent: None,
            dropped,
            counted: u32::try_from(kept.len()).unwrap_or(u32::MAX),
        });
    }

    let percent = if weighted {
        let weight_sum: f64 = weighted_parts.iter().map(|(_, w, _)| w).sum();
        if weight_sum > 0.0 {
            for (index, weight, _) in &weighted_parts {
                breakdowns[*index].effective_weight_percent = Some(weight / weight_sum * 100.0);
            }
            Some(weighted_parts.iter().map(|(_, w, p)| w * p).sum::<f64>() / weight_sum)
        } else {
            None
        }
    } else {
        (total_possible > 0.0).then(|| total_earned / total_possible * 100.0)
    };
    let mut average = StudentAverage {
        percent,
        letter: percent
            .and_then(|p| rules.scale.letter(p))
            .map(|g| g.letter.clone()),
        weighted,
        categories: breakdowns,
        exempt,
        missing,
        unweighted,
        explanation: Vec::new(),
    };
    average.explanation = average.explain(rules);
    average
}

impl StudentAverage {
    /// The average in sentences a teacher can read to a parent.
    pub fn explain(&self, rules: &GradingRules) -> Vec<String> {
        let mut lines = Vec::new();
        let Some(percent) = self.percent else {
            lines.push("No graded work counts yet.".to_owned());
            return lines;
        };
        if self.weighted {
            let parts: Vec<String> = self
                .categories
                .iter()
                .filter_map(|c| {
                    Some(format!(
                        "{} {}% × {}%",
                        c.title,
                        format_score(c.percent?),
                        format_score(c.effective_weight_percent?)
                    ))
                })
                .collect();
            lines.push(format!(
                "Weighted by category: {} = {}%.",
                parts.join(" + "),
                format_score(percent)
            ));
        } else {
            let earned: f64 = self.categories.iter().map(|c| c.earned).sum();
            let possible: f64 = self.categories.iter().map(|c| c.possible).sum();
            lines.push(format!(
                "Total points: {} of {} = {}%.",
                format_score(earned),
                format_score(possible),
                format_score(percent)
            ));
        }
        for c in &self.categories {
            let mut line = format!(
                "{}: {} of {} points",
                c.title,
                format_score(c.earned),
                format_score(c.possible)
            );
            if !c.dropped.is_empty() {
                line.push_str(&format!(", lowest dropped: {}", c.dropped.join(", ")));
            }
            line.push('.');
            lines.push(line);
        }
        if !self.unweighted.is_empty() {
            lines.push(format!(
                "Not in the average (no weight): {}.",
                self.unweighted.join(", ")
            ));
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
        if let Some(letter) = &self.letter
            && let Some(grade) = rules.scale.grades.iter().find(|g| &g.letter == letter)
        {
            lines.push(format!(
                "{}% is a {letter} ({letter} from {}%).",
                format_score(percent),
                format_score(grade.min_percent)
            ));
        }
        lines
    }
}

/// A line item's class average: the mean percent of the students whose cell counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ItemAverage {
    pub percent: Option<f64>,
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
            mean_points: None,
            counted: 0,
        };
    }
    // Summed in a fixed order, so the mean does not depend on the students' order.
    let mut sorted = points;
    sorted.sort_by(f64::total_cmp);
    let count = sorted.len();
    let mean = sorted.iter().sum::<f64>() / count as f64;
    ItemAverage {
        percent: (item.max_points > 0.0).then(|| mean / item.max_points * 100.0),
        mean_points: Some(mean),
        counted: u32::try_from(count).unwrap_or(u32::MAX),
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
            max_points: max,
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

    #[test]
    fn total_points_without_weights() {
        let items = [item("a", "hw", 10.0), item("b", "hw", 20.0)];
        let avg = student_average(
            &GradingRules::default(),
            &items,
            &cells(&[("a", score(5.0)), ("b", score(20.0))]),
        );
        assert_eq!(avg.percent, Some(25.0 / 30.0 * 100.0));
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
        let rules = GradingRules {
            categories: vec![rule("hw", 40.0, 1), rule("test", 60.0, 0)],
            ..GradingRules::default()
        };
        let grades = cells(&[
            ("h1", score(10.0)),
            ("h2", score(2.0)),
            ("h3", score(8.0)),
            ("t1", score(90.0)),
            ("t2", mark(Mark::Exempt)),
        ]);
        let avg = student_average(&rules, &items, &grades);
        // hw: 2 dropped → 18/20 = 90%; test: 90%. 0.4·90 + 0.6·90 = 90.
        assert_eq!(avg.percent.map(|p| (p * 1e6).round() / 1e6), Some(90.0));
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
        assert!(text.iter().any(|l| l == "90% is a A (A from 90%)."));
    }

    #[test]
    fn the_last_score_of_a_category_is_never_dropped() {
        let items = [item("a", "hw", 10.0)];
        let rules = GradingRules {
            categories: vec![rule("hw", 100.0, 3)],
            ..GradingRules::default()
        };
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
        assert!(close(avg.percent, Some(110.0)), "{:?}", avg.percent);
        let values = [
            score(10.0),
            score(5.0),
            mark(Mark::Exempt),
            mark(Mark::Missing),
        ];
        let mean = item_average(&GradingRules::default(), &items[0], &values);
        assert_eq!(mean.counted, 3);
        assert_eq!(mean.percent, Some(50.0));
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

    fn arbitrary_class() -> impl Strategy<Value = (Vec<ItemInfo>, Vec<CellValue>, GradingRules)> {
        let categories = ["hw", "quiz", "test"];
        (1usize..12)
            .prop_flat_map(move |n| {
                (
                    proptest::collection::vec((0usize..3, 0u32..=60), n),
                    proptest::collection::vec(arbitrary_cell(), n),
                    proptest::collection::vec((0u32..=100, 0u32..3), 3),
                    any::<bool>(),
                )
            })
            .prop_map(move |(shape, cells, weights, zero)| {
                let items = shape
                    .iter()
                    .enumerate()
                    .map(|(i, (c, max))| item(&format!("i{i:02}"), categories[*c], f64::from(*max)))
                    .collect();
                let rules = GradingRules {
                    categories: categories
                        .iter()
                        .zip(weights)
                        .map(|(c, (w, d))| rule(c, f64::from(w), d))
                        .collect(),
                    missing_counts_as_zero: zero,
                    scale: LetterScale::default(),
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

    proptest! {
        #[test]
        fn the_order_of_items_and_cells_does_not_matter(
            (items, values, rules) in arbitrary_class(),
            seed in any::<u64>(),
        ) {
            let grades: HashMap<String, CellValue> =
                items.iter().map(|i| i.id.clone()).zip(values.iter().cloned()).collect();
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
            prop_assert!(close(before.percent, after.percent), "{:?} vs {:?}", before.percent, after.percent);
            let mut reversed = values.clone();
            reversed.reverse();
            prop_assert!(close(
                item_average(&rules, &items[0], &values).percent,
                item_average(&rules, &items[0], &reversed).percent
            ));
        }

        #[test]
        fn an_exempt_cell_changes_nothing(
            (items, values, rules) in arbitrary_class(),
            max in 1u32..=50,
            category in 0usize..3,
        ) {
            let mut grades: HashMap<String, CellValue> =
                items.iter().map(|i| i.id.clone()).zip(values.iter().cloned()).collect();
            let before = student_average(&rules, &items, &grades);
            let mut more = items.clone();
            more.push(item("zz-new", ["hw", "quiz", "test"][category], f64::from(max)));
            grades.insert("zz-new".into(), mark(Mark::Exempt));
            let after = student_average(&rules, &more, &grades);
            prop_assert!(close(before.percent, after.percent));
            prop_assert_eq!(before.letter, after.letter);
        }

        #[test]
        fn effective_weights_add_up_to_one_hundred(
            (items, values, rules) in arbitrary_class(),
        ) {
            let grades: HashMap<String, CellValue> =
                items.iter().map(|i| i.id.clone()).zip(values.iter().cloned()).collect();
            let avg = student_average(&rules, &items, &grades);
            if avg.weighted && avg.percent.is_some() {
                let sum: f64 = avg.categories.iter().filter_map(|c| c.effective_weight_percent).sum();
                prop_assert!((sum - 100.0).abs() < 1e-9, "weights add up to {}", sum);
            }
            // Never above the best category, never below the worst one (weighted mean).
            if let (true, Some(p)) = (avg.weighted, avg.percent) {
                let used: Vec<f64> = avg.categories.iter().filter(|c| c.effective_weight_percent.is_some()).filter_map(|c| c.percent).collect();
                let lo = used.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = used.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(p >= lo - 1e-9 && p <= hi + 1e-9);
            }
        }
    }
}
