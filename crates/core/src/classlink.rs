//! ClassLink's own API: `GET {api}/v2/my/info` names the signed-in user's OneRoster
//! `SourcedId` and `TenantId` (PascalCase; numbers or strings; `OrgId` a string or a
//! list). See docs/classlink.md.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use rollbook_oneroster::{ImsxStatus, RosterError};

/// The parts of `/v2/my/info` Rollbook uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyInfo {
    pub sourced_id: Option<String>,
    pub tenant_id: Option<String>,
    pub role: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Raw {
    #[serde(default)]
    sourced_id: Option<serde_json::Value>,
    #[serde(default)]
    tenant_id: Option<serde_json::Value>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

fn text(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl MyInfo {
    pub fn parse(body: &[u8]) -> Result<Self, RosterError> {
        let raw: Raw = serde_json::from_slice(body).map_err(|e| {
            RosterError::Malformed(format!("ClassLink's my/info is not readable: {e}"))
        })?;
        Ok(Self {
            sourced_id: text(raw.sourced_id),
            tenant_id: text(raw.tenant_id),
            role: raw.role,
            email: raw.email,
        })
    }
}

/// The largest `/v2/my/info` answer read: the real one is well under a kilobyte.
const MAX_MY_INFO_BYTES: usize = 64 * 1024;

/// Reads `/v2/my/info` with the access token.
pub async fn my_info(
    http: &reqwest::Client,
    api_base: &Url,
    token: &str,
) -> Result<MyInfo, RosterError> {
    let url = api_base
        .join("v2/my/info")
        .map_err(|e| RosterError::Malformed(e.to_string()))?;
    let response = http
        .get(url)
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                RosterError::TimedOut
            } else {
                RosterError::Unreachable(format!("ClassLink API: {e}"))
            }
        })?;
    let status = response.status();
    let body = rollbook_oneroster::read_limited(response, MAX_MY_INFO_BYTES).await?;
    if status.is_success() {
        return MyInfo::parse(&body);
    }
    // ClassLink answers `{"message":"Invalid or expired access token","status":0}`.
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned));
    let imsx = message.map(|description| ImsxStatus {
        description: Some(format!("ClassLink: {description}")),
        ..ImsxStatus::default()
    });
    Err(match status.as_u16() {
        401 => RosterError::Unauthorized { status: imsx },
        403 => RosterError::Forbidden { status: imsx },
        404 => RosterError::NotFound { status: imsx },
        429 => RosterError::RateLimited {
            retry_after: None,
            status: imsx,
        },
        500..=599 => RosterError::ServerError {
            http: status.as_u16(),
            status: imsx,
        },
        other => RosterError::BadRequest {
            http: other,
            status: imsx,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shape() {
        let teacher = br#"{"UserId":1084217,"TenantId":2718,"StateId":44,"BuildingId":1007,"DisplayName":"Rosa Martinez","FirstName":"Rosa","LastName":"Martinez","Email":"rmartinez@district.example","LoginId":"rmartinez","Role":"Teacher","Role_Level":2,"Tenant":"Example USD","Building":"Lincoln High School","OrgId":"1007","SourcedId":"T-88213"}"#;
        let info = MyInfo::parse(teacher).unwrap();
        assert_eq!(info.sourced_id.as_deref(), Some("T-88213"));
        assert_eq!(info.tenant_id.as_deref(), Some("2718"));
        assert_eq!(info.role.as_deref(), Some("Teacher"));
        let admin = br#"{"UserId":"5","TenantId":"2718","Role":"Tenant Administrator","OrgId":["1007","1"],"SourcedId":""}"#;
        let info = MyInfo::parse(admin).unwrap();
        assert_eq!(info.sourced_id, None, "an empty SourcedId is no id");
        assert_eq!(info.tenant_id.as_deref(), Some("2718"));
        assert!(MyInfo::parse(b"<html>").is_err());
    }

    #[tokio::test]
    async fn an_oversized_my_info_is_refused_without_being_held() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let body = format!(
                "{{\"SourcedId\":\"{}\"}}",
                "x".repeat(MAX_MY_INFO_BYTES * 4)
            );
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        });
        let base = Url::parse(&format!("http://{address}/")).unwrap();
        let error = my_info(&reqwest::Client::new(), &base, "token")
            .await
            .unwrap_err();
        assert!(matches!(error, RosterError::Malformed(_)), "{error}");
    }
}
