//! Whether a PUT to a record the district says is not there may go on as a create,
//! under the tenant's [`Creates`] setting.

use axum::response::Response;
use reqwest::Method;
use rollbook_oneroster::RosterError;
use serde_json::Value;

use crate::config::Creates;
use crate::error::Denied;
use crate::scope;

use super::teacher::Teacher;

impl Teacher {
    /// Whether a PUT to `id`, which the district says is not there, may be sent as a
    /// create under the tenant's [`Creates`] setting. `cell` is a grade's line item and
    /// student; `class` the (checked) class the new record names.
    pub(super) async fn may_create(
        &self,
        collection: &'static str,
        id: &str,
        cell: Option<(&str, &str)>,
        class: &str,
    ) -> Result<(), Response> {
        let refuse = |why| Err(self.deny(Denied::Unsupported(why)));
        match self.upstream.creates {
            Creates::Refused => return refuse(scope::CREATES_REFUSED),
            Creates::Trusted => return Ok(()),
            Creates::Checked => {}
        }
        if self.upstream.creates_stopped() {
            return refuse(scope::CREATES_STOPPED);
        }
        // The id must not be able to name some other record the district hides behind a
        // 404 (a blank grade cell): a UUID, or the grade's own `{lineItem}.{student}`.
        let tied = is_uuid(id) || cell.is_some_and(|(li, st)| id == format!("{li}.{st}"));
        if !tied {
            return refuse(scope::CREATE_ID_UNCHECKABLE);
        }
        match self.upstream.reads_by_id(collection) {
            Some(true) => Ok(()),
            Some(false) => refuse(scope::READS_BY_ID_BROKEN),
            None => self.learn_reads_by_id(collection, id, class).await,
        }
    }

    /// The `sourcedId`s of the first records a list answers, `None` when it lists none.
    async fn listed(
        &self,
        segments: &[&str],
        query: &[(String, String)],
        collection: &str,
    ) -> Result<Option<Vec<String>>, RosterError> {
        let listed = self
            .upstream
            .roster
            .fetch(Method::GET, segments, query, None)
            .await?;
        let ids: Vec<String> = serde_json::from_slice::<Value>(&listed.body)
            .ok()
            .and_then(|v| {
                Some(
                    v.get(collection)?
                        .as_array()?
                        .iter()
                        .filter_map(|r| r.get("sourcedId")?.as_str().map(str::to_owned))
                        .collect(),
                )
            })
            .unwrap_or_default();
        Ok((!ids.is_empty()).then_some(ids))
    }

    /// Whether the district reads `collection` records by id, learnt once per tenant by
    /// reading one it lists: then its 404 for `id` means "not there". With nothing in the
    /// teacher's class to try, the district-wide list filtered on `id` is asked: a district
    /// that lists `id` holds it (and cannot read it by id); one that lists nothing holds no
    /// such record. A district that answers neither is refused creates until it can be
    /// checked: a create sent on trust could move a colleague's record there (caught only
    /// after the write).
    async fn learn_reads_by_id(
        &self,
        collection: &'static str,
        id: &str,
        class: &str,
    ) -> Result<(), Response> {
        let refuse = |why| Err(self.deny(Denied::Unsupported(why)));
        let one = [("limit".to_owned(), "1".to_owned())];
        let mine = self
            .listed(&["classes", class, collection], &one, collection)
            .await
            .map_err(|e| self.upstream_failed(e))?;
        let first = match mine {
            Some(ids) => ids.into_iter().next(),
            None => {
                let filter = [
                    (
                        "filter".to_owned(),
                        format!("sourcedId='{}'", id.replace('\'', "''")),
                    ),
                    ("limit".to_owned(), "2".to_owned()),
                ];
                match self.listed(&[collection], &filter, collection).await {
                    // Nothing by that id anywhere in the district.
                    Ok(None) => return Ok(()),
                    Ok(Some(ids)) if ids.iter().any(|listed| listed == id) => {
                        // Listed, yet "not there" by id.
                        self.reads_by_id_broken(collection);
                        return refuse(scope::READS_BY_ID_BROKEN);
                    }
                    // A district ignoring the filter lists others: try one of them.
                    Ok(Some(ids)) => ids.into_iter().next(),
                    Err(_) => None,
                }
            }
        };
        let Some(first) = first else {
            return refuse(scope::CREATE_NOT_YET_CHECKABLE);
        };
        match self
            .upstream
            .roster
            .fetch(Method::GET, &[collection, &first], &[], None)
            .await
        {
            Ok(_) => {
                self.upstream.saw_read_by_id(collection, true);
                Ok(())
            }
            Err(RosterError::NotFound { .. } | RosterError::BadRequest { .. }) => {
                self.reads_by_id_broken(collection);
                refuse(scope::READS_BY_ID_BROKEN)
            }
            Err(e) => Err(self.upstream_failed(e)),
        }
    }

    fn reads_by_id_broken(&self, collection: &'static str) {
        self.upstream.saw_read_by_id(collection, false);
        tracing::warn!(
            tenant = %self.upstream.tenant,
            collection,
            "the district's roster server lists records it cannot read by id; creates are refused for this tenant"
        );
    }

    /// The answer for a PUT to a record in someone else's class: what a PUT to an id
    /// that is not there gets when the create would be refused, else "no such record",
    /// so the answer never tells which ids exist elsewhere.
    pub(super) async fn not_yours_put(
        &self,
        collection: &'static str,
        id: &str,
        cell: Option<(&str, &str)>,
        class: &str,
    ) -> Response {
        match self.may_create(collection, id, cell, class).await {
            Err(refused) => refused,
            Ok(()) => self.not_there(),
        }
    }
}

/// Whether `id` is in the form the app gives new records (a UUID): no district derives
/// such an id from other records, so a create there cannot be an alias of a grade cell.
fn is_uuid(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}
