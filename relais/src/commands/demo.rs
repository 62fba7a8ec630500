//! `relais demo`: everything on one machine with nothing to set up: a France Travail simulator,
//! a full sweep into a local SQLite store, partner feeds (a generated HelloWork feed and the real
//! samples), the index, and the server, with the URLs to open.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use relais_fixtures::sample_feeds::SAMPLE_FEEDS;
use relais_fixtures::{SimulatorConfig, start_simulator};
use relais_ingest::feeds::{FeedRunOptions, FeedSourceConfig};
use relais_publish::{CollectiviteDefinition, FeedDefinition};
use secrecy::{ExposeSecret as _, SecretString};
use tokio_util::sync::CancellationToken;

use crate::commands::access::{KeyCreateArgs, create_key};
use crate::commands::serve::{serve_until_interrupted, start_live_index, start_schedules};
use crate::config::Config;
use crate::pipeline::{self, FranceTravailRun};

/// Arguments of `relais demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port of the server on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Where the demo keeps its database and index.
    #[arg(long, default_value = "data/demo")]
    data_dir: PathBuf,
    /// Offers in the simulated stock.
    #[arg(long, default_value_t = 5_000)]
    offers: u64,
}

/// Seed of the simulated France Travail stock.
const SIMULATOR_SEED: u64 = 2026;

/// Writes a generated HelloWork feed and the sample feeds into `dir`; returns their sources.
fn write_partner_feeds(
    dir: &std::path::Path,
    offers: u64,
) -> anyhow::Result<Vec<FeedSourceConfig>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let source = |id: &str,
                  name: &str,
                  path: &std::path::Path,
                  format: &str|
     -> anyhow::Result<FeedSourceConfig> {
        let text = format!(
            "id = {id:?}\nname = {name:?}\nurl = {:?}\nformat = {format}\n",
            path.display().to_string()
        );
        Ok(toml::from_str(&text)?)
    };
    let generated = dir.join("hellowork.xml");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&generated)?);
    // The simulator's own seed: HelloWork republishes a fifth of France Travail's stock (the same
    // jobs, in its own shape), which deduplication then shows once with "also published on".
    relais_fixtures::partner_feed::write_hellowork_feed(
        &mut out,
        SIMULATOR_SEED,
        chrono::Utc::now(),
        offers / 5,
        u64::MAX,
    )?;
    std::io::Write::flush(&mut out)?;
    let mut sources = vec![source(
        "hellowork",
        "HelloWork",
        &generated,
        r#"{ type = "xml", preset = "hellowork" }"#,
    )?];
    for sample in SAMPLE_FEEDS {
        let path = dir.join(sample.file);
        std::fs::write(&path, sample.bytes)?;
        sources.push(source(sample.id, sample.name, &path, sample.format)?);
    }
    Ok(sources)
}

/// Runs the demo until interrupted.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let rate = 100;
    let simulator_config = SimulatorConfig {
        offers: args.offers,
        seed: SIMULATOR_SEED,
        rate_per_second: rate,
        ..SimulatorConfig::default()
    };
    let simulator =
        start_simulator(simulator_config, SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let (client_id, secret) = simulator.credentials();
    let mut config = Config::default();
    config.storage.data_dir = args.data_dir.clone();
    let settings = &mut config.francetravail;
    settings.api_base_url = simulator.api_url();
    settings.token_url = simulator.token_url();
    settings.client_id = client_id;
    settings.client_secret = SecretString::from(secret);
    settings.rate_per_second = rate;
    settings.full_sweep_schedule = "0 0 * * * *".into();
    settings.incremental_schedule = "0 * * * * *".into();
    let feed = |name: &str, title: &str, territory: &str| FeedDefinition {
        name: name.into(),
        title: title.into(),
        territory: territory.into(),
    };
    config.feeds = vec![
        feed(
            "haute-garonne",
            "Offres d'emploi en Haute-Garonne",
            "dep:31",
        ),
        feed(
            "grand-cahors",
            "Offres d'emploi du Grand Cahors",
            "epci:200023737",
        ),
        feed("paris", "Offres d'emploi à Paris", "commune:75056"),
        feed("occitanie", "Offres d'emploi en Occitanie", "region:76"),
    ];
    // The demo collectivité (the département of the search URL) and the Grand Cahors, kept in
    // the store as `relais collectivite add` does: `relais report` on the demo's data directory
    // finds them.
    let collectivites = vec![
        CollectiviteDefinition {
            id: "haute-garonne".into(),
            name: "Département de la Haute-Garonne".into(),
            siren: "223100017".into(),
            territory: "dep:31".into(),
            feeds: vec!["haute-garonne".into()],
            contact: None,
        },
        CollectiviteDefinition {
            id: "grand-cahors".into(),
            name: "Communauté d'agglomération du Grand Cahors".into(),
            siren: "200023737".into(),
            territory: "epci:200023737".into(),
            feeds: vec!["grand-cahors".into()],
            contact: None,
        },
    ];
    config.operator = "relais demo".into();

    eprintln!(
        "France Travail simulator at {} with {} offers",
        simulator.base_url(),
        args.offers
    );
    let (store, index) = pipeline::open(&config).await?;
    for collectivite in collectivites {
        let now = chrono::Utc::now();
        store
            .upsert_collectivite(&relais_storage::CollectiviteRecord {
                id: collectivite.id,
                name: collectivite.name,
                siren: collectivite.siren,
                territory: collectivite.territory,
                feeds: collectivite.feeds,
                contact: collectivite.contact,
                created_at: now,
                updated_at: now,
            })
            .await?;
    }
    let report = pipeline::sync_francetravail(&config, &store, FranceTravailRun::Full)
        .await?
        .context("another demo is running on this data directory")?;
    eprintln!(
        "full sweep: {} offers stored ({} requests, {:.1} s)",
        report.new + report.changed + report.unchanged,
        report.requests,
        report.seconds
    );
    config.sources = write_partner_feeds(&args.data_dir.join("partner-feeds"), args.offers)?;
    for source in &config.sources {
        let report = pipeline::sync_feed(&config, &store, &source.id, FeedRunOptions::default())
            .await?
            .context("another demo is running on this data directory")?;
        eprintln!(
            "partner feed {}: {:?}, {} offers read, {} new, {} withdrawn",
            source.id, report.outcome, report.fetched, report.new, report.withdrawn
        );
    }
    let done = pipeline::reindex(&config, &store, &index).await?;
    eprintln!(
        "index: {} offers, {} duplicates shown as \"also published on\"",
        done.indexed, done.duplicates
    );

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .with_context(|| format!("cannot listen on port {}", args.port))?;
    let base = format!("http://{}", listener.local_addr()?);
    let (_, key) = create_key(
        &config,
        &store,
        &KeyCreateArgs::defaults("haute-garonne", &["search", "reports"]),
    )
    .await?;
    crate::say!("feed: {base}/v1/feeds/haute-garonne/offers");
    crate::say!(
        "other feeds: {base}/v1/feeds/grand-cahors/offers {base}/v1/feeds/occitanie/offers {base}/v1/feeds/paris/offers?q=infirmier"
    );
    crate::say!(
        "search: {base}/v1/offers?q=infirmier&around=31555&radius_km=30&sort=distance&facets=contract,departement"
    );
    // One offer of the first feed, with the other boards that carry it when there is one.
    let sample = index.search(&relais_index::FeedQuery {
        places: Some(std::sync::Arc::new(relais_index::PlaceFilter::from(
            &relais_territory::parse_territory("dep:31")?,
        ))),
        text: None,
        offset: 0,
        limit: 100,
        withheld: relais_index::Withheld::default(),
    })?;
    let shown = sample
        .offers
        .iter()
        .find(|o| !o.also_published_on.is_empty())
        .or(sample.offers.first());
    if let Some(offer) = shown {
        crate::say!("offer: {base}/offres/{}", offer.key);
    }
    crate::say!("widget: {base}/widget/haute-garonne");
    crate::say!("site: {base}/exemple/haute-garonne");
    crate::say!("rss: {base}/v1/feeds/haute-garonne/rss");
    crate::say!("atom: {base}/v1/feeds/haute-garonne/atom");
    crate::say!("method: {base}/methode");
    crate::say!("health: {base}/healthz");
    crate::say!("sources: {base}/v1/sources");
    crate::say!("feeds: {base}/v1/feeds");
    crate::say!("simulator: {}", simulator.base_url());
    // The demo's configuration, for the other commands: `relais --config <it> status`.
    let config_path = args.data_dir.join("relais.toml");
    let mut saved = config.clone();
    saved.server.public_url = base.clone();
    std::fs::write(&config_path, toml::to_string(&saved)?)
        .with_context(|| format!("cannot write `{}`", config_path.display()))?;
    crate::say!("config: {}", config_path.display());
    // The key of the demo collectivité's app: send it as `Authorization: Bearer <key>` to the
    // search API and the reports.
    crate::say!("api-key: {}", key.expose_secret());
    crate::say!(
        "report: {base}/v1/reports?from={today}&to={today}&format=html",
        today = relais_publish::reports::today()
    );
    eprintln!("serving; an incremental sync runs every minute; Ctrl-C stops");
    let cancel = CancellationToken::new();
    let live = start_live_index(&config, &store, &index, &cancel);
    let schedulers = start_schedules(&config, &store, &live.wake, &cancel)?;
    serve_until_interrupted(
        listener,
        &config,
        index,
        store.clone(),
        &live,
        cancel.clone(),
    )
    .await?;
    for task in schedulers {
        let _ = task.await;
    }
    live.stopped().await;
    Ok(ExitCode::SUCCESS)
}
