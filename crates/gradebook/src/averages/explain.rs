//! The average in sentences, built from the same numbers the average is.

use std::collections::HashSet;

use super::rules::{
    CategoryRule, GradingRules, MAX_PRECISION, UNCATEGORISED_TITLE, article, human_title,
};
use super::student::{CategoryBreakdown, StudentAverage};
use crate::entry::format_score;

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
