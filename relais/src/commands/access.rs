//! `relais collectivite add|list|show` and `relais key create|list|revoke`: the collectivités
//! and their app developers' API keys. Every change is recorded in the audit trail; a key is
//! printed once, at its creation, and only its hash is stored.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand};
use relais_publish::{CollectiviteDefinition, SCOPES, issue_key};
use relais_storage::{ApiKeyRecord, AuditEntry, CollectiviteRecord, Store};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::config::Config;
use crate::pipeline;

/// `relais collectivite …`.
#[derive(Debug, Subcommand)]
pub enum CollectiviteCommand {
    /// Adds a collectivité to the store, or changes one added before.
    Add(CollectiviteArgs),
    /// Lists the collectivités, from the configuration file and from the store.
    List {
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows one collectivité, its territory and its keys.
    Show {
        /// Its id.
        id: String,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A collectivité's fields.
#[derive(Debug, Args)]
pub struct CollectiviteArgs {
    /// Short name used by the CLI and in reports (`grand-cahors`).
    #[arg(long)]
    id: String,
    /// Name (`Communauté d'agglomération du Grand Cahors`).
    #[arg(long)]
    name: String,
    /// SIREN (9 digits).
    #[arg(long)]
    siren: String,
    /// Territory expression (`epci:200023737`; see `relais territory show`).
    #[arg(long)]
    territory: String,
    /// A feed of the configuration whose traffic counts for it (repeatable).
    #[arg(long = "feed")]
    feeds: Vec<String>,
    /// Who to contact there (for the operator; never published).
    #[arg(long)]
    contact: Option<String>,
}

/// `relais key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Creates a key for a collectivité's app and prints it, once.
    Create(KeyCreateArgs),
    /// Lists the keys (their public ids, never the keys).
    List {
        /// Only this collectivité's.
        #[arg(long)]
        collectivite: Option<String>,
        /// Prints JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revokes a key: it stops working within seconds, even on a running server.
    Revoke {
        /// The key's public id (`relais key list`).
        id: String,
    },
}

/// `relais key create`.
#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// The collectivité whose territory the key answers within.
    #[arg(long)]
    collectivite: String,
    /// What it may do: `search`, `reports`, or both (`search,reports`).
    #[arg(long, default_value = "search", value_delimiter = ',')]
    scope: Vec<String>,
    /// Requests allowed: `10/s`, `600/min`, `3600/h`.
    #[arg(long, default_value = "10/s")]
    rate: String,
    /// Requests allowed per day (Europe/Paris).
    #[arg(long, default_value_t = 100_000)]
    daily_quota: i64,
    /// Offers it may be given per day over every page (licence art. 3: no bulk extraction).
    #[arg(long, default_value_t = 20_000)]
    daily_offers: i64,
    /// What the key is for (`application mobile`).
    #[arg(long)]
    label: Option<String>,
    /// Prints `{"id": "...", "key": "..."}`.
    #[arg(long)]
    json: bool,
}

/// The collectivités of the configuration and of the store (the configuration wins on a
/// shared id), each with where it is defined.
async fn all_collectivites(
    config: &Config,
    store: &Store,
) -> anyhow::Result<Vec<(CollectiviteDefinition, &'static str)>> {
    let mut all: Vec<(CollectiviteDefinition, &'static str)> = config
        .collectivites
        .iter()
        .map(|c| (c.clone(), "config"))
        .collect();
    for stored in store.collectivites().await? {
        if !all.iter().any(|(c, _)| c.id == stored.id) {
            all.push((stored.into(), "store"));
        }
    }
    all.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    Ok(all)
}

/// The collectivité with this id, from the configuration or the store.
pub async fn find_collectivite(
    config: &Config,
    store: &Store,
    id: &str,
) -> anyhow::Result<CollectiviteDefinition> {
    all_collectivites(config, store)
        .await?
        .into_iter()
        .map(|(c, _)| c)
        .find(|c| c.id == id)
        .with_context(|| format!("no collectivité `{id}` (see `relais collectivite list`)"))
}

/// Records an operator action in the audit trail.
pub async fn audit(
    config: &Config,
    store: &Store,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .record_audit(&AuditEntry {
            at: Utc::now(),
            actor: config.operator(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            details,
        })
        .await?;
    Ok(())
}

/// `relais collectivite …`.
pub async fn collectivite(
    config_path: Option<&Path>,
    command: CollectiviteCommand,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = pipeline::open_store(&config).await?;
    match command {
        CollectiviteCommand::Add(args) => add(&config, &store, args).await?,
        CollectiviteCommand::List { json } => {
            let all = all_collectivites(&config, &store).await?;
            if json {
                let list: Vec<_> = all
                    .iter()
                    .map(|(c, origin)| json!({"collectivite": c, "defined_in": origin}))
                    .collect();
                println!("{}", json!({ "collectivites": list }));
            } else if all.is_empty() {
                println!(
                    "no collectivité: add one with `relais collectivite add` or in the configuration"
                );
            } else {
                for (c, origin) in all {
                    println!(
                        "{}\t{}\tSIREN {}\t{}\tfeeds: {}\t({origin})",
                        c.id,
                        c.name,
                        c.siren,
                        c.territory,
                        if c.feeds.is_empty() {
                            "-".to_owned()
                        } else {
                            c.feeds.join(", ")
                        }
                    );
                }
            }
        }
        CollectiviteCommand::Show { id, json } => {
            let c = find_collectivite(&config, &store, &id).await?;
            let territory = relais_territory::parse_territory(&c.territory)?;
            let keys: Vec<_> = store
                .api_keys()
                .await?
                .into_iter()
                .filter(|k| k.collectivite == c.id)
                .collect();
            if json {
                let keys: Vec<_> = keys.iter().map(key_json).collect();
                println!(
                    "{}",
                    json!({"collectivite": c, "communes": territory.len(), "population": territory.population(), "keys": keys})
                );
            } else {
                println!("{} ({})", c.name, c.id);
                println!("  SIREN {}", c.siren);
                println!(
                    "  territory {}: {} communes, {} inhabitants",
                    c.territory,
                    territory.len(),
                    territory.population()
                );
                println!(
                    "  feeds: {}",
                    if c.feeds.is_empty() {
                        "-".to_owned()
                    } else {
                        c.feeds.join(", ")
                    }
                );
                if let Some(contact) = &c.contact {
                    println!("  contact: {contact}");
                }
                for key in &keys {
                    println!("  key {}", key_line(key));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn add(config: &Config, store: &Store, args: CollectiviteArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.collectivites.iter().any(|c| c.id == args.id),
        "collectivité `{}` is defined in the configuration file, which wins: change it there",
        args.id
    );
    let definition = CollectiviteDefinition {
        id: args.id,
        name: args.name,
        siren: args.siren,
        territory: args.territory,
        feeds: args.feeds,
        contact: args.contact,
    };
    definition.validate().map_err(anyhow::Error::msg)?;
    for feed in &definition.feeds {
        anyhow::ensure!(
            config.feeds.iter().any(|f| &f.name == feed),
            "no feed is named `{feed}` in the configuration"
        );
    }
    let existing = store
        .collectivites()
        .await?
        .into_iter()
        .find(|c| c.id == definition.id);
    for other in all_collectivites(config, store).await? {
        if other.0.id == definition.id {
            continue;
        }
        if let Some(feed) = definition.feeds.iter().find(|f| other.0.feeds.contains(f)) {
            anyhow::bail!("feed `{feed}` already belongs to `{}`", other.0.id);
        }
    }
    let now = Utc::now();
    store
        .upsert_collectivite(&CollectiviteRecord {
            id: definition.id.clone(),
            name: definition.name.clone(),
            siren: definition.siren.clone(),
            territory: definition.territory.clone(),
            feeds: definition.feeds.clone(),
            contact: definition.contact.clone(),
            created_at: existing.as_ref().map_or(now, |c| c.created_at),
            updated_at: now,
        })
        .await?;
    let action = if existing.is_some() {
        "collectivite.change"
    } else {
        "collectivite.add"
    };
    audit(
        config,
        store,
        action,
        &definition.id,
        serde_json::to_value(&definition)?,
    )
    .await?;
    println!(
        "{} collectivité `{}` ({})",
        if existing.is_some() {
            "changed"
        } else {
            "added"
        },
        definition.id,
        definition.name
    );
    Ok(())
}

fn key_json(key: &ApiKeyRecord) -> serde_json::Value {
    json!({
        "id": key.id,
        "collectivite": key.collectivite,
        "scopes": key.scopes,
        "rate_per_second": key.rate_per_second,
        "daily_quota": key.daily_quota,
        "daily_offers": key.daily_offers,
        "label": key.label,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    })
}

fn key_line(key: &ApiKeyRecord) -> String {
    format!(
        "{}\t{}\t{}\t{}/s\tquota {}/day\t{} offers/day\t{}{}",
        key.id,
        key.collectivite,
        key.scopes.join(","),
        key.rate_per_second,
        key.daily_quota.map_or("-".to_owned(), |q| q.to_string()),
        key.daily_offers.map_or("-".to_owned(), |q| q.to_string()),
        key.label.as_deref().unwrap_or(""),
        key.revoked_at
            .map(|at| format!("\trevoked {at}"))
            .unwrap_or_default()
    )
}

/// Reads `10/s`, `600/min`, `3600/h` (or a bare number of requests a second).
fn parse_rate(text: &str) -> anyhow::Result<f64> {
    let (count, per) = text.split_once('/').unwrap_or((text, "s"));
    let count: f64 = count
        .trim()
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .with_context(|| {
            format!("rate `{text}`: give a positive number of requests, e.g. `10/s`")
        })?;
    let seconds = match per.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        other => anyhow::bail!("rate `{text}`: `{other}` is not `s`, `min` or `h`"),
    };
    let rate = count / seconds;
    anyhow::ensure!(
        rate <= 1_000_000.0,
        "rate `{text}`: at most 1000000 a second"
    );
    Ok(rate)
}

/// `relais key …`.
pub async fn key(config_path: Option<&Path>, command: KeyCommand) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = pipeline::open_store(&config).await?;
    match command {
        KeyCommand::Create(args) => {
            let (id, key) = create_key(&config, &store, &args).await?;
            if args.json {
                println!("{}", json!({"id": id, "key": key.expose_secret()}));
            } else {
                println!("key {id} for `{}`:", args.collectivite);
                println!("{}", key.expose_secret());
                eprintln!(
                    "it is shown only now: keep it in the app's secrets; relais keeps only its hash"
                );
            }
        }
        KeyCommand::List { collectivite, json } => {
            let keys: Vec<_> = store
                .api_keys()
                .await?
                .into_iter()
                .filter(|k| collectivite.as_ref().is_none_or(|c| &k.collectivite == c))
                .collect();
            if json {
                let keys: Vec<_> = keys.iter().map(key_json).collect();
                println!("{}", json!({ "keys": keys }));
            } else if keys.is_empty() {
                println!("no key");
            } else {
                for key in &keys {
                    println!("{}", key_line(key));
                }
            }
        }
        KeyCommand::Revoke { id } => {
            anyhow::ensure!(
                store.revoke_api_key(&id, Utc::now()).await?,
                "no active key `{id}` (see `relais key list`)"
            );
            audit(&config, &store, "key.revoke", &id, json!({})).await?;
            println!("key {id} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates a key; returns its id and the key (shown once).
pub async fn create_key(
    config: &Config,
    store: &Store,
    args: &KeyCreateArgs,
) -> anyhow::Result<(String, secrecy::SecretString)> {
    let collectivite = find_collectivite(config, store, &args.collectivite).await?;
    let mut scopes: Vec<String> = Vec::new();
    for scope in &args.scope {
        let scope = scope.trim();
        anyhow::ensure!(
            SCOPES.contains(&scope),
            "scope `{scope}`: use {}",
            SCOPES.join(" or ")
        );
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    anyhow::ensure!(!scopes.is_empty(), "give at least one scope");
    anyhow::ensure!(
        args.daily_quota > 0 && args.daily_offers > 0,
        "the daily quota and the daily offers must be positive"
    );
    let rate = parse_rate(&args.rate)?;
    let issued = issue_key();
    let record = ApiKeyRecord {
        id: issued.id.clone(),
        collectivite: collectivite.id.clone(),
        secret_hash: issued.secret_hash,
        scopes,
        rate_per_second: rate,
        daily_quota: Some(args.daily_quota),
        daily_offers: Some(args.daily_offers),
        label: args.label.clone(),
        created_at: Utc::now(),
        revoked_at: None,
    };
    store.insert_api_key(&record).await?;
    audit(config, store, "key.create", &record.id, key_json(&record)).await?;
    Ok((issued.id, issued.key))
}

impl KeyCreateArgs {
    /// A key of `scopes` for `collectivite` with the default limits (the demo's).
    pub fn defaults(collectivite: &str, scopes: &[&str]) -> Self {
        Self {
            collectivite: collectivite.to_owned(),
            scope: scopes.iter().map(|s| s.to_string()).collect(),
            rate: "10/s".into(),
            daily_quota: 100_000,
            daily_offers: 20_000,
            label: Some("démonstration".into()),
            json: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates_are_read_per_second() {
        assert_eq!(parse_rate("10/s").unwrap(), 10.0);
        assert_eq!(parse_rate("600/min").unwrap(), 10.0);
        assert_eq!(parse_rate("3600/h").unwrap(), 1.0);
        assert_eq!(parse_rate("2").unwrap(), 2.0);
        for bad in ["0/s", "-1/s", "x/s", "10/day", "10000000/s"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
