//! Which districts the gateway serves, and each one's upstream: tenants listed in the
//! configuration, plus (for ClassLink) those discovered with the vendor's developer API
//! key: `GET /applications`, then `GET /applications/{id}/server` for each, refreshed
//! periodically. Listed tenants win over discovered ones.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::bearer_json::{BearerJsonError, get_json, json_text};
use crate::config::{Limits, PartnerConfig, TenantConfig, UpstreamAuth, https_url};
use crate::upstream::Upstream;

/// The largest partner API answer read (a vendor's list of districts).
const MAX_PARTNER_BODY: usize = 8 << 20;

#[derive(Debug)]
pub struct Tenants {
    http: reqwest::Client,
    limits: Limits,
    listed: HashMap<String, Arc<Upstream>>,
    discovered: RwLock<HashMap<String, Arc<Upstream>>>,
    partner: Option<PartnerConfig>,
    /// Set once the tenant list is known (at once without a partner API).
    ready: AtomicBool,
}

/// How long a tenant's reachability answer is reused by `/readyz`.
pub const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("the partner API refused the developer key (HTTP {0})")]
    Refused(u16),
    #[error("the partner API failed: {0}")]
    Failed(String),
}

impl Tenants {
    pub fn new(
        http: reqwest::Client,
        limits: Limits,
        listed: &[TenantConfig],
        partner: Option<PartnerConfig>,
    ) -> Self {
        let ready = partner.is_none();
        Self {
            listed: listed
                .iter()
                .map(|t| (t.id.clone(), Arc::new(Upstream::new(&http, t, &limits))))
                .collect(),
            http,
            limits,
            discovered: RwLock::default(),
            partner,
            ready: AtomicBool::new(ready),
        }
    }

    pub fn get(&self, tenant: &str) -> Option<Arc<Upstream>> {
        if let Some(upstream) = self.listed.get(tenant) {
            return Some(Arc::clone(upstream));
        }
        self.discovered.read().ok()?.get(tenant).cloned()
    }

    /// Every tenant known now, listed and discovered.
    pub fn all(&self) -> Vec<Arc<Upstream>> {
        let mut all: Vec<Arc<Upstream>> = self.listed.values().cloned().collect();
        if let Ok(discovered) = self.discovered.read() {
            all.extend(
                discovered
                    .iter()
                    .filter(|(id, _)| !self.listed.contains_key(*id))
                    .map(|(_, u)| Arc::clone(u)),
            );
        }
        all
    }

    /// Whether each tenant's server answers at all (TLS included), checked at most every
    /// [`PROBE_EVERY`] per tenant: any HTTP answer is reachable; a failure carries its
    /// cause chain, which names a certificate the gateway does not trust.
    pub async fn reachability(&self) -> Vec<(String, Result<(), String>)> {
        let probes = self.all().into_iter().map(|u| async move {
            let result = u.reachable(&self.http).await;
            (u.tenant.clone(), result)
        });
        futures_util::future::join_all(probes).await
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    pub fn partner(&self) -> Option<&PartnerConfig> {
        self.partner.as_ref()
    }

    /// Asks the partner API for the districts that granted access, and their servers.
    /// On failure the previous list stays in use.
    pub async fn refresh(&self) -> Result<usize, DiscoveryError> {
        let Some(partner) = &self.partner else {
            return Ok(0);
        };
        let apps = self.partner_get(partner, "applications").await?;
        let apps = match &apps {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o
                .get("applications")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let mut found = Vec::new();
        let mut kept = Vec::new();
        for app in apps {
            let text = |v: Option<&Value>| v.and_then(json_text);
            let (Some(tenant), Some(app_id)) = (
                text(app.get("tenant_id")),
                text(app.get("oneroster_application_id")),
            ) else {
                continue;
            };
            let name = text(app.get("tenant_name")).unwrap_or_else(|| tenant.clone());
            let encoded: String = url::form_urlencoded::byte_serialize(app_id.as_bytes()).collect();
            // One district's failing server call keeps that district as it was; it
            // does not abort the refresh for all.
            let server = match self
                .partner_get(partner, &format!("applications/{encoded}/server"))
                .await
            {
                Ok(server) => server,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "the partner API failed for one tenant; its previous settings stay in use");
                    kept.push(tenant);
                    continue;
                }
            };
            let (Some(client_id), Some(secret), Some(endpoint)) = (
                text(server.get("client_id")),
                text(server.get("client_secret")),
                text(server.get("endpoint_url")),
            ) else {
                tracing::warn!(tenant = %tenant, "the partner API gave no server credentials for a tenant; skipped");
                continue;
            };
            let Ok(oneroster_url) = https_url("endpoint_url", &endpoint) else {
                tracing::warn!(tenant = %tenant, "a tenant's endpoint_url is not https; skipped");
                continue;
            };
            found.push(TenantConfig {
                id: tenant,
                name,
                oneroster_url,
                auth: UpstreamAuth::OAuth1 {
                    client_id,
                    client_secret: crate::config::Secret::new(secret),
                },
                creates: crate::config::Creates::default(),
            });
        }
        let count = found.len();
        let mut discovered = self
            .discovered
            .write()
            .map_err(|_| DiscoveryError::Failed("lock poisoned".into()))?;
        let mut next = HashMap::new();
        for tenant in found {
            let upstream = match discovered.get(&tenant.id) {
                Some(existing) if existing.same_as(&tenant) => Arc::clone(existing),
                _ => Arc::new(Upstream::new(&self.http, &tenant, &self.limits)),
            };
            next.insert(tenant.id.clone(), upstream);
        }
        for id in kept {
            if let Some(existing) = discovered.get(&id) {
                next.insert(id, Arc::clone(existing));
            }
        }
        *discovered = next;
        self.ready.store(true, Ordering::SeqCst);
        Ok(count)
    }

    async fn partner_get(
        &self,
        partner: &PartnerConfig,
        path: &str,
    ) -> Result<Value, DiscoveryError> {
        let url = partner
            .api_url
            .join(path)
            .map_err(|e| DiscoveryError::Failed(e.to_string()))?;
        get_json(
            &self.http,
            url,
            partner.developer_api_key.expose(),
            MAX_PARTNER_BODY,
        )
        .await
        .map_err(|e| match e {
            BearerJsonError::Refused(status) => DiscoveryError::Refused(status),
            BearerJsonError::Unavailable(why) => DiscoveryError::Failed(why),
        })
    }
}

/// Refreshes the discovered tenants every `partner.refresh` until the gateway stops.
pub async fn keep_refreshing(tenants: Arc<Tenants>) {
    let Some(every) = tenants.partner().map(|p| p.refresh) else {
        return;
    };
    loop {
        match tenants.refresh().await {
            Ok(count) => tracing::info!(tenants = count, "tenant list refreshed"),
            Err(e) => {
                tracing::warn!(error = %e, "tenant list refresh failed; keeping the previous list")
            }
        }
        // Before the first success, try again soon.
        let wait = if tenants.is_ready() {
            every
        } else {
            every.min(std::time::Duration::from_secs(5))
        };
        tokio::time::sleep(wait).await;
    }
}
