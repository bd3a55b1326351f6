//! One student's average: their counted work grouped by category, the drops that leave
//! the highest average, and the weighted (or total-points) result.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::rules::{GradingRules, UNCATEGORISED_TITLE, human_title};
use crate::entry::{CellValue, Mark};

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
    let Work {
        by_group,
        exempt,
        missing,
    } = counted_work(rules, items, cells);
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
    let Tally {
        mut breakdowns,
        unweighted,
        total_earned,
        total_possible,
        weighted_parts,
        extra_credit_points,
    } = tally(rules, weighted, &groups, &drop_sets);

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

/// A student's work that counts, by group, and what was exempt or missing (by title).
struct Work<'a> {
    by_group: BTreeMap<GroupKey<'a>, Vec<Counted<'a>>>,
    exempt: Vec<String>,
    missing: Vec<String>,
}

/// Rules 1 to 3: what counts, at how many points, in which group.
fn counted_work<'a>(
    rules: &GradingRules,
    items: &'a [ItemInfo],
    cells: &HashMap<String, CellValue>,
) -> Work<'a> {
    let mut work = Work {
        by_group: BTreeMap::new(),
        exempt: Vec::new(),
        missing: Vec::new(),
    };
    let mut ordered: Vec<&ItemInfo> = items.iter().collect();
    ordered.sort_by(|a, b| a.id.cmp(&b.id));
    for item in ordered {
        let Some(cell) = cells.get(&item.id) else {
            continue;
        };
        let earned = match (cell.mark, cell.score) {
            (Some(Mark::Exempt), _) => {
                work.exempt.push(item.title.clone());
                continue;
            }
            (Some(Mark::Missing), _) => {
                work.missing.push(item.title.clone());
                if !rules.missing_counts_as_zero {
                    continue;
                }
                0.0
            }
            (_, Some(score)) => score,
            (_, None) => continue,
        };
        work.by_group
            .entry(item.category_id.as_deref())
            .or_default()
            .push(Counted { item, earned });
    }
    work
}

/// The groups after their drops: one breakdown each, the totals, and the weighted parts.
struct Tally {
    breakdowns: Vec<CategoryBreakdown>,
    unweighted: Vec<String>,
    total_earned: f64,
    total_possible: f64,
    /// (breakdown, weight, percent)
    weighted_parts: Vec<(usize, f64, f64)>,
    extra_credit_points: f64,
}

/// Rules 4 to 6 for each group: what is kept, its points and percent, and whether its
/// weight counts.
fn tally(
    rules: &GradingRules,
    weighted: bool,
    groups: &[Group<'_>],
    drop_sets: &[HashSet<&str>],
) -> Tally {
    let mut tally = Tally {
        breakdowns: Vec::new(),
        unweighted: Vec::new(),
        total_earned: 0.0,
        total_possible: 0.0,
        weighted_parts: Vec::new(),
        extra_credit_points: 0.0,
    };
    for (group, dropped_ids) in groups.iter().zip(drop_sets) {
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
        tally.total_earned += earned;
        tally.total_possible += possible;
        if weighted {
            match percent {
                Some(p) if group.weight > 0.0 => {
                    tally
                        .weighted_parts
                        .push((tally.breakdowns.len(), group.weight, p));
                }
                Some(_) => tally.unweighted.push(group.title.clone()),
                None if extra_credit_only => tally.extra_credit_points += earned,
                None => {}
            }
        }
        tally.breakdowns.push(CategoryBreakdown {
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
    tally
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
