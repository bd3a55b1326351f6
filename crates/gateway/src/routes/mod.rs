//! The OneRoster 1.1 surface the app reads, one route per resource under
//! `/ims/oneroster/v1p1`. Every handler starts from a [`Teacher`] (who is calling, in
//! which district, within their rate limit) and asks `scope` before anything goes
//! upstream. Anything not listed is refused.

// Checks return the ready refusal as their error, for the handler to answer at once;
// boxing every one would only add noise on the refusal path.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::get;

use crate::identity::Identities;
use crate::ops::Metrics;
use crate::scope::Scopes;
use crate::tenants::Tenants;

mod answer;
mod creates;
mod probes;
mod reads;
mod teacher;
mod writes;

pub use probes::{health, metrics, ready};
pub use teacher::Teacher;

use reads::{
    class, class_part_of, classes_of_teacher, not_served, read_line_item, read_result, reference,
    school, user,
};
use writes::{delete_line_item, delete_result, put_line_item, put_result};

pub const BASE_PATH: &str = "/ims/oneroster/v1p1";

pub type TeacherLimiter = governor::DefaultKeyedRateLimiter<String>;
pub type AddressLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

/// What every handler shares.
pub struct Shared {
    pub identities: Identities,
    pub tenants: Arc<Tenants>,
    pub scopes: Scopes,
    pub metrics: Arc<Metrics>,
    pub limiter: TeacherLimiter,
    /// Requests each teacher has in flight (`max_in_flight_per_teacher`).
    pub teacher_slots: Arc<crate::teacher_slots::TeacherSlots>,
    /// Sign-in checks per client address, before the provider is asked (`None`: off).
    pub lookups_per_address: Option<AddressLimiter>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("identities", &self.identities)
            .field("tenants", &self.tenants)
            .finish_non_exhaustive()
    }
}

pub fn roster_routes() -> Router<Arc<Shared>> {
    let at = |path: &str| format!("{BASE_PATH}{path}");
    Router::new()
        .route(
            &at("/teachers/{id}/classes"),
            get(classes_of_teacher).fallback(not_served),
        )
        .route(&at("/classes/{id}"), get(class).fallback(not_served))
        .route(&at("/classes/{id}/students"), class_part("students"))
        .route(&at("/classes/{id}/teachers"), class_part("teachers"))
        .route(&at("/classes/{id}/lineItems"), class_part("lineItems"))
        .route(&at("/classes/{id}/results"), class_part("results"))
        .route(&at("/schools/{id}"), get(school).fallback(not_served))
        .route(&at("/users/{id}"), get(user).fallback(not_served))
        .route(&at("/categories"), reference_list("categories"))
        .route(&at("/categories/{id}"), reference_record("categories"))
        .route(&at("/academicSessions"), reference_list("academicSessions"))
        .route(
            &at("/academicSessions/{id}"),
            reference_record("academicSessions"),
        )
        .route(&at("/terms"), reference_list("terms"))
        .route(&at("/terms/{id}"), reference_record("terms"))
        .route(
            &at("/lineItems/{id}"),
            get(read_line_item)
                .put(put_line_item)
                .delete(delete_line_item)
                .fallback(not_served),
        )
        .route(
            &at("/results/{id}"),
            get(read_result)
                .put(put_result)
                .delete(delete_result)
                .fallback(not_served),
        )
        // District-wide lists and everything else under the base: authenticated, then refused.
        .route(&at("/{*rest}"), axum::routing::any(not_served))
        .route(BASE_PATH, axum::routing::any(not_served))
}

pub type Params = HashMap<String, String>;

type Route = axum::routing::MethodRouter<Arc<Shared>>;

/// `GET /classes/{id}/{part}`: a class's students, teachers, line items or results.
fn class_part(part: &'static str) -> Route {
    get(
        move |t: Teacher, Path(id): Path<String>, Query(q): Query<Params>| {
            class_part_of(t, id, q, Some(part))
        },
    )
    .fallback(not_served)
}

/// `GET /{collection}`: a list with no people in it.
fn reference_list(collection: &'static str) -> Route {
    get(move |t: Teacher, q: Query<Params>| reference(t, Vec::new(), q, collection))
        .fallback(not_served)
}

/// `GET /{collection}/{id}`: one record with no people in it.
fn reference_record(collection: &'static str) -> Route {
    get(
        move |t: Teacher, Path(id): Path<String>, q: Query<Params>| {
            reference(t, vec![id], q, collection)
        },
    )
    .fallback(not_served)
}

/// How often idle per-teacher rate-limit state is dropped.
pub const LIMITER_SWEEP: Duration = Duration::from_secs(60);
