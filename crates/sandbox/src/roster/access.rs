//! Who may call the demo district's OneRoster server, and what they may see.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;

use super::{forbidden, imsx_error, not_found};
use crate::config::demo_credentials;
use crate::district::{District, Entity, Role};
use crate::state::{NonceRefused, State};

/// What a caller may see: the demo application sees the whole district (as a vendor's
/// OneRoster credentials do); with `accept_teacher_tokens`, a teacher sees their own
/// classes and a principal their school.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    District,
    School(usize),
    Teacher(usize),
}

/// Who is asking, and what they may see.
pub(super) struct Viewer<'a> {
    pub(super) district: &'a District,
    pub(super) scope: Scope,
}

impl Viewer<'_> {
    pub(super) fn sees_class(&self, c: usize) -> bool {
        match self.scope {
            Scope::District => true,
            Scope::School(s) => self.district.classes[c].school == s,
            Scope::Teacher(t) => self.district.classes_of_staff[t].contains(&c),
        }
    }

    pub(super) fn classes(&self) -> Vec<usize> {
        match self.scope {
            Scope::District => (0..self.district.classes.len()).collect(),
            Scope::School(s) => self.district.classes_of_school[s].clone(),
            Scope::Teacher(t) => self.district.classes_of_staff[t].clone(),
        }
    }

    pub(super) fn sees_student(&self, st: usize) -> bool {
        self.scope == Scope::District
            || self.district.classes_of_student[st]
                .iter()
                .any(|c| self.sees_class(*c as usize))
    }

    pub(super) fn sees_staff(&self, t: usize) -> bool {
        match self.scope {
            Scope::District => true,
            Scope::School(s) => self.district.staff[t].school == s,
            Scope::Teacher(me) => t == me,
        }
    }

    pub(super) fn sees_school(&self, s: usize) -> bool {
        match self.scope {
            Scope::District => true,
            Scope::School(mine) => mine == s,
            Scope::Teacher(_) => false,
        }
    }
}

impl Viewer<'_> {
    /// Class `id` when the caller sees it; 403 when it is someone else's, 404 when there
    /// is no such class.
    pub(super) fn class(&self, id: &str) -> Result<usize, Response> {
        match self.district.lookup(id) {
            Some(Entity::Class(c)) if self.sees_class(c) => Ok(c),
            Some(Entity::Class(_)) => Err(forbidden()),
            _ => Err(not_found("class")),
        }
    }
}

pub(super) fn unauthorized(description: &str) -> Response {
    let mut response = imsx_error(StatusCode::UNAUTHORIZED, description, "unauthorisedrequest");
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Who may read: like a ClassLink district, the demo OneRoster application (an OAuth
/// 1.0a HMAC-SHA256 signature, the proxy-style bearer, or a client-credentials token);
/// a teacher's own token only with the `accept_teacher_tokens` knob.
pub(super) fn authorize(
    state: &State,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
) -> Result<Scope, Response> {
    let Some(header) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(unauthorized(
            "This OneRoster server needs the application's credentials.",
        ));
    };
    if header.starts_with("OAuth ") {
        return app_signature(state, header, method, uri).map(|()| Scope::District);
    }
    let Some(token) = header.strip_prefix("Bearer ").map(str::trim) else {
        return Err(unauthorized(
            "Use OAuth 1.0a (HMAC-SHA256) or a bearer token.",
        ));
    };
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        token.as_bytes(),
        demo_credentials::PROXY_BEARER.as_bytes(),
    )
    .is_ok()
        || state.is_app_token(token)
    {
        state.stats.hit("roster_app");
        return Ok(Scope::District);
    }
    let Some(grant) = state.grant_for(token) else {
        return Err(unauthorized(
            "The access token is missing, invalid or expired.",
        ));
    };
    if !state.knobs().access.accept_teacher_tokens {
        state.stats.hit("roster_teacher_token_refused");
        return Err(unauthorized(
            "This OneRoster server answers the district's registered applications only; a teacher's sign-in does not open it. Read rosters through a roster gateway.",
        ));
    }
    if !grant.has_scope("oneroster") && !grant.has_scope("full") {
        return Err(imsx_error(
            StatusCode::FORBIDDEN,
            "This sign-in was not granted access to roster data (the oneroster scope).",
            "unauthorisedrequest",
        ));
    }
    if grant.student.is_some() {
        return Err(forbidden());
    }
    let person = &state.district.staff[grant.staff];
    Ok(match person.role {
        Role::Administrator => Scope::School(person.school),
        _ => Scope::Teacher(grant.staff),
    })
}

/// Checks an OAuth 1.0a signature over the URL the caller signed (this server's own),
/// its timestamp window and its nonce.
pub(super) fn app_signature(
    state: &State,
    header: &str,
    method: &Method,
    uri: &Uri,
) -> Result<(), Response> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(url) = url::Url::parse(&format!("{}{path}", state.issuer)) else {
        return Err(unauthorized("The request URL cannot be signed."));
    };
    let verified = rollbook_oauth1::verify(method.as_str(), &url, header, |key| {
        (key == demo_credentials::ONEROSTER_CLIENT_ID)
            .then(|| demo_credentials::ONEROSTER_CLIENT_SECRET.to_owned())
    })
    .map_err(|e| {
        state.stats.hit("roster_oauth1_refused");
        unauthorized(&format!("OAuth 1.0a: {e}."))
    })?;
    state
        .accept_oauth_nonce(&verified.nonce, verified.timestamp)
        .map_err(|refused| {
            state.stats.hit("roster_oauth1_refused");
            unauthorized(match refused {
                NonceRefused::Stale => {
                    "OAuth 1.0a: the timestamp is too far from the server's clock."
                }
                NonceRefused::Replayed => "OAuth 1.0a: this nonce was already used.",
            })
        })?;
    state.stats.hit("roster_app");
    Ok(())
}
