//! The HTTP client of the France Travail API: OAuth2 client credentials, rate limit, retries.
//!
//! Every call waits for the rate limiter and for a place among the calls in flight, then: 401
//! refreshes the token once and retries; 429
//! waits `Retry-After`; 5xx, time-outs, connection errors and unreadable bodies are retried with
//! exponential backoff and full jitter; 400 is surfaced with the API's message and not retried.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::wire::{ContentRange, SearchPage, SearchQuery};
use crate::IngestError;

/// Where and how to reach the API. Built by the application from its configuration.
#[derive(Debug, Clone)]
pub struct FranceTravailConfig {
    /// Base URL of the offers API, e.g. `https://api.francetravail.io/partenaire/offresdemploi`.
    pub api_base_url: String,
    /// Token URL, e.g. `https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire`.
    pub token_url: String,
    /// Application client id.
    pub client_id: String,
    /// Application secret; never printed.
    pub client_secret: SecretString,
    /// OAuth2 scope.
    pub scope: String,
    /// Calls per second allowed by the API for this application.
    pub rate_per_second: u32,
    /// Time-out of one HTTP call.
    pub request_timeout: Duration,
    /// Retries on server errors and time-outs before giving up.
    pub max_retries: u32,
    /// A call unanswered after this long is sent once more when the rate has room.
    pub hedge_after: Duration,
    /// Most calls in flight at once. Callers send what they need and the rate limiter paces
    /// them, so the number in flight follows the latency (the rate times the latency, Little's
    /// law) up to this bound: a slow API is kept busy at its rate, a stalled one is not flooded.
    pub concurrency: usize,
}

impl FranceTravailConfig {
    /// The production endpoints, with the given credentials.
    pub fn production(client_id: String, client_secret: SecretString) -> Self {
        Self {
            api_base_url: "https://api.francetravail.io/partenaire/offresdemploi".into(),
            token_url: "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire".into(),
            client_id,
            client_secret,
            scope: "api_offresdemploiv2 o2dsoffre".into(),
            rate_per_second: 10,
            request_timeout: Duration::from_secs(30),
            max_retries: 6,
            hedge_after: Duration::from_secs(1),
            concurrency: 32,
        }
    }
}

#[derive(Debug)]
struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

/// Counters of a client's calls.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// API calls sent (retries included, token calls excluded).
    pub requests: AtomicU64,
    /// Calls that were retried.
    pub retries: AtomicU64,
    /// Token requests.
    pub token_requests: AtomicU64,
    /// Most calls in flight at once so far.
    pub in_flight_peak: AtomicU64,
    /// Slow calls sent a second time (counted in `requests` too).
    pub hedges: AtomicU64,
}

/// A client of the France Travail "Offres d'emploi v2" API.
#[derive(Debug)]
pub struct FranceTravailClient {
    http: reqwest::Client,
    config: FranceTravailConfig,
    token: Mutex<Option<CachedToken>>,
    limiter: DefaultDirectRateLimiter,
    /// Calls take the limiter's tokens in the order they asked (tokio's mutex is fair; the
    /// limiter's waiters would race), so that a harvest's calls go out in the order it sends them.
    queue: Mutex<()>,
    /// Calls waiting for their turn.
    waiting: AtomicUsize,
    /// Places for the calls in flight (`concurrency` of them).
    in_flight: Semaphore,
    /// Call counters.
    pub stats: ClientStats,
}

/// Counts a call waiting for its turn while it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one GET answered.
#[derive(Debug)]
struct Exchanged {
    status: StatusCode,
    content_range: Option<String>,
    retry_after: Option<Duration>,
    body: Result<String, reqwest::Error>,
}

/// A successful answer: status, `Content-Range` and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub content_range: Option<String>,
    pub body: String,
}

impl FranceTravailClient {
    /// Builds a client; no call is made until the first request.
    pub fn new(config: FranceTravailConfig) -> Result<Self, IngestError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IngestError::Client(e.to_string()))?;
        let rate = NonZeroU32::new(config.rate_per_second.max(1)).expect("at least one");
        let burst = NonZeroU32::new((config.rate_per_second / 2).max(1)).expect("at least one");
        Ok(Self {
            http,
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            queue: Mutex::new(()),
            waiting: AtomicUsize::new(0),
            token: Mutex::new(None),
            in_flight: Semaphore::new(config.concurrency.max(1)),
            stats: ClientStats::default(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FranceTravailConfig {
        &self.config
    }

    /// One page of a search.
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage, IngestError> {
        let url = format!("{}/v2/offres/search", self.config.api_base_url);
        let answer = self.call(&url, &query.to_params()).await?;
        match answer.status {
            StatusCode::NO_CONTENT => Ok(SearchPage::empty(
                answer
                    .content_range
                    .as_deref()
                    .and_then(ContentRange::total_of_empty),
            )),
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
                let range = answer
                    .content_range
                    .as_deref()
                    .map(ContentRange::parse)
                    .transpose()
                    .map_err(|message| IngestError::InvalidResponse {
                        url: url.clone(),
                        message,
                    })?;
                SearchPage::parse(&answer.body, range)
                    .map_err(|message| IngestError::InvalidResponse { url, message })
            }
            status => Err(IngestError::UnexpectedStatus {
                status: status.as_u16(),
                url,
            }),
        }
    }

    /// One offer by id: `None` when the API answers 204 (the offer no longer exists).
    pub async fn offer_detail(
        &self,
        id: &str,
    ) -> Result<Option<Box<serde_json::value::RawValue>>, IngestError> {
        let url = format!("{}/v2/offres/{}", self.config.api_base_url, urlencode(id));
        let answer = self.call(&url, &[]).await?;
        match answer.status {
            StatusCode::NO_CONTENT => Ok(None),
            StatusCode::OK => serde_json::from_str(&answer.body).map(Some).map_err(|e| {
                IngestError::InvalidResponse {
                    url,
                    message: e.to_string(),
                }
            }),
            status => Err(IngestError::UnexpectedStatus {
                status: status.as_u16(),
                url,
            }),
        }
    }

    /// The cached token, or a new one. With `rejected`, the token the API just refused: it is
    /// replaced unless another call already replaced it.
    async fn access_token(
        &self,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString, IngestError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.refresh_at > Instant::now()) {
            let refused =
                rejected.is_some_and(|r| r.expose_secret() == token.value.expose_secret());
            if !refused {
                return Ok(token.value.clone());
            }
        }
        let fresh = self.request_token().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    async fn request_token(&self) -> Result<CachedToken, IngestError> {
        let url = &self.config.token_url;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose_secret()),
            ("scope", self.config.scope.as_str()),
        ];
        let mut last_error = String::new();
        for attempt in 0..=self.config.max_retries {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
            let response = match self.http.post(url).form(&form).send().await {
                Ok(response) => response,
                Err(error) => {
                    last_error = redact(&error.to_string());
                    continue;
                }
            };
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                last_error = format!("http {status}");
                continue;
            }
            if !status.is_success() {
                let message = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v["error_description"]
                            .as_str()
                            .or(v["error"].as_str())
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| format!("http {status}"));
                return Err(IngestError::Authentication {
                    url: url.clone(),
                    message,
                });
            }
            let token: TokenResponse =
                serde_json::from_str(&body).map_err(|e| IngestError::InvalidResponse {
                    url: url.clone(),
                    message: format!("token response: {e}"),
                })?;
            // Refresh early: a tenth of the lifetime before expiry, at most a minute.
            let lifetime = Duration::from_secs(token.expires_in.unwrap_or(1_499));
            let margin = (lifetime / 10).min(Duration::from_secs(60));
            tracing::debug!(
                expires_in = lifetime.as_secs(),
                "france travail token obtained"
            );
            return Ok(CachedToken {
                value: SecretString::from(token.access_token),
                refresh_at: Instant::now() + lifetime - margin,
            });
        }
        Err(IngestError::RetriesExhausted {
            attempts: self.config.max_retries + 1,
            url: url.clone(),
            last_error,
        })
    }

    /// Waits for a call's turn: in the order asked, at the rate, and within the calls in flight.
    async fn take_turn(&self) -> SemaphorePermit<'_> {
        {
            let _waiting = Waiting::new(&self.waiting);
            let _turn = self.queue.lock().await;
            self.limiter.until_ready().await;
        }
        let place = self.in_flight.acquire().await.expect("never closed");
        let in_flight = self.config.concurrency.max(1) - self.in_flight.available_permits();
        self.stats
            .in_flight_peak
            .fetch_max(in_flight as u64, Ordering::Relaxed);
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        place
    }

    /// One GET, its body read.
    async fn exchange(
        &self,
        url: &str,
        params: &[(&str, String)],
        token: &SecretString,
    ) -> Result<Exchanged, reqwest::Error> {
        let response = self
            .http
            .request(Method::GET, url)
            .query(params)
            .bearer_auth(token.expose_secret())
            .header(header::ACCEPT, "application/json")
            .send()
            .await?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_range = header(header::CONTENT_RANGE);
        let retry_after = header(header::RETRY_AFTER)
            .as_deref()
            .map(parse_retry_after);
        let status = response.status();
        Ok(Exchanged {
            status,
            content_range,
            retry_after,
            body: response.text().await,
        })
    }

    /// A call still unanswered after `hedge_after` is sent once more as soon as no other call is
    /// waiting for a turn (the rate has room for it), and the first answer wins: the end of a
    /// sweep does not wait for one slow call, and a busy sweep spends nothing on it.
    async fn hedged(
        &self,
        first: impl Future<Output = Result<Exchanged, reqwest::Error>>,
        url: &str,
        params: &[(&str, String)],
        token: &SecretString,
    ) -> Result<Exchanged, reqwest::Error> {
        let mut first = std::pin::pin!(first);
        let mut wait = self.config.hedge_after;
        loop {
            tokio::select! {
                answer = &mut first => return answer,
                () = tokio::time::sleep(wait) => {}
            }
            if self.waiting.load(Ordering::Relaxed) == 0 {
                break;
            }
            // The rate is in use: look again a little later.
            wait = Duration::from_millis(100);
        }
        let second = async {
            let _place = self.take_turn().await;
            self.stats.hedges.fetch_add(1, Ordering::Relaxed);
            self.exchange(url, params, token).await
        };
        tokio::select! {
            answer = &mut first => answer,
            answer = second => answer,
        }
    }

    /// Sends a GET with the token, the rate limit and the retry policy.
    pub(crate) async fn call(
        &self,
        url: &str,
        params: &[(&str, String)],
    ) -> Result<Answer, IngestError> {
        let mut refreshed = false;
        let mut failures = 0;
        let mut throttles = 0;
        let mut last_error;
        loop {
            let token = self.access_token(None).await?;
            let place = self.take_turn().await;
            let first = self.exchange(url, params, &token);
            let exchanged = self.hedged(first, url, params, &token).await;
            let retry_after = match exchanged {
                Err(error) => {
                    last_error = redact(&error.to_string());
                    None
                }
                Ok(Exchanged {
                    status,
                    content_range,
                    retry_after,
                    body,
                }) => match status {
                    StatusCode::UNAUTHORIZED if !refreshed => {
                        refreshed = true;
                        self.access_token(Some(&token)).await?;
                        continue;
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        throttles += 1;
                        if throttles > 30 {
                            return Err(IngestError::RetriesExhausted {
                                attempts: throttles,
                                url: url.to_owned(),
                                last_error: "http 429".into(),
                            });
                        }
                        let wait = retry_after.unwrap_or(Duration::from_secs(1))
                            + jitter(Duration::from_millis(100));
                        tracing::debug!(
                            url,
                            wait_ms = wait.as_millis() as u64,
                            "rate limited by the api"
                        );
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        drop(place);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    StatusCode::BAD_REQUEST => {
                        let body = body.unwrap_or_default();
                        let message = serde_json::from_str::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v["message"].as_str().map(str::to_owned))
                            .unwrap_or(body);
                        return Err(IngestError::BadRequest { message });
                    }
                    status if status.is_server_error() => {
                        last_error = format!("http {status}");
                        None
                    }
                    status if status.is_success() => match body {
                        Ok(body) if status == StatusCode::NO_CONTENT || is_complete_json(&body) => {
                            return Ok(Answer {
                                status,
                                content_range,
                                body,
                            });
                        }
                        Ok(_) => {
                            last_error = "truncated or invalid json body".into();
                            None
                        }
                        Err(error) => {
                            last_error = redact(&error.to_string());
                            None
                        }
                    },
                    status => {
                        return Err(IngestError::UnexpectedStatus {
                            status: status.as_u16(),
                            url: url.to_owned(),
                        });
                    }
                },
            };
            failures += 1;
            if failures > self.config.max_retries {
                return Err(IngestError::RetriesExhausted {
                    attempts: failures,
                    url: url.to_owned(),
                    last_error,
                });
            }
            drop(place);
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let wait = retry_after.unwrap_or_else(|| backoff(failures));
            tracing::debug!(url, attempt = failures, error = %last_error, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

fn is_complete_json(body: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok()
}

/// Exponential backoff with full jitter: a random wait up to 200 ms × 2^attempt, at most 10 s.
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(200)
        .saturating_mul(1 << attempt.min(6))
        .min(Duration::from_secs(10));
    jitter(ceiling).max(Duration::from_millis(50))
}

fn jitter(ceiling: Duration) -> Duration {
    let millis = ceiling.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(0..=millis))
}

/// `Retry-After` in seconds or as an HTTP date; capped at two minutes.
fn parse_retry_after(value: &str) -> Duration {
    let wait = match value.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => chrono::DateTime::parse_from_rfc2822(value)
            .ok()
            .and_then(|at| {
                (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                    .to_std()
                    .ok()
            })
            .unwrap_or(Duration::from_secs(1)),
    };
    wait.min(Duration::from_secs(120))
}

/// Error texts of the HTTP client may quote URLs; they never hold the secret, which travels in a
/// form body, but the bearer token must not leak either: drop anything after `Bearer`.
fn redact(message: &str) -> String {
    match message.find("Bearer") {
        Some(at) => format!("{}Bearer [redacted]", &message[..at]),
        None => message.to_owned(),
    }
}

fn urlencode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_dates_and_is_capped() {
        assert_eq!(parse_retry_after("3"), Duration::from_secs(3));
        assert_eq!(parse_retry_after("100000"), Duration::from_secs(120));
        assert!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= Duration::from_secs(1));
    }

    #[test]
    fn backoff_stays_within_bounds() {
        for attempt in 0..20 {
            let wait = backoff(attempt);
            assert!(
                wait >= Duration::from_millis(50) && wait <= Duration::from_secs(10),
                "{wait:?}"
            );
        }
    }

    #[test]
    fn ids_are_percent_encoded_in_paths() {
        assert_eq!(urlencode("177NMLT"), "177NMLT");
        assert_eq!(urlencode("../x"), "%2E%2E%2Fx");
    }
}
