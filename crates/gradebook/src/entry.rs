//! What a teacher types into a cell, and how a cell maps onto a OneRoster result.
//!
//! A cell holds a score, a mark, both (a late score), or nothing, plus a comment.
//! OneRoster 1.1 has only `scoreStatus` and `score`; 1.2 adds the `late`, `incomplete`
//! and `missing` flags. A cell is written with both, so a 1.1 server keeps what it can
//! and a 1.2 server keeps everything, and it reads back the same from either.

use rollbook_oneroster::models::{GradeResult, ScoreStatus};
use serde::{Deserialize, Serialize};

use crate::error::GradebookError;

/// A teacher's mark on a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Mark {
    /// Not turned in: counts as zero unless the class's rules say otherwise.
    Missing,
    /// Excused: left out of every average.
    Exempt,
    /// Turned in late: the score counts as it is.
    Late,
    /// Partly done: the score counts as it is; with no score the cell is not counted.
    Incomplete,
}

impl Mark {
    /// The key a teacher types for it (`X` and `E` both mean exempt).
    pub fn key(self) -> char {
        match self {
            Mark::Missing => 'M',
            Mark::Exempt => 'X',
            Mark::Late => 'L',
            Mark::Incomplete => 'I',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mark::Missing => "missing",
            Mark::Exempt => "exempt",
            Mark::Late => "late",
            Mark::Incomplete => "incomplete",
        }
    }

    /// Whether the mark goes with a score (late or incomplete work was scored) rather
    /// than replacing it (missing or exempt work has none).
    fn keeps_score(self) -> bool {
        matches!(self, Mark::Late | Mark::Incomplete)
    }
}

/// One cell of the grid: a student's grade for one line item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CellValue {
    pub score: Option<f64>,
    pub mark: Option<Mark>,
    pub comment: Option<String>,
}

impl CellValue {
    pub fn is_empty(&self) -> bool {
        self.score.is_none() && self.mark.is_none() && self.comment.is_none()
    }

    /// The value after the teacher typed `input` into this cell. The comment stays.
    pub fn with_input(&self, input: CellInput) -> CellValue {
        let comment = self.comment.clone();
        match input {
            CellInput::Clear => CellValue {
                score: None,
                mark: None,
                comment,
            },
            CellInput::Score(score) => CellValue {
                score: Some(score),
                // A late score stays late; a score replaces missing, exempt, incomplete.
                mark: self.mark.filter(|m| *m == Mark::Late),
                comment,
            },
            CellInput::Mark(mark) => CellValue {
                score: if mark.keeps_score() { self.score } else { None },
                mark: Some(mark),
                comment,
            },
        }
    }

    /// The text the grid shows: `85`, `M`, `85 L`.
    pub fn display(&self) -> String {
        let score = self.score.map(format_score);
        match (score, self.mark) {
            (Some(s), Some(m)) => format!("{s} {}", m.key()),
            (Some(s), None) => s,
            (None, Some(m)) => m.key().to_string(),
            (None, None) => String::new(),
        }
    }

    /// The OneRoster `scoreStatus` this cell is written with.
    pub fn score_status(&self) -> ScoreStatus {
        match (self.mark, self.score) {
            (Some(Mark::Exempt), _) => ScoreStatus::Exempt,
            (Some(Mark::Missing), _) => ScoreStatus::NotSubmitted,
            (Some(Mark::Incomplete), _) => ScoreStatus::PartiallyGraded,
            (_, Some(_)) => ScoreStatus::FullyGraded,
            (_, None) => ScoreStatus::Submitted,
        }
    }

    /// The cell as a server's result reads: `scoreStatus`, `score` and the 1.2 flags.
    pub fn from_result(result: &GradeResult) -> CellValue {
        let flags = ResultFlags::of(result);
        let mark = if flags.missing {
            Some(Mark::Missing)
        } else if flags.incomplete {
            Some(Mark::Incomplete)
        } else if flags.late {
            Some(Mark::Late)
        } else {
            match result.score_status {
                ScoreStatus::Exempt => Some(Mark::Exempt),
                ScoreStatus::NotSubmitted => Some(Mark::Missing),
                ScoreStatus::PartiallyGraded => Some(Mark::Incomplete),
                _ => None,
            }
        };
        let score = match mark {
            Some(Mark::Exempt) => None,
            // 1.1 servers need a number; a missing cell is written as 0 and read back
            // without it.
            Some(Mark::Missing) => None,
            _ => result.score,
        };
        CellValue {
            score,
            mark,
            comment: result.comment.clone().filter(|c| !c.is_empty()),
        }
    }
}

/// OneRoster 1.2's flags on a result (`"true"`, or `true` from lenient servers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResultFlags {
    pub late: bool,
    pub incomplete: bool,
    pub missing: bool,
}

impl ResultFlags {
    pub fn of(result: &GradeResult) -> ResultFlags {
        let flag =
            |v: &Option<String>| v.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("true"));
        ResultFlags {
            late: flag(&result.late),
            incomplete: flag(&result.incomplete),
            missing: flag(&result.missing),
        }
    }
}

/// What a keystroke sequence in a cell means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellInput {
    Clear,
    Score(f64),
    Mark(Mark),
}

impl CellInput {
    /// Reads what a teacher typed: a number (a decimal comma is fine), one of the mark
    /// keys `M`, `X`/`E`, `L`, `I`, or nothing (clears the cell).
    pub fn parse(text: &str) -> Result<CellInput, GradebookError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(CellInput::Clear);
        }
        match text.to_ascii_uppercase().as_str() {
            "M" => return Ok(CellInput::Mark(Mark::Missing)),
            "X" | "E" => return Ok(CellInput::Mark(Mark::Exempt)),
            "L" => return Ok(CellInput::Mark(Mark::Late)),
            "I" => return Ok(CellInput::Mark(Mark::Incomplete)),
            _ => {}
        }
        let number: f64 = text
            .replace(',', ".")
            .parse()
            .map_err(|_| GradebookError::BadScore(text.to_owned()))?;
        if !number.is_finite() || number < 0.0 {
            return Err(GradebookError::BadScore(text.to_owned()));
        }
        Ok(CellInput::Score(number))
    }
}

/// A score as the grid shows it: no trailing zeros, at most two decimals.
pub fn format_score(score: f64) -> String {
    let rounded = (score * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_keys_are_scores_marks_or_clear() {
        assert_eq!(CellInput::parse(" 85 ").ok(), Some(CellInput::Score(85.0)));
        assert_eq!(CellInput::parse("8,5").ok(), Some(CellInput::Score(8.5)));
        assert_eq!(
            CellInput::parse("m").ok(),
            Some(CellInput::Mark(Mark::Missing))
        );
        assert_eq!(
            CellInput::parse("E").ok(),
            Some(CellInput::Mark(Mark::Exempt))
        );
        assert_eq!(
            CellInput::parse("X").ok(),
            Some(CellInput::Mark(Mark::Exempt))
        );
        assert_eq!(
            CellInput::parse("L").ok(),
            Some(CellInput::Mark(Mark::Late))
        );
        assert_eq!(
            CellInput::parse("i").ok(),
            Some(CellInput::Mark(Mark::Incomplete))
        );
        assert_eq!(CellInput::parse("").ok(), Some(CellInput::Clear));
        for bad in ["-1", "NaN", "inf", "abc", "1e999"] {
            assert!(CellInput::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_late_score_stays_late_and_missing_drops_the_score() {
        let late = CellValue::default()
            .with_input(CellInput::Score(7.0))
            .with_input(CellInput::Mark(Mark::Late));
        assert_eq!((late.score, late.mark), (Some(7.0), Some(Mark::Late)));
        let rescored = late.with_input(CellInput::Score(8.0));
        assert_eq!(rescored.mark, Some(Mark::Late));
        let missing = rescored.with_input(CellInput::Mark(Mark::Missing));
        assert_eq!((missing.score, missing.mark), (None, Some(Mark::Missing)));
        let scored = missing.with_input(CellInput::Score(5.0));
        assert_eq!((scored.score, scored.mark), (Some(5.0), None));
    }

    #[test]
    fn the_display_is_short() {
        let cell = CellValue {
            score: Some(8.5),
            mark: Some(Mark::Late),
            comment: None,
        };
        assert_eq!(cell.display(), "8.5 L");
        assert_eq!(format_score(10.0), "10");
        assert_eq!(format_score(1.0 / 3.0), "0.33");
    }
}
