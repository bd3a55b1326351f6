//! Roster reads with the session's bearer: a refused token is refreshed once, and the
//! teacher's OneRoster id is found once per session.

use std::sync::Arc;

use rollbook_auth::AuthError;
use rollbook_gradebook::ClassId;

use rollbook_oneroster::{Bearer, RosterClient, RosterError};

use crate::CoreError;
use crate::roster::{self, ClassSummary, Gradebook, RosterIdentity, Student, TermFilter};

use super::{Account, LiveSession};

/// The district's rosters as the signed-in teacher reads them: classes, students, the
/// district's gradebook records, and the pages the window shows, kept for the next start
/// (`crate::saved_pages`). Got from [`Account::rosters`].
#[derive(Debug, Clone, Copy)]
pub struct Rosters<'a> {
    pub(crate) account: &'a Account,
}

impl Account {
    /// Reading the district's rosters with this session.
    pub fn rosters(&self) -> Rosters<'_> {
        Rosters { account: self }
    }
}

impl Rosters<'_> {
    /// The teacher's classes (this term's, or all), with schools, terms and counts.
    pub async fn classes(self, filter: TermFilter) -> Result<Vec<ClassSummary>, CoreError> {
        let today = self.account.today();
        self.account
            .with_roster(|client, teacher| {
                let today = today.clone();
                async move { roster::my_classes(&client, &teacher, filter, &today).await }
            })
            .await
    }

    /// All classes of a school, for a principal's sign-in.
    pub async fn school_classes(self, school_id: &str) -> Result<Vec<ClassSummary>, CoreError> {
        self.account
            .with_roster(
                |client, _| async move { roster::school_classes(&client, school_id).await },
            )
            .await
    }

    /// A class's students, in the roster server's order.
    pub async fn students(self, class_id: &ClassId) -> Result<Vec<Student>, CoreError> {
        self.account
            .with_roster(|client, _| async move {
                roster::class_roster(&client, class_id.as_str()).await
            })
            .await
    }

    /// A class's line items and results.
    pub async fn gradebook(self, class_id: &ClassId) -> Result<Gradebook, CoreError> {
        self.account
            .with_roster(|client, _| async move {
                roster::class_gradebook(&client, class_id.as_str()).await
            })
            .await
    }
}

impl Account {
    /// Runs a roster call. When the roster server refuses the access token before its
    /// stated expiry (revoked, the provider's keys rotated, a clock out of step), the
    /// session is refreshed once and the call made again. Without a refresh token
    /// (ClassLink) the refusal is reported as it is: ending the session on a roster
    /// server's word would sign the teacher out over a misconfigured server.
    pub(crate) async fn with_roster<T, F, Fut>(&self, call: F) -> Result<T, CoreError>
    where
        F: Fn(RosterClient, RosterIdentity) -> Fut,
        Fut: Future<Output = Result<T, CoreError>>,
    {
        // Finding the teacher's id (ClassLink's `my/info`) can meet the same refusal.
        let first = match self.roster_context().await {
            Ok((client, teacher)) => call(client, teacher).await,
            Err(e) => Err(e),
        };
        if !matches!(
            first,
            Err(CoreError::Roster(RosterError::Unauthorized { .. }))
        ) {
            return first;
        }
        let session = self.session().await?;
        if !session.has_refresh_token().await {
            return first;
        }
        tracing::info!("the roster server refused the access token; refreshing it once");
        if let Err(e) = session.refresh().await {
            if matches!(e, AuthError::SignInAgain) {
                self.drop_ended_session().await?;
            }
            return Err(e.into());
        }
        let (client, teacher) = self.roster_context().await?;
        call(client, teacher).await
    }

    /// A roster client with a valid access token, and the teacher's OneRoster id
    /// (found once per session, then kept in the session record).
    pub(crate) async fn roster_context(&self) -> Result<(RosterClient, RosterIdentity), CoreError> {
        let LiveSession { session, record } = self.live().await?;
        let base = record
            .settings
            .oneroster_base()?
            .ok_or(CoreError::RosterNotConfigured)?;
        let token = match session.access_token().await {
            Ok(token) => token,
            Err(e) => {
                if matches!(e, AuthError::SignInAgain) {
                    self.drop_ended_session().await?;
                }
                return Err(e.into());
            }
        };
        let client = RosterClient::new(self.http.clone(), base, Bearer::new(token.secret()))
            .with_settings(self.roster_settings.clone());
        if let Some(teacher) = record.roster.clone() {
            return Ok((client, teacher));
        }
        let teacher = roster::resolve_teacher(
            &record.settings,
            session.identity(),
            &self.http,
            &client,
            token.secret(),
        )
        .await?;
        tracing::info!(source = %teacher.source, "found the teacher's roster id");
        if let Some(live) = self.live.lock().await.as_mut()
            && Arc::ptr_eq(&live.session, &session)
        {
            live.record.roster = Some(teacher.clone());
            if session.is_persisted() {
                live.record.save(&self.paths)?;
            }
        }
        Ok((client, teacher))
    }
}
