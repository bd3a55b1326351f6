//! A class's grading rules: weights, drop-lowest, missing work, the letter scale and
//! rounding, each checked before it is saved.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::entry::format_score;
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
    pub(super) fn words(self) -> &'static str {
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
pub(super) fn human_title(rule_title: Option<&str>, district_title: Option<&str>) -> String {
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
