//! The apply links of partner offers, checked politely in the background: per-host rate limit,
//! `HEAD` then `GET` when a server does not answer `HEAD` properly, an identifying user agent,
//! every few hours. An offer whose link answers 404 or 410 twice in a row is hidden (with the
//! reason, `relais links`), and shown again when the link answers again; a host that cannot be
//! reached changes nothing. France Travail's offers are not checked: their withdrawal is the
//! API's own (`relais sync francetravail --check`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use relais_model::{OfferKey, SourceId};
use relais_storage::{LinkChange, Store};
use serde::Serialize;

use crate::IngestError;

/// How the checker behaves.
#[derive(Debug, Clone)]
pub struct LinkCheckOptions {
    /// Requests a second to one host.
    pub per_host_per_second: u32,
    /// Hosts checked at once.
    pub concurrency: usize,
    /// Time-out of one request.
    pub timeout: Duration,
    /// Who relais says it is (`relais-link-check/0.1 (+https://emplois.example.fr/methode)`).
    pub user_agent: String,
}

impl Default for LinkCheckOptions {
    fn default() -> Self {
        Self {
            per_host_per_second: 1,
            concurrency: 8,
            timeout: Duration::from_secs(15),
            user_agent: format!(
                "relais-link-check/{} (checks that job offers are still open)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// What a round of checks did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkCheckReport {
    /// Links checked.
    pub checked: u64,
    /// Answered 404 or 410.
    pub gone: u64,
    /// Could not be reached (no answer, time-out).
    pub unreachable: u64,
    /// Offers hidden by this round.
    pub hidden: u64,
    /// Offers shown again by this round.
    pub shown_again: u64,
}

/// Checks the apply link (else the page) of every active offer of `sources` once.
pub async fn check_apply_links(
    store: &Store,
    sources: &[SourceId],
    options: &LinkCheckOptions,
) -> Result<LinkCheckReport, IngestError> {
    let client = reqwest::Client::builder()
        .user_agent(&options.user_agent)
        .timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .map_err(|e| IngestError::Client(e.to_string()))?;
    let mut by_host: HashMap<String, Vec<(OfferKey, String)>> = HashMap::new();
    for source in sources {
        store
            .for_each_offer_of_source(source, |offer| {
                if !offer.status.is_active() {
                    return;
                }
                let Some(url) = offer.apply_url.clone().or(offer.offer_url.clone()) else {
                    return;
                };
                let Ok(parsed) = reqwest::Url::parse(&url) else {
                    return;
                };
                if !matches!(parsed.scheme(), "http" | "https") {
                    return;
                }
                let host = parsed.host_str().unwrap_or_default().to_owned();
                by_host.entry(host).or_default().push((offer.key, url));
            })
            .await?;
    }
    let per_second = NonZeroU32::new(options.per_host_per_second).unwrap_or(NonZeroU32::MIN);
    let limiter: Arc<DefaultKeyedRateLimiter<String>> =
        Arc::new(RateLimiter::keyed(Quota::per_second(per_second)));
    let results = futures::stream::iter(by_host)
        .map(|(host, links)| {
            let client = client.clone();
            let limiter = limiter.clone();
            async move {
                let mut answers = Vec::with_capacity(links.len());
                for (key, url) in links {
                    limiter.until_key_ready(&host).await;
                    answers.push((key, url.clone(), status_of(&client, &url).await));
                }
                answers
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut report = LinkCheckReport::default();
    for (key, url, status) in results.into_iter().flatten() {
        report.checked += 1;
        match status {
            Some(404 | 410) => report.gone += 1,
            None => report.unreachable += 1,
            _ => {}
        }
        match store
            .record_link_check(&key, &url, status, Utc::now())
            .await?
        {
            LinkChange::Hidden => {
                report.hidden += 1;
                tracing::warn!(offer = %key, %url, ?status, "offer hidden: its apply link is gone");
            }
            LinkChange::ShownAgain => {
                report.shown_again += 1;
                tracing::info!(offer = %key, %url, "offer shown again: its apply link answers");
            }
            LinkChange::None => {}
        }
    }
    Ok(report)
}

/// The status a link answers: `HEAD`, then `GET` (its body not read) when the server refuses
/// or mishandles `HEAD`; `None` when it cannot be reached.
async fn status_of(client: &reqwest::Client, url: &str) -> Option<u16> {
    let head = client
        .head(url)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16());
    match head {
        Some(status) if status < 400 || status == 404 || status == 410 => Some(status),
        // 405, 403, 5xx and the like: many servers answer HEAD badly; ask as a browser does.
        _ => client
            .get(url)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
            .or(head),
    }
}
