//! The sign-in use case the window and the `rollbook` command share: one attempt at a
//! time, its progress, its deep links, and a cancel that is atomic with storing.
//!
//! A [`SignInDesk`] holds the attempt waiting for the browser. [`SignInDesk::begin`]
//! refuses a second one while the first waits, and every piece of clean-up is tied to
//! the attempt's id, so an old attempt can never remove a newer one's deep-link channel or
//! cancel switch. [`SignInDesk::cancel`] wins only before the attempt starts storing the
//! session: from then on the attempt finishes, so a cancel can never leave a keychain
//! entry with no session record pointing at it.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use url::Url;

use rollbook_auth::{AuthError, NonConfidentialSecret};

use crate::policy::{Key, ResolvedSettings};
use crate::{CoreError, Profile, ProviderSettings, RedirectMode};

/// Where a sign-in has got to, for the window's progress screen and the CLI's notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(tag = "stage", rename_all = "camelCase")]
pub enum SignInProgress {
    /// Finding the provider (discovery).
    Starting,
    /// The browser is open at `url` (or could not be opened: `browser_problem`).
    #[serde(rename_all = "camelCase")]
    Waiting {
        url: String,
        browser_problem: Option<String>,
    },
    /// The browser came back; the session is being stored.
    Finishing,
}

/// Which provider the teacher picked in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts-bindings", ts(rename = "Provider"))]
#[serde(rename_all = "lowercase")]
pub enum SignInProvider {
    Demo,
    Classlink,
    Oidc,
}

/// The window's sign-in form.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "ts-bindings", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignInRequest {
    pub provider: SignInProvider,
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub issuer: Option<String>,
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub client_id: Option<String>,
    #[cfg_attr(feature = "ts-bindings", ts(optional))]
    pub oneroster_url: Option<String>,
}

impl SignInRequest {
    /// The settings for ClassLink or another OpenID provider, from the form and the
    /// settings in force (`resolved`: policy, the teacher's options, build defaults).
    /// Policy wins over the form: a value IT set is used whatever the form says, and a
    /// provider policy forbids is refused here, not only hidden in the window. The demo
    /// district's settings come from the district the caller runs ([`allow_demo`] says
    /// whether it may).
    pub fn settings(&self, resolved: &ResolvedSettings) -> Result<ProviderSettings, CoreError> {
        let settings = match self.provider {
            SignInProvider::Demo => {
                return Err(invalid(
                    "the demo district's settings come from the running district",
                ));
            }
            SignInProvider::Classlink => {
                // What the teacher typed, else what this build (or policy) presets.
                let client_id = filled(self.client_id.as_deref())
                    .or_else(|| resolved.text(Key::ClientId).map(str::to_owned))
                    .ok_or_else(|| invalid("Rollbook's ClassLink client id is missing"))?;
                let mut settings = ProviderSettings::classlink(client_id);
                settings.oneroster_url = filled(self.oneroster_url.as_deref())
                    .or_else(|| resolved.text(Key::RosterUrl).map(str::to_owned));
                settings
            }
            SignInProvider::Oidc => {
                // A provider policy names comes with policy's client id and roster address.
                let from_policy = |key: Key| {
                    resolved
                        .is_locked(Key::Issuer)
                        .then(|| resolved.locked_text(key))
                        .flatten()
                };
                let issuer = filled(self.issuer.as_deref()).or_else(|| from_policy(Key::Issuer));
                let client_id =
                    filled(self.client_id.as_deref()).or_else(|| from_policy(Key::ClientId));
                let mut settings = ProviderSettings::new(
                    required(issuer.as_deref(), "issuer")?,
                    required(client_id.as_deref(), "client id")?,
                );
                settings.oneroster_url =
                    filled(self.oneroster_url.as_deref()).or_else(|| from_policy(Key::RosterUrl));
                settings
            }
        };
        // The redirect in force (policy, else the teacher's sign-in options), then what
        // else policy fixes.
        let mut settings = settings;
        settings.redirect = resolved.redirect();
        resolved.enforce(settings)
    }
}

/// A sign-in as a script names it (the CLI's flags): a provider, or a demo district
/// running at an address.
#[derive(Debug, Clone)]
pub enum FlagProvider {
    Demo {
        /// Where the demo district runs (`http://127.0.0.1:47600`).
        url: String,
    },
    Named {
        issuer: String,
        client_id: String,
        profile: Profile,
        oneroster_url: Option<String>,
        classlink_api_url: String,
    },
}

/// Everything a script says about a sign-in; [`Self::settings`] turns it into the
/// settings to sign in with.
#[derive(Debug)]
pub struct SignInFlags {
    pub provider: FlagProvider,
    /// Replaces the scopes (space-separated) when given.
    pub scope: Option<String>,
    pub teacher_id_claim: Option<String>,
    pub redirect: RedirectMode,
    pub client_secret: Option<NonConfidentialSecret>,
    /// Can only add shared-machine mode: policy that sets it wins over its absence.
    pub shared_machine: bool,
}

impl SignInFlags {
    /// The settings these flags ask for, held to the settings in force (`resolved`):
    /// policy wins over the flags, as over the window's form, and a forbidden provider
    /// (or demo district) is refused before anything is contacted. A demo district's
    /// rosters come through the roster gateway it publishes, as for a real district.
    pub async fn settings(
        self,
        http: &reqwest::Client,
        resolved: &ResolvedSettings,
    ) -> Result<ProviderSettings, CoreError> {
        let mut settings = match self.provider {
            FlagProvider::Demo { url } => {
                allow_demo(resolved)?;
                let roster = crate::demo_roster_url(http, &url).await?;
                ProviderSettings::demo(&url, &roster)
            }
            FlagProvider::Named {
                issuer,
                client_id,
                profile,
                oneroster_url,
                classlink_api_url,
            } => ProviderSettings {
                oneroster_url,
                classlink_api_url: Some(classlink_api_url),
                ..ProviderSettings::new(issuer, client_id).with_profile(profile)
            },
        };
        if let Some(scope) = self.scope {
            settings.scopes = scope.split_whitespace().map(str::to_owned).collect();
        }
        settings.teacher_id_claim = self.teacher_id_claim;
        settings.redirect = self.redirect;
        settings.client_secret = self.client_secret;
        settings.shared_machine = self.shared_machine;
        resolved.enforce(settings)
    }
}

/// Whether the built-in demo district may be used; `policy_forbidden` when IT turned it
/// off.
pub fn allow_demo(resolved: &ResolvedSettings) -> Result<(), CoreError> {
    if resolved.flag(Key::DemoDistrictAllowed) == Some(false) {
        return Err(CoreError::ForbiddenByPolicy(
            "your school has turned the demo district off on this computer".into(),
        ));
    }
    Ok(())
}

fn filled(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn required(value: Option<&str>, what: &str) -> Result<String, CoreError> {
    filled(value).ok_or_else(|| invalid(&format!("the {what} is missing")))
}

fn invalid(message: &str) -> CoreError {
    CoreError::Auth(AuthError::InvalidConfig(message.to_owned()))
}

/// What became of a deep link handed to the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeepLink {
    /// It carries the waiting attempt's `state` (the window may come forward).
    ForThisSignIn,
    /// An attempt is waiting, but this link is not its own. The attempt still sees it
    /// (a forged link then fails the attempt rather than passing for a timeout).
    NotForThisSignIn,
    /// Nothing is waiting for a link.
    NoSignInWaiting,
}

/// The sign-in attempt in progress, if any. Cheap to clone; clones share the attempt.
#[derive(Debug, Clone, Default)]
pub struct SignInDesk {
    inner: Arc<Mutex<Desk>>,
}

#[derive(Debug, Default)]
struct Desk {
    next_id: u64,
    current: Option<Slot>,
}

#[derive(Debug)]
struct Slot {
    id: u64,
    storing: bool,
    cancel: watch::Sender<bool>,
    url: Option<Url>,
    /// `None` once the source of links has ended ([`SignInDesk::end_deep_links`]).
    deep_links: Option<mpsc::Sender<Url>>,
}

/// One attempt, from [`SignInDesk::begin`]. Dropping it frees the desk, if the desk
/// still holds this attempt.
#[derive(Debug)]
pub struct SignInAttempt {
    id: u64,
    desk: Arc<Mutex<Desk>>,
    cancelled: watch::Receiver<bool>,
    deep_links: Mutex<Option<mpsc::Receiver<Url>>>,
}

fn lock(desk: &Mutex<Desk>) -> MutexGuard<'_, Desk> {
    // The desk's state stays consistent at every step, so a panic elsewhere while it was
    // held leaves nothing half-done.
    desk.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SignInDesk {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts an attempt; `sign_in_in_progress` while another one waits.
    pub fn begin(&self) -> Result<SignInAttempt, CoreError> {
        let mut desk = lock(&self.inner);
        if desk.current.is_some() {
            return Err(CoreError::SignInInProgress);
        }
        desk.next_id += 1;
        let id = desk.next_id;
        let (cancel, cancelled) = watch::channel(false);
        let (links, received) = mpsc::channel(8);
        desk.current = Some(Slot {
            id,
            storing: false,
            cancel,
            url: None,
            deep_links: Some(links),
        });
        Ok(SignInAttempt {
            id,
            desk: Arc::clone(&self.inner),
            cancelled,
            deep_links: Mutex::new(Some(received)),
        })
    }

    /// Cancels the waiting attempt. `false` when there is none, or when it is already
    /// storing the session (it then finishes, and the teacher is signed in).
    pub fn cancel(&self) -> bool {
        let desk = lock(&self.inner);
        match &desk.current {
            Some(slot) if !slot.storing => {
                slot.cancel.send_replace(true);
                true
            }
            _ => false,
        }
    }

    /// The provider's sign-in page the waiting attempt opened (for "Open again").
    pub fn waiting_url(&self) -> Option<Url> {
        lock(&self.inner)
            .current
            .as_ref()
            .and_then(|s| s.url.clone())
    }

    /// Hands a deep link (custom-scheme redirect) to the waiting attempt.
    pub fn deliver_deep_link(&self, link: Url) -> DeepLink {
        let desk = lock(&self.inner);
        let Some(slot) = &desk.current else {
            return DeepLink::NoSignInWaiting;
        };
        let expected = slot.url.as_ref().and_then(|u| query_value(u, "state"));
        let verdict = match (query_value(&link, "state"), expected) {
            (Some(state), Some(expected)) if !expected.is_empty() && state == expected => {
                DeepLink::ForThisSignIn
            }
            _ => DeepLink::NotForThisSignIn,
        };
        if let Some(links) = &slot.deep_links {
            let _ = links.try_send(link);
        }
        verdict
    }

    /// No more deep links will come (the CLI's standard input closed): once the waiting
    /// attempt has seen those already delivered, it stops instead of waiting out its
    /// timeout.
    pub fn end_deep_links(&self) {
        if let Some(slot) = lock(&self.inner).current.as_mut() {
            slot.deep_links = None;
        }
    }
}

impl SignInAttempt {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Resolves when the attempt is cancelled.
    pub(crate) async fn cancelled(&self) {
        let mut cancelled = self.cancelled.clone();
        // An error means the desk dropped the switch: nothing can cancel any more.
        if cancelled.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The deep links delivered to this attempt (taken once).
    pub(crate) fn take_deep_links(&self) -> Option<mpsc::Receiver<Url>> {
        self.deep_links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    pub(crate) fn set_url(&self, url: &Url) {
        let mut desk = lock(&self.desk);
        if let Some(slot) = desk.current.as_mut().filter(|s| s.id == self.id) {
            slot.url = Some(url.clone());
        }
    }

    /// From here the attempt cannot be cancelled: it stores the session whole. Fails
    /// with `sign_in_cancelled` if a cancel came first.
    pub(crate) fn begin_storing(&self) -> Result<(), CoreError> {
        let mut desk = lock(&self.desk);
        match desk.current.as_mut().filter(|s| s.id == self.id) {
            Some(slot) if !*slot.cancel.borrow() => {
                slot.storing = true;
                Ok(())
            }
            _ => Err(AuthError::Cancelled.into()),
        }
    }
}

impl Drop for SignInAttempt {
    fn drop(&mut self) {
        let mut desk = lock(&self.desk);
        if desk.current.as_ref().is_some_and(|s| s.id == self.id) {
            desk.current = None;
        }
    }
}

fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::policy::{PolicyLevel, PolicySource, RawValue};
    use crate::{BuildDefaults, Preferences};
    use std::collections::BTreeMap;

    fn link(query: &str) -> Url {
        Url::parse(&format!("org.rollbook.desktop:/oauth/callback?{query}")).unwrap()
    }

    #[test]
    fn one_attempt_at_a_time_and_its_clean_up_touches_only_itself() {
        let desk = SignInDesk::new();
        let first = desk.begin().unwrap();
        assert_eq!(
            desk.begin().unwrap_err().code(),
            rollbook_error_code::ErrorCode::SignInInProgress
        );
        drop(first);
        let second = desk.begin().unwrap();
        second.set_url(&Url::parse("https://op.example/authorize?state=abc").unwrap());
        // A stale handle of the first attempt (say, a late clean-up) changes nothing.
        let stale = SignInAttempt {
            id: 1,
            desk: Arc::clone(&desk.inner),
            cancelled: watch::channel(false).1,
            deep_links: Mutex::new(None),
        };
        drop(stale);
        assert!(desk.waiting_url().is_some(), "the second attempt is intact");
        assert_eq!(
            desk.deliver_deep_link(link("code=c&state=abc")),
            DeepLink::ForThisSignIn
        );
        assert!(desk.cancel(), "cancel reaches the second attempt");
    }

    #[test]
    fn only_the_waiting_attempts_state_brings_the_window_forward() {
        let desk = SignInDesk::new();
        assert_eq!(
            desk.deliver_deep_link(link("code=c&state=abc")),
            DeepLink::NoSignInWaiting
        );
        let attempt = desk.begin().unwrap();
        assert_eq!(
            desk.deliver_deep_link(link("code=c&state=abc")),
            DeepLink::NotForThisSignIn,
            "before the browser opened, no state is known"
        );
        attempt.set_url(&Url::parse("https://op.example/authorize?state=abc").unwrap());
        for (query, verdict) in [
            ("code=c&state=abc", DeepLink::ForThisSignIn),
            ("code=c&state=abd", DeepLink::NotForThisSignIn),
            ("code=c", DeepLink::NotForThisSignIn),
            ("code=c&state=", DeepLink::NotForThisSignIn),
        ] {
            assert_eq!(desk.deliver_deep_link(link(query)), verdict, "{query}");
        }
        let mut links = attempt.take_deep_links().unwrap();
        assert_eq!(links.try_recv().unwrap().query(), Some("code=c&state=abc"));
    }

    #[tokio::test]
    async fn cancel_and_storing_exclude_each_other() {
        let desk = SignInDesk::new();
        let attempt = desk.begin().unwrap();
        assert!(desk.cancel());
        attempt.cancelled().await;
        assert!(
            attempt.begin_storing().is_err(),
            "cancelled first: nothing is stored"
        );
        drop(attempt);

        let attempt = desk.begin().unwrap();
        attempt.begin_storing().unwrap();
        assert!(!desk.cancel(), "too late: the session is being stored");
        assert!(desk.waiting_url().is_none());
    }

    fn resolved(policy: &[(&str, RawValue)]) -> ResolvedSettings {
        resolved_with(policy, &Preferences::default())
    }

    fn resolved_with(policy: &[(&str, RawValue)], teacher: &Preferences) -> ResolvedSettings {
        #[derive(Debug)]
        struct Policy(BTreeMap<String, RawValue>);
        impl PolicySource for Policy {
            fn location(&self) -> String {
                "test policy".into()
            }
            fn level(&self) -> PolicyLevel {
                PolicyLevel::Machine
            }
            fn read(&self) -> Result<BTreeMap<String, RawValue>, crate::policy::SourceProblem> {
                Ok(self.0.clone())
            }
        }
        let source: Box<dyn PolicySource> = Box::new(Policy(
            policy
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ));
        crate::policy::resolve(&[source], teacher, &BuildDefaults::default())
    }

    fn request(
        provider: SignInProvider,
        issuer: Option<&str>,
        client: Option<&str>,
    ) -> SignInRequest {
        SignInRequest {
            provider,
            issuer: issuer.map(str::to_owned),
            client_id: client.map(str::to_owned),
            oneroster_url: Some("  ".into()),
        }
    }

    #[test]
    fn the_form_gives_settings_and_names_what_is_missing() {
        let none = resolved(&[]);
        let oidc = request(
            SignInProvider::Oidc,
            Some(" https://op.example "),
            Some("app"),
        )
        .settings(&none)
        .unwrap();
        assert_eq!(oidc.issuer, "https://op.example");
        assert_eq!(oidc.oneroster_url, None, "a blank roster address is none");
        let missing = request(SignInProvider::Oidc, None, Some("app"))
            .settings(&none)
            .unwrap_err();
        assert!(missing.to_string().contains("issuer"), "{missing}");
        assert!(!missing.to_string().contains("--"), "{missing}");
        let classlink = request(SignInProvider::Classlink, None, Some("cl-app"))
            .settings(&none)
            .unwrap();
        assert_eq!(classlink.client_id, "cl-app");
        let mut with_roster = request(SignInProvider::Oidc, Some("https://op.example"), Some("a"));
        with_roster.oneroster_url = Some(" https://sis.example.org/ims/oneroster/v1p1 ".into());
        assert_eq!(
            with_roster
                .settings(&none)
                .unwrap()
                .oneroster_url
                .as_deref(),
            Some("https://sis.example.org/ims/oneroster/v1p1")
        );
        for blank in [None, Some(""), Some("   ")] {
            let error = request(SignInProvider::Oidc, Some("https://op.example"), blank)
                .settings(&none)
                .unwrap_err();
            assert_eq!(error.to_string(), "the client id is missing");
        }
    }

    #[test]
    fn policy_wins_over_the_form_and_forbids_in_core_not_only_in_the_window() {
        let text = |t: &str| RawValue::Text(t.into());
        let district = resolved(&[
            ("AllowedProviders", text("classlink")),
            ("ClientId", text("district-client")),
            (
                "RosterUrl",
                text("https://gateway.district.example/ims/oneroster/v1p1"),
            ),
            ("RedirectMode", text("scheme")),
            ("SharedMachine", RawValue::Bool(true)),
            ("DemoDistrictAllowed", RawValue::Bool(false)),
        ]);
        let classlink = request(SignInProvider::Classlink, None, Some("typed-client"))
            .settings(&district)
            .unwrap();
        assert_eq!(
            classlink.client_id, "district-client",
            "the form cannot override IT"
        );
        assert_eq!(
            classlink.oneroster_url.as_deref(),
            Some("https://gateway.district.example/ims/oneroster/v1p1")
        );
        assert_eq!(classlink.redirect, crate::RedirectMode::Scheme);
        assert!(classlink.shared_machine);
        let other = request(SignInProvider::Oidc, Some("https://op.example"), Some("x"))
            .settings(&district)
            .unwrap_err();
        assert_eq!(other.code(), "policy_forbidden");
        assert_eq!(
            allow_demo(&district).unwrap_err().code(),
            "policy_forbidden"
        );
        assert!(allow_demo(&resolved(&[])).is_ok());
    }

    #[test]
    fn the_teachers_redirect_choice_applies_unless_policy_fixes_it() {
        let scheme = Preferences {
            redirect: crate::RedirectMode::Scheme,
            ..Preferences::default()
        };
        for provider in [SignInProvider::Oidc, SignInProvider::Classlink] {
            let chosen = request(provider, Some("https://op.example"), Some("app"))
                .settings(&resolved_with(&[], &scheme))
                .unwrap();
            assert_eq!(chosen.redirect, crate::RedirectMode::Scheme, "{provider:?}");
            let fixed = request(provider, Some("https://op.example"), Some("app"))
                .settings(&resolved_with(
                    &[("RedirectMode", RawValue::Text("loopback".into()))],
                    &scheme,
                ))
                .unwrap();
            assert_eq!(
                fixed.redirect,
                crate::RedirectMode::Loopback,
                "{provider:?}"
            );
        }
    }

    #[test]
    fn policy_for_classlink_never_travels_to_another_provider() {
        let text = |t: &str| RawValue::Text(t.into());
        let classlink_preset = resolved(&[("ClientId", text("district-classlink-client"))]);
        let other = request(
            SignInProvider::Oidc,
            Some("https://op.example"),
            Some("typed"),
        )
        .settings(&classlink_preset)
        .unwrap();
        assert_eq!(other.client_id, "typed");
        let classlink = request(SignInProvider::Classlink, None, Some("typed"))
            .settings(&classlink_preset)
            .unwrap();
        assert_eq!(classlink.client_id, "district-classlink-client");

        let named_provider = resolved(&[
            ("Issuer", text("https://login.district.example")),
            ("ClientId", text("district-client")),
        ]);
        let preset = request(SignInProvider::Oidc, None, None)
            .settings(&named_provider)
            .unwrap();
        assert_eq!(
            (preset.issuer.as_str(), preset.client_id.as_str()),
            ("https://login.district.example", "district-client")
        );
        let elsewhere = request(SignInProvider::Oidc, Some("https://op.example"), Some("x"))
            .settings(&named_provider)
            .unwrap_err();
        assert_eq!(elsewhere.code(), "policy_forbidden");
    }

    fn flags(provider: FlagProvider) -> SignInFlags {
        SignInFlags {
            provider,
            scope: None,
            teacher_id_claim: None,
            redirect: RedirectMode::Scheme,
            client_secret: None,
            shared_machine: false,
        }
    }

    fn named(issuer: &str, profile: Profile) -> FlagProvider {
        FlagProvider::Named {
            issuer: issuer.into(),
            client_id: "app".into(),
            profile,
            oneroster_url: Some("https://sis.example/ims/oneroster/v1p1".into()),
            classlink_api_url: crate::CLASSLINK_API_URL.into(),
        }
    }

    /// The CLI's flags: ClassLink means the `oneroster` scope, `--scope` replaces the
    /// scopes, shared-machine mode is only added, and policy wins over every flag
    /// before anything is contacted (the demo district's address is never asked).
    #[tokio::test]
    async fn a_scripts_flags_give_settings_held_to_policy() {
        let http = reqwest::Client::new();
        let none = resolved(&[]);
        let classlink = flags(named(crate::CLASSLINK_ISSUER, Profile::ClassLink))
            .settings(&http, &none)
            .await
            .unwrap();
        assert_eq!(classlink.scopes, ["profile", "email", "oneroster"]);
        assert_eq!(classlink.redirect, RedirectMode::Scheme);
        let oidc = flags(named("https://op.example", Profile::Oidc))
            .settings(&http, &none)
            .await
            .unwrap();
        assert_eq!(oidc.scopes, ["profile", "email"]);
        let scoped = SignInFlags {
            scope: Some("a  b".into()),
            ..flags(named(crate::CLASSLINK_ISSUER, Profile::ClassLink))
        }
        .settings(&http, &none)
        .await
        .unwrap();
        assert_eq!(scoped.scopes, ["a", "b"]);

        let shared = resolved(&[("SharedMachine", RawValue::Bool(true))]);
        let held = flags(named("https://op.example", Profile::Oidc))
            .settings(&http, &shared)
            .await
            .unwrap();
        assert!(held.shared_machine, "policy adds shared-machine mode");
        let classlink_only = resolved(&[("AllowedProviders", RawValue::Text("classlink".into()))]);
        assert!(
            flags(named("https://op.example", Profile::Oidc))
                .settings(&http, &classlink_only)
                .await
                .is_err()
        );
        let no_demo = resolved(&[("DemoDistrictAllowed", RawValue::Bool(false))]);
        let refused = flags(FlagProvider::Demo {
            url: "https://demo-district.example".into(),
        })
        .settings(&http, &no_demo)
        .await
        .unwrap_err();
        assert_eq!(refused.code(), crate::ErrorCode::PolicyForbidden);
    }
}
