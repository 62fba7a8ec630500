//! The configuration: one typed tree read from a TOML file, overridden by `RELAIS_SECTION__KEY`
//! environment variables (e.g. `RELAIS_FRANCETRAVAIL__CLIENT_SECRET`). Unknown keys are errors.
//! `relais.example.toml` at the repository root documents every key; a test loads it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use relais_dedup::DedupConfig;
use relais_ingest::feeds::FeedSourceConfig;
use relais_ingest::francetravail::FranceTravailConfig;
use relais_licence::{Licence, SourceTerms};
use relais_publish::{CollectiviteDefinition, FeedDefinition};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where data lives.
    pub storage: StorageConfig,
    /// The France Travail source.
    pub francetravail: FranceTravailSettings,
    /// The HTTP server.
    pub server: ServerConfig,
    /// The feeds served.
    pub feeds: Vec<FeedDefinition>,
    /// Partner job boards' feeds read.
    pub sources: Vec<FeedSourceConfig>,
    /// Deduplication.
    pub dedup: DedupConfig,
    /// Collectivités configured here (read-only; the CLI manages others in the store, and
    /// these win on a shared id).
    pub collectivites: Vec<CollectiviteDefinition>,
    /// The licence's duties over time.
    pub duties: DutiesConfig,
    /// Who the audit trail names for actions of this deployment's CLI (empty: the OS user).
    pub operator: String,
}

/// The licence's duties over time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DutiesConfig {
    /// A source whose whole stock has not been confirmed by a complete run for longer than
    /// this stops being published (the reason shows on `/v1/sources` and in `relais status`).
    pub max_staleness_hours: i64,
    /// Days after its withdrawal when an offer's retained copy is anonymised and its raw
    /// payloads purged (licence art. 7).
    pub retention_days: i64,
    /// Seconds between two writes of the traffic counters (a crash loses at most this much).
    pub traffic_flush_seconds: u64,
    /// Hours between two checks of the partner offers' apply links (0: never).
    pub link_check_hours: u64,
    /// Requests a second the link check sends to one host.
    pub link_check_per_host_per_second: u32,
}

impl Default for DutiesConfig {
    fn default() -> Self {
        Self {
            max_staleness_hours: relais_publish::DEFAULT_MAX_STALENESS_HOURS,
            retention_days: 30,
            traffic_flush_seconds: 5,
            link_check_hours: 6,
            link_check_per_host_per_second: 1,
        }
    }
}

/// Where data lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory of the SQLite database (`relais.sqlite`), the index (`index/`) and run locks.
    pub data_dir: PathBuf,
    /// The PostgreSQL store (`postgres://user:password@host:port/database`), instead of the
    /// SQLite file; set it through `RELAIS_STORAGE__URL` to keep the password out of the file.
    /// Never printed: `relais status` and `relais check` show it without the password.
    #[serde(
        serialize_with = "redacted_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<SecretString>,
    /// The index's directory when not `data_dir/index` (each process that serves keeps its
    /// own: a `relais api` beside a `relais serve` on one machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_dir: Option<PathBuf>,
    /// Days the change and publication logs keep what the worker applied. An index stopped
    /// for longer, or falling behind by more, rebuilds from the publications instead of
    /// following the log.
    pub log_retention_days: u32,
}

/// The France Travail source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FranceTravailSettings {
    /// Whether `relais serve` schedules its runs.
    pub enabled: bool,
    /// Base URL of the offers API.
    pub api_base_url: String,
    /// OAuth2 token URL (with its `realm`).
    pub token_url: String,
    /// Application client id.
    pub client_id: String,
    /// Application secret; set it through `RELAIS_FRANCETRAVAIL__CLIENT_SECRET`.
    #[serde(serialize_with = "redacted")]
    pub client_secret: SecretString,
    /// OAuth2 scope.
    pub scope: String,
    /// Calls per second allowed to this application.
    pub rate_per_second: u32,
    /// Time-out of one call, in seconds.
    pub request_timeout_seconds: u64,
    /// Retries on server errors and time-outs.
    pub max_retries: u32,
    /// Most calls in flight at once (the rate and the latency decide how many are, up to this).
    pub concurrency: usize,
    /// A call unanswered after this many milliseconds is sent once more when the rate has room.
    pub hedge_after_ms: u64,
    /// Cron expression (with seconds) of full sweeps.
    pub full_sweep_schedule: String,
    /// Cron expression (with seconds) of incremental syncs.
    pub incremental_schedule: String,
    /// Rank of France Travail's offers in the canonical election of duplicates (partner feeds: 50).
    pub trust_rank: u32,
    /// The licence under which France Travail lets its offers be reused, linked from every
    /// publication (licence art. 4): the document of your convention.
    pub licence_url: String,
}

/// Where relais says what it changes in the offers (licence art. 4).
pub const METHOD_PATH: &str = "/methode";

/// The HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Where the public reaches this server (`https://emplois.example.fr`): the absolute links
    /// of feeds, sitemaps and offer pages. Empty: `http://` and the address listened on.
    pub public_url: String,
}

fn redacted<S: serde::Serializer>(_: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("")
}

/// A store URL as it may be shown: without its password.
fn redacted_url<S: serde::Serializer>(
    url: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let shown = url
        .as_ref()
        .and_then(|url| relais_storage::postgres_location(url.expose_secret()))
        .unwrap_or_default();
    serializer.serialize_str(&shown)
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            url: None,
            index_dir: None,
            log_retention_days: 7,
        }
    }
}

impl Default for FranceTravailSettings {
    fn default() -> Self {
        let production =
            FranceTravailConfig::production(String::new(), SecretString::from(String::new()));
        Self {
            enabled: true,
            api_base_url: production.api_base_url,
            token_url: production.token_url,
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            scope: production.scope,
            rate_per_second: production.rate_per_second,
            request_timeout_seconds: production.request_timeout.as_secs(),
            max_retries: production.max_retries,
            concurrency: production.concurrency,
            hedge_after_ms: production.hedge_after.as_millis() as u64,
            full_sweep_schedule: "0 30 2 * * *".into(),
            incremental_schedule: "0 */15 * * * *".into(),
            trust_rank: 100,
            licence_url: relais_licence::FRANCE_TRAVAIL_LICENCE_URL.into(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
        }
    }
}

impl Config {
    /// Loads defaults, then the file (if given or if `relais.toml` exists), then the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match path {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "config file `{}` does not exist",
                    path.display()
                );
                figment = figment.merge(Toml::file(path));
            }
            None if Path::new("relais.toml").exists() => {
                figment = figment.merge(Toml::file("relais.toml"))
            }
            None => {}
        }
        figment
            .merge(
                Env::prefixed("RELAIS_")
                    .split("__")
                    .ignore(&["log", "config"]),
            )
            .extract::<Config>()
            .context("invalid configuration")
            .and_then(|config| {
                let mut ids = std::collections::HashSet::new();
                for source in &config.sources {
                    source.validate()?;
                    anyhow::ensure!(
                        ids.insert(&source.id),
                        "source `{}` is configured twice",
                        source.id
                    );
                    crate::scheduler::parse_schedule(&source.schedule)
                        .with_context(|| format!("source `{}`", source.id))?;
                }
                config.dedup.validate()?;
                config.validate_collectivites()?;
                if let Some(url) = config.postgres_url() {
                    anyhow::ensure!(
                        (url.starts_with("postgres://") || url.starts_with("postgresql://"))
                            && relais_storage::postgres_location(url).is_some(),
                        "[storage] url is not a PostgreSQL URL (postgres://user:password@host:port/database); it is not repeated here as it may hold a password"
                    );
                }
                anyhow::ensure!(
                    config.duties.max_staleness_hours > 0
                        && config.duties.retention_days >= 0
                        && config.duties.traffic_flush_seconds > 0,
                    "[duties]: max_staleness_hours and traffic_flush_seconds must be positive, retention_days at least 0"
                );
                Ok(config)
            })
    }

    fn validate_collectivites(&self) -> anyhow::Result<()> {
        let mut ids = std::collections::HashSet::new();
        let mut owners = std::collections::HashMap::new();
        for collectivite in &self.collectivites {
            collectivite.validate().map_err(anyhow::Error::msg)?;
            anyhow::ensure!(
                ids.insert(&collectivite.id),
                "collectivité `{}` is configured twice",
                collectivite.id
            );
            for feed in &collectivite.feeds {
                anyhow::ensure!(
                    self.feeds.iter().any(|f| &f.name == feed),
                    "collectivité `{}`: no feed is named `{feed}`",
                    collectivite.id
                );
                if let Some(other) = owners.insert(feed, &collectivite.id) {
                    anyhow::bail!(
                        "feed `{feed}` belongs to both `{other}` and `{}`",
                        collectivite.id
                    );
                }
            }
        }
        Ok(())
    }

    /// How the apply links are checked: politely, saying who asks.
    pub fn link_check_options(&self) -> relais_ingest::links::LinkCheckOptions {
        let mut options = relais_ingest::links::LinkCheckOptions {
            per_host_per_second: self.duties.link_check_per_host_per_second.max(1),
            ..Default::default()
        };
        let public = self.server.public_url.trim().trim_end_matches('/');
        if !public.is_empty() {
            options.user_agent = format!(
                "relais-link-check/{} (+{public}{METHOD_PATH})",
                env!("CARGO_PKG_VERSION")
            );
        }
        options
    }

    /// The partner sources whose offers' links are checked.
    pub fn partner_source_ids(&self) -> Vec<relais_model::SourceId> {
        self.sources
            .iter()
            .filter_map(|s| relais_model::SourceId::parse(&s.id).ok())
            .collect()
    }

    /// Who the audit trail names: `operator`, else the OS user.
    pub fn operator(&self) -> String {
        if !self.operator.trim().is_empty() {
            return self.operator.trim().to_owned();
        }
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned())
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.storage.data_dir.join("relais.sqlite")
    }

    /// The PostgreSQL store's URL, when the store is on PostgreSQL.
    pub fn postgres_url(&self) -> Option<&str> {
        self.storage
            .url
            .as_ref()
            .map(|url| url.expose_secret())
            .filter(|url| !url.trim().is_empty())
    }

    /// Where the store is, as it may be shown (never a password).
    pub fn store_location(&self) -> String {
        match self.postgres_url() {
            Some(url) => relais_storage::postgres_location(url)
                .unwrap_or_else(|| "PostgreSQL (unreadable storage.url)".to_owned()),
            None => self.database_path().display().to_string(),
        }
    }

    /// The terms of every source: France Travail's licence built in, each partner's from its
    /// `[sources.licence]`.
    pub fn licence(&self) -> Licence {
        let france_travail = SourceTerms::france_travail(&self.francetravail.licence_url);
        let partners = self.sources.iter().map(|source| {
            SourceTerms::partner(
                &source.id,
                source.name.as_deref().unwrap_or(&source.id),
                &source.licence,
            )
        });
        Licence::new(std::iter::once(france_travail).chain(partners), METHOD_PATH)
    }

    /// Whether the offers of `source` may be published at all (the licence's verdict on its
    /// terms): the others are stored but never deduplicated or indexed, so that a job is shown
    /// through a copy that may be, and is never linked to one that may not.
    pub fn publishable(&self, source: &relais_model::SourceId) -> bool {
        source.as_str() == relais_ingest::francetravail::SOURCE_ID
            || self
                .source(source.as_str())
                .is_some_and(|s| s.licence.redistribution)
    }

    /// The partner source with this id.
    pub fn source(&self, id: &str) -> Option<&FeedSourceConfig> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// The trust rank of a source's offers (France Travail, a partner feed, else 0).
    pub fn trust_rank(&self, source: &relais_model::SourceId) -> i32 {
        if source.as_str() == relais_ingest::francetravail::SOURCE_ID {
            return self.francetravail.trust_rank as i32;
        }
        self.source(source.as_str())
            .map_or(0, |s| s.trust_rank as i32)
    }

    /// Where partner feeds are downloaded to.
    pub fn downloads_dir(&self) -> PathBuf {
        self.storage.data_dir.join("downloads")
    }

    /// The index directory.
    pub fn index_dir(&self) -> PathBuf {
        match &self.storage.index_dir {
            Some(dir) => dir.clone(),
            None => self.storage.data_dir.join("index"),
        }
    }
}

impl FranceTravailSettings {
    /// The client configuration.
    pub fn client_config(&self) -> FranceTravailConfig {
        FranceTravailConfig {
            api_base_url: self.api_base_url.trim_end_matches('/').to_owned(),
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            scope: self.scope.clone(),
            rate_per_second: self.rate_per_second,
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
            max_retries: self.max_retries,
            hedge_after: Duration::from_millis(self.hedge_after_ms),
            concurrency: self.concurrency,
        }
    }

    /// Whether credentials are set.
    pub fn has_credentials(&self) -> bool {
        !self.client_id.is_empty() && !self.client_secret.expose_secret().is_empty()
    }
}

#[cfg(test)]
mod tests;
