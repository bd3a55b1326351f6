//! The [`Teacher`] every handler starts from: the caller authenticated, their
//! district's upstream found, within their rate limit; and what it answers for them
//! (their scope, a refusal, the class a record is in).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use rollbook_oneroster::{GradeResult, LineItem, RosterError};

use crate::error::Denied;
use crate::identity::{Caller, Role};
use crate::ops::Audit;
use crate::scope::{self, Decision, Resource, TeacherScope};
use crate::upstream::Upstream;

use super::{Params, Shared};

/// An authenticated caller with their district's upstream, within their rate limit.
#[derive(Debug)]
pub struct Teacher {
    pub(super) caller: Arc<Caller>,
    pub(super) upstream: Arc<Upstream>,
    pub(super) shared: Arc<Shared>,
    pub(super) audit: Arc<Audit>,
    /// Held while the request is served.
    _slot: crate::teacher_slots::Slot,
}

impl FromRequestParts<Arc<Shared>> for Teacher {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Response> {
        let audit = parts
            .extensions
            .get::<Arc<Audit>>()
            .cloned()
            .unwrap_or_default();
        let refuse = |denied: Denied| {
            audit.update(|a| a.reason = Some(denied.reason()));
            denied.into_response()
        };
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let client = parts
            .extensions
            .get::<crate::client_address::ClientAddress>()
            .map(|c| c.0);
        if let (Some(limiter), Some(client)) = (&shared.lookups_per_address, client)
            && !shared.identities.is_known(authorization).await
            && let Err(not_until) = limiter.check_key(&client)
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(refuse(Denied::RateLimited(wait)));
        }
        let caller = match shared.identities.caller(authorization).await {
            Ok(c) => c,
            Err(crate::identity::IdentityError::InvalidToken(why)) => {
                return Err(refuse(Denied::InvalidToken(why)));
            }
            Err(crate::identity::IdentityError::Unavailable(detail)) => {
                return Err(refuse(Denied::IdentityUnavailable(detail)));
            }
        };
        audit.update(|a| {
            a.tenant = Some(caller.tenant.clone());
            a.teacher = Some(caller.sourced_id.clone());
        });
        let Some(upstream) = shared.tenants.get(&caller.tenant) else {
            return Err(refuse(if shared.tenants.is_ready() {
                Denied::UnknownTenant
            } else {
                Denied::NotReady
            }));
        };
        let key = format!("{}\u{0}{}", caller.tenant, caller.sourced_id);
        if let Err(not_until) = shared.limiter.check_key(&key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(refuse(Denied::RateLimited(wait)));
        }
        let Some(slot) = shared.teacher_slots.take(&key) else {
            return Err(refuse(Denied::RateLimited(std::time::Duration::from_secs(
                1,
            ))));
        };
        Ok(Self {
            caller,
            upstream,
            shared: Arc::clone(shared),
            audit,
            _slot: slot,
        })
    }
}

impl Teacher {
    pub(super) fn deny(&self, denied: Denied) -> Response {
        if let Denied::Upstream(e) = &denied {
            self.shared
                .metrics
                .upstream_error(&self.upstream.tenant, e.code().as_str());
            match &**e {
                RosterError::Unauthorized { .. } => {
                    // A cached client-credentials token the district no longer takes is
                    // dropped, so the next request fetches a new one.
                    self.upstream.credentials_refused();
                    tracing::warn!(
                        tenant = %self.upstream.tenant,
                        "the district's roster server refused the gateway's credentials; check the tenant's auth settings"
                    );
                }
                RosterError::Unreachable(detail) => tracing::warn!(
                    tenant = %self.upstream.tenant,
                    error = %detail,
                    "the district's roster server cannot be reached (a certificate problem is named here; see docs/gateway.md on adding a CA)"
                ),
                _ => {}
            }
        }
        self.audit.update(|a| a.reason = Some(denied.reason()));
        denied.into_response()
    }

    pub(super) fn upstream_failed(&self, error: RosterError) -> Response {
        self.deny(Denied::Upstream(Arc::new(error)))
    }

    pub(super) fn note_class(&self, class: &str) {
        self.audit.update(|a| a.class = Some(class.to_owned()));
    }

    pub(super) async fn scope(&self) -> Result<Arc<TeacherScope>, Response> {
        if self.caller.role != Role::Teacher {
            // No upstream call for someone who may read nothing.
            return Ok(Arc::new(TeacherScope::default()));
        }
        self.shared
            .scopes
            .of_teacher(&self.upstream, &self.caller.sourced_id)
            .await
            .map_err(|e| self.deny(Denied::Upstream(e)))
    }

    /// Allows `resource` or answers the refusal.
    pub(super) async fn allow(&self, resource: Resource<'_>) -> Result<(), Response> {
        let scope = if resource.needs_scope() {
            self.scope().await?
        } else {
            Arc::new(TeacherScope::default())
        };
        match scope::may_read(&self.caller, &scope, resource) {
            Decision::Allow => Ok(()),
            Decision::Deny(why) => Err(self.deny(Denied::Forbidden(why))),
        }
    }

    /// The caller's query as passed upstream (see [`scope::checked_query`]), or the
    /// refusal. `filter` is kept on lists only.
    pub(super) fn query(
        &self,
        params: &Params,
        list: bool,
    ) -> Result<Vec<(String, String)>, Response> {
        scope::checked_query(params, list)
            .map_err(|why| self.deny(Denied::BadRequest(why.to_owned())))
    }

    /// A record read upstream with the gateway's credentials, `None` when it does not exist.
    /// Read before the decision, so a refusal is "no such record" to the teacher: a
    /// district that refuses records outside the schools the gateway may read (403), in
    /// words that may name their class, must not tell which ids exist elsewhere.
    async fn record<T: rollbook_oneroster::Resource>(
        &self,
        segments: &[&str],
    ) -> Result<Option<T>, Response> {
        match self.upstream.roster.get::<T>(segments).await {
            Ok(record) => Ok(Some(record)),
            Err(RosterError::NotFound { .. }) => Ok(None),
            Err(RosterError::Forbidden { .. }) => {
                tracing::warn!(
                    tenant = %self.upstream.tenant,
                    collection = segments.first().copied().unwrap_or_default(),
                    "the district's roster server refused the gateway a record (HTTP 403); the teacher was told there is no such record in their classes"
                );
                Err(self.not_there())
            }
            Err(e) => Err(self.upstream_failed(e)),
        }
    }

    /// The class a line item belongs to, upstream; `None` when it is not there or names
    /// no class.
    pub(super) async fn class_of_line_item(&self, id: &str) -> Result<Option<String>, Response> {
        Ok(match self.existing_line_item(id).await? {
            Existing::In(class) => Some(class),
            Existing::Missing | Existing::ClassUnknown => None,
        })
    }

    /// A line item a PUT names, as [`Existing`].
    pub(super) async fn existing_line_item(&self, id: &str) -> Result<Existing<String>, Response> {
        Ok(match self.record::<LineItem>(&["lineItems", id]).await? {
            None => Existing::Missing,
            Some(li) => match li.class {
                Some(class) => Existing::In(class.sourced_id),
                None => Existing::ClassUnknown,
            },
        })
    }

    /// The caller's classes, for a caller who may have some: anyone but a teacher is
    /// refused here, before any upstream read whose outcome could show in the answer.
    pub(super) async fn teaching_scope(&self) -> Result<Arc<TeacherScope>, Response> {
        if self.caller.role != Role::Teacher {
            return Err(self.deny(Denied::Forbidden(scope::NOT_A_TEACHER)));
        }
        self.scope().await
    }

    /// The one answer for a record that is not there and one that is not the caller's.
    pub(super) fn not_there(&self) -> Response {
        self.deny(Denied::Forbidden(scope::NO_SUCH_RECORD))
    }
}

/// A OneRoster `sourcedId` as a path segment: no separators, dot segments, escapes or
/// control characters, so nothing the caller sends can change which upstream resource
/// is asked for.
pub(super) fn checked_id(teacher: &Teacher, id: &str) -> Result<(), Response> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id != "."
        && id != ".."
        && !id
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '?' | '#' | '%'));
    if ok {
        Ok(())
    } else {
        Err(teacher.deny(Denied::Forbidden(scope::NOT_YOUR_CLASS)))
    }
}

/// What the district holds under an id a PUT names.
pub(super) enum Existing<T> {
    /// Not there: the PUT would create it.
    Missing,
    /// There, in this class (with the record).
    In(T),
    /// There, but its class cannot be told (a line item naming no class, a result whose
    /// line item is gone): never written, since it may be anyone's, and never taken for
    /// a create, which would overwrite it.
    ClassUnknown,
}

/// The class and student of a result, upstream (its class through its line item);
/// `None` when it is not there or its class cannot be told.
pub(super) async fn class_of_result(
    teacher: &Teacher,
    id: &str,
) -> Result<Option<(String, GradeResult)>, Response> {
    Ok(match existing_result(teacher, id).await? {
        Existing::In(found) => Some(found),
        Existing::Missing | Existing::ClassUnknown => None,
    })
}

/// A result a PUT names, as [`Existing`].
pub(super) async fn existing_result(
    teacher: &Teacher,
    id: &str,
) -> Result<Existing<(String, GradeResult)>, Response> {
    let Some(result) = teacher.record::<GradeResult>(&["results", id]).await? else {
        // The same district reads as for a result elsewhere (the result, then a line
        // item), answer discarded: one read fewer would time which ids are graded.
        teacher.class_of_line_item(id).await?;
        return Ok(Existing::Missing);
    };
    Ok(
        match teacher
            .class_of_line_item(&result.line_item.sourced_id)
            .await?
        {
            Some(class) => Existing::In((class, result)),
            None => Existing::ClassUnknown,
        },
    )
}
