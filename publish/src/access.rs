//! Who may use the search API and the reports: collectivités, their API keys, each key's
//! scopes, rate, daily quota and daily cap on offers returned (licence art. 3: no key can page
//! through the whole base). A key answers only within its collectivité's territory.
//!
//! The registry is rebuilt from the configuration and the store ([`crate::AppState::refresh_access`],
//! every few seconds in `relais serve`), so that a key created or revoked by the CLI takes effect
//! without a restart. A key is never logged: only its public id.

mod keys;
mod usage;

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use relais_index::PlaceFilter;
use relais_storage::{ApiKeyRecord, CollectiviteRecord, KeyUsage};
use relais_territory::{Territory, TerritoryError, parse_territory};
use serde::{Deserialize, Serialize};

pub use keys::{IssuedKey, hash_key, issue_key};
use usage::DailyUsage;

use crate::ApiError;

/// What a key may do.
pub const SCOPES: &[&str] = &["search", "reports"];

/// A collectivité: the territory it rediffuses, its feeds, and who to contact there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectiviteDefinition {
    /// Short name used by the CLI and in reports (`grand-cahors`).
    pub id: String,
    /// Name (`Communauté d'agglomération du Grand Cahors`).
    pub name: String,
    /// SIREN (9 digits).
    pub siren: String,
    /// Territory expression (`epci:200023737`).
    pub territory: String,
    /// Names of its feeds: their traffic is counted for it.
    #[serde(default)]
    pub feeds: Vec<String>,
    /// Who to contact there (for the operator; never published).
    #[serde(default)]
    pub contact: Option<String>,
}

impl CollectiviteDefinition {
    /// Checks the id, the SIREN and the territory.
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(format!(
                "collectivité id `{}`: use lower-case letters, digits and `-` (at most 64)",
                self.id
            ));
        }
        if self.siren.len() != 9 || !self.siren.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "collectivité `{}`: SIREN `{}` is not 9 digits",
                self.id, self.siren
            ));
        }
        parse_territory(&self.territory).map_err(|e| format!("collectivité `{}`: {e}", self.id))?;
        Ok(())
    }
}

impl From<CollectiviteRecord> for CollectiviteDefinition {
    fn from(record: CollectiviteRecord) -> Self {
        Self {
            id: record.id,
            name: record.name,
            siren: record.siren,
            territory: record.territory,
            feeds: record.feeds,
            contact: record.contact,
        }
    }
}

/// A collectivité with its territory compiled.
#[derive(Debug)]
pub(crate) struct Collectivite {
    pub(crate) definition: CollectiviteDefinition,
    pub(crate) territory: Territory,
    /// What the index filters on: every search of its keys carries it.
    pub(crate) places: Arc<PlaceFilter>,
}

impl Collectivite {
    fn compile(definition: CollectiviteDefinition) -> Result<Self, TerritoryError> {
        let territory = parse_territory(&definition.territory)?;
        Ok(Self {
            places: Arc::new(PlaceFilter::from(&territory)),
            territory,
            definition,
        })
    }

    /// Whether an offer at this commune (else known only by its département or région) is
    /// inside.
    pub(crate) fn covers(
        &self,
        commune: Option<&str>,
        departement: Option<&str>,
        region: Option<&str>,
    ) -> bool {
        match commune {
            Some(code) => self.territory.contains_code(code),
            None => {
                // Known by its département alone: the région is the département's.
                let region = region.or_else(|| {
                    departement
                        .and_then(|d| relais_territory::geography().departement(d))
                        .map(|(_, region)| region)
                });
                departement.is_some_and(|d| self.territory.contains_departement(d))
                    || region.is_some_and(|r| self.territory.contains_region(r))
            }
        }
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

#[derive(Debug)]
struct Key {
    record: ApiKeyRecord,
    limiter: Arc<Limiter>,
    collectivite: Arc<Collectivite>,
}

#[derive(Debug, Default)]
struct Registry {
    collectivites: BTreeMap<String, Arc<Collectivite>>,
    /// Feed name → collectivité id.
    feed_owners: HashMap<String, String>,
    keys: HashMap<String, Arc<Key>>,
}

/// The collectivités and keys, and each key's use of the day.
#[derive(Debug, Default)]
pub(crate) struct Access {
    /// Those of the configuration file: they win over stored ones with the same id.
    configured: Vec<CollectiviteDefinition>,
    registry: RwLock<Registry>,
    usage: Mutex<DailyUsage>,
}

/// A request made with a valid key of the right scope, within its limits.
#[derive(Debug)]
pub(crate) struct Caller {
    /// The key's public id.
    pub(crate) key_id: String,
    pub(crate) collectivite: Arc<Collectivite>,
    daily_offers: Option<i64>,
    offers_today: i64,
    limit: u32,
    remaining: u32,
}

impl Caller {
    /// At most how many offers this request may still return today.
    pub(crate) fn offers_left(&self) -> Option<usize> {
        self.daily_offers
            .map(|cap| (cap - self.offers_today).max(0) as usize)
    }

    /// Adds the `RateLimit-*` headers of the key's rate.
    pub(crate) fn decorate(&self, response: &mut Response) {
        rate_headers(response.headers_mut(), self.limit, self.remaining, 1);
    }
}

pub(crate) fn rate_headers(headers: &mut HeaderMap, limit: u32, remaining: u32, reset: u64) {
    headers.insert("ratelimit-limit", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(reset));
    if let Ok(policy) = HeaderValue::from_str(&format!("{limit};w=1")) {
        headers.insert("ratelimit-policy", policy);
    }
}

impl Access {
    /// The configured collectivités, compiled (a territory that does not compile is an error).
    pub(crate) fn new(configured: Vec<CollectiviteDefinition>) -> Result<Self, TerritoryError> {
        let access = Self {
            configured,
            ..Self::default()
        };
        let collectivites = access
            .configured
            .iter()
            .map(|d| Ok((d.id.clone(), Arc::new(Collectivite::compile(d.clone())?))))
            .collect::<Result<BTreeMap<_, _>, TerritoryError>>()?;
        *access.registry.write().expect("registry lock") =
            Registry::of(collectivites, Vec::new(), &Registry::default());
        Ok(access)
    }

    /// Rebuilds the registry from the stored collectivités and keys (the configured
    /// collectivités win on a shared id). A key keeps its rate limiter while its rate is
    /// unchanged.
    pub(crate) fn reload(&self, stored: Vec<CollectiviteRecord>, keys: Vec<ApiKeyRecord>) {
        // Compiled territories are kept while their definition is unchanged: a reload every
        // few seconds compiles only what changed.
        let previous = self
            .registry
            .read()
            .expect("registry lock")
            .collectivites
            .clone();
        let mut collectivites = BTreeMap::new();
        for definition in self
            .configured
            .iter()
            .cloned()
            .chain(stored.into_iter().map(CollectiviteDefinition::from))
        {
            if collectivites.contains_key(&definition.id) {
                continue;
            }
            let id = definition.id.clone();
            if let Some(kept) = previous.get(&id).filter(|c| c.definition == definition) {
                collectivites.insert(id, kept.clone());
                continue;
            }
            match Collectivite::compile(definition) {
                Ok(compiled) => {
                    collectivites.insert(id, Arc::new(compiled));
                }
                Err(error) => tracing::warn!(collectivite = %id, %error, "collectivité left out"),
            }
        }
        let mut registry = self.registry.write().expect("registry lock");
        *registry = Registry::of(collectivites, keys, &registry);
    }

    /// Counts the day's use already stored (at start).
    pub(crate) fn load_usage(&self, day: &str, stored: Vec<(String, KeyUsage)>) {
        self.usage.lock().expect("usage lock").load(day, stored);
    }

    /// The collectivité that owns a feed.
    pub(crate) fn feed_owner(&self, feed: &str) -> Option<String> {
        self.registry
            .read()
            .expect("registry lock")
            .feed_owners
            .get(feed)
            .cloned()
    }

    /// A collectivité by id.
    pub(crate) fn collectivite(&self, id: &str) -> Option<Arc<Collectivite>> {
        self.registry
            .read()
            .expect("registry lock")
            .collectivites
            .get(id)
            .cloned()
    }

    /// Checks the request's key for `scope`, its daily quota, its daily cap on offers and its
    /// rate, and counts the request.
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Result<Caller, ApiError> {
        let key = bearer(headers)?;
        let id = keys::key_id(key).ok_or(ApiError::InvalidApiKey)?;
        let entry = self
            .registry
            .read()
            .expect("registry lock")
            .keys
            .get(id)
            .cloned()
            .ok_or(ApiError::InvalidApiKey)?;
        if hash_key(key) != entry.record.secret_hash {
            return Err(ApiError::InvalidApiKey);
        }
        if entry.record.revoked_at.is_some() {
            return Err(ApiError::RevokedApiKey);
        }
        if !entry.record.scopes.iter().any(|s| s == scope) {
            return Err(ApiError::InsufficientScope(scope.to_owned()));
        }
        let day = crate::traffic::paris_day(now);
        let used = self.usage.lock().expect("usage lock").today(id, &day);
        let until_tomorrow = crate::traffic::seconds_to_next_day(now);
        if entry
            .record
            .daily_quota
            .is_some_and(|quota| used.requests >= quota)
        {
            return Err(ApiError::DailyQuotaExceeded {
                retry_after: until_tomorrow,
            });
        }
        if entry
            .record
            .daily_offers
            .is_some_and(|cap| used.offers >= cap)
        {
            return Err(ApiError::DailyOffersExceeded {
                retry_after: until_tomorrow,
            });
        }
        let limit = entry.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                limit: not_until.quota().burst_size().get(),
            }
        })?;
        self.usage.lock().expect("usage lock").add(id, &day, 1, 0);
        Ok(Caller {
            key_id: id.to_owned(),
            collectivite: entry.collectivite.clone(),
            daily_offers: entry.record.daily_offers,
            offers_today: used.offers,
            limit: limit.quota().burst_size().get(),
            remaining: limit.remaining_burst_capacity(),
        })
    }

    /// Counts the offers a key's request returned.
    pub(crate) fn count_offers(&self, key_id: &str, offers: usize, now: DateTime<Utc>) {
        let day = crate::traffic::paris_day(now);
        self.usage
            .lock()
            .expect("usage lock")
            .add(key_id, &day, 0, offers as i64);
    }

    pub(crate) fn take_usage(&self) -> Vec<(String, String, KeyUsage)> {
        self.usage.lock().expect("usage lock").take_pending()
    }

    pub(crate) fn restore_usage(&self, rows: Vec<(String, String, KeyUsage)>) {
        self.usage.lock().expect("usage lock").restore_pending(rows);
    }
}

impl Registry {
    fn of(
        collectivites: BTreeMap<String, Arc<Collectivite>>,
        keys: Vec<ApiKeyRecord>,
        previous: &Registry,
    ) -> Self {
        let feed_owners = collectivites
            .values()
            .flat_map(|c| {
                c.definition
                    .feeds
                    .iter()
                    .map(|feed| (feed.clone(), c.definition.id.clone()))
            })
            .collect();
        let keys = keys
            .into_iter()
            .filter_map(|record| {
                let Some(collectivite) = collectivites.get(&record.collectivite).cloned() else {
                    tracing::warn!(key = %record.id, collectivite = %record.collectivite, "key of an unknown collectivité left out");
                    return None;
                };
                let limiter = match previous.keys.get(&record.id) {
                    Some(old) if old.record.rate_per_second == record.rate_per_second => {
                        old.limiter.clone()
                    }
                    _ => Arc::new(limiter(record.rate_per_second)),
                };
                Some((
                    record.id.clone(),
                    Arc::new(Key {
                        record,
                        limiter,
                        collectivite,
                    }),
                ))
            })
            .collect();
        Self {
            collectivites,
            feed_owners,
            keys,
        }
    }
}

/// A limiter of `rate` requests a second, with a burst of one second's worth.
fn limiter(rate: f64) -> Limiter {
    let rate = if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        1.0
    };
    let burst = NonZeroU32::new(rate.ceil() as u32).unwrap_or(NonZeroU32::MIN);
    let period = Duration::from_secs_f64(1.0 / rate);
    let quota = Quota::with_period(period)
        .expect("a positive period")
        .allow_burst(burst);
    RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>()
}

/// The key of `Authorization: Bearer <key>`.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::MissingApiKey)?;
    let value = value.to_str().map_err(|_| ApiError::InvalidApiKey)?;
    let (scheme, key) = value.split_once(' ').ok_or(ApiError::InvalidApiKey)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidApiKey);
    }
    Ok(key.trim())
}

impl crate::AppState {
    /// Reads the collectivités and keys from the store again (a key created or revoked by the
    /// CLI takes effect).
    pub async fn refresh_access(&self) -> Result<(), relais_storage::StorageError> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        let collectivites = store.collectivites().await?;
        let keys = store.api_keys().await?;
        self.inner.access.reload(collectivites, keys);
        Ok(())
    }

    /// Reads the keys' use of today from the store (at start: quotas hold across restarts).
    pub async fn load_key_usage(&self) -> Result<(), relais_storage::StorageError> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        let day = crate::traffic::paris_day(self.now());
        let used = store.key_usage(&day).await?;
        self.inner.access.load_usage(&day, used);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
