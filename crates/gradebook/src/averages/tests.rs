//! The averages' rules, case by case, and their properties.

use std::collections::HashMap;

use super::*;
use crate::entry::{CellValue, Mark};
use crate::error::GradebookError;
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
        avg.explanation
            .iter()
            .any(|l| l
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
