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

mod class;
mod explain;
mod rules;
mod student;

pub use class::{ClassAverage, ClassAverages, ItemAverage, class_averages, item_average};
pub use rules::{
    CategoryRule, DEFAULT_PRECISION, GradingRules, LetterGrade, LetterScale, MAX_PRECISION,
    Rounding, UNCATEGORISED_TITLE, UncategorisedRule, article,
};
pub use student::{CategoryBreakdown, ItemInfo, StudentAverage, student_average};

#[cfg(test)]
mod tests;
