//! `relais serve`: the feeds, the search API, and the scheduled runs of the sources.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use relais_index::OfferIndex;
use relais_ingest::feeds::FeedRunOptions;
use relais_publish::{AppState, IndexStatus, router};
use relais_storage::{BackendKind, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::live::{Follower, Publisher, forward_announcements};
use crate::pipeline::{self, FranceTravailRun};
use crate::scheduler::{parse_schedule, run_on_schedule};

/// Serves until interrupted. The index is served as persisted and follows the store's
/// publications from there, which the worker of this process writes as the change log moves
/// (see `live`): a run of this process or another writes the store, the worker deduplicates
/// the changed offers, and the follower brings what it publishes into the index.
pub async fn run(config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    serve(config, true).await
}

/// `relais api`: serves (feeds, pages, widget, search, reports) from the index kept in step
/// with the store's publications, and nothing else: no scheduled run, no deduplication (the
/// worker of a `relais serve` or, later, a `relais worker` writes the publications). Any number
/// of them may serve one store, each with its own index directory.
/// `port` replaces the port of `server.listen` (several replicas on one machine).
pub async fn run_api(config_path: Option<&Path>, port: Option<u16>) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(config_path)?;
    if let Some(port) = port {
        let host = config
            .server
            .listen
            .rsplit_once(':')
            .map_or("127.0.0.1", |(host, _)| host);
        config.server.listen = format!("{host}:{port}");
    }
    serve(config, false).await
}

/// Serves until interrupted; `all_in_one`: with the worker and the scheduled runs.
async fn serve(config: Config, all_in_one: bool) -> anyhow::Result<ExitCode> {
    let (store, index) = pipeline::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on `{}`", config.server.listen))?;
    let cancel = CancellationToken::new();
    let mut schedulers = Vec::new();
    let live = if all_in_one {
        let live = start_live_index(&config, &store, &index, &cancel);
        schedulers = start_schedules(&config, &store, &live.wake, &cancel)?;
        schedulers.push(start_retention(&config, &store, &cancel));
        if config.duties.link_check_hours > 0 && !config.sources.is_empty() {
            schedulers.push(start_link_checks(&config, &store, &cancel));
        }
        schedulers.extend(start_feed_schedules(&config, &store, &live.wake, &cancel)?);
        live
    } else {
        start_index_follower(&store, &index, &cancel).index
    };
    crate::say!("serving on http://{}", listener.local_addr()?);
    serve_until_interrupted(
        listener,
        &config,
        index,
        store.clone(),
        &live,
        cancel.clone(),
    )
    .await?;
    cancel.cancel();
    for task in schedulers {
        let _ = task.await;
    }
    live.stopped().await;
    Ok(ExitCode::SUCCESS)
}

/// How often `relais serve` anonymises what the retention period allows.
const RETENTION_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Runs the retention purge at start and every few hours, until `cancel`.
pub fn start_retention(
    config: &Config,
    store: &Store,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut config = config.clone();
    if config.operator.trim().is_empty() {
        config.operator = "relais serve (scheduled purge)".into();
    }
    let store = store.clone();
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RETENTION_EVERY);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = every.tick() => match crate::commands::purge::purge(&config, &store, false).await {
                    Ok(done) if done.anonymised > 0 => tracing::info!(anonymised = done.anonymised, raw_payloads = done.raw_payloads, "withdrawn offers anonymised (retention)"),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "the retention purge failed"),
                },
            }
        }
    })
}

/// Checks the partner offers' apply links every `duties.link_check_hours` (the first round an
/// hour after start, not to add to a start's load), until `cancel`.
pub fn start_link_checks(
    config: &Config,
    store: &Store,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(config.duties.link_check_hours * 3600);
    let sources = config.partner_source_ids();
    let options = config.link_check_options();
    let store = store.clone();
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + Duration::from_secs(3600).min(every);
        let mut ticks = tokio::time::interval_at(start, every);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = ticks.tick() => match relais_ingest::links::check_apply_links(&store, &sources, &options).await {
                    Ok(report) => tracing::info!(checked = report.checked, gone = report.gone, hidden = report.hidden, shown_again = report.shown_again, "apply links checked"),
                    Err(error) => tracing::error!(%error, "the apply links' check failed"),
                },
            }
        }
    })
}

/// The live index, running: the worker (unless the process only serves) and the index's
/// follower.
pub struct LiveIndex {
    /// What `/readyz` reports.
    pub status: Arc<IndexStatus>,
    /// Wakes the worker (a run of this process ended).
    pub wake: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl LiveIndex {
    /// Waits until the worker and the follower have stopped (after the cancellation).
    pub async fn stopped(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts the worker, which deduplicates the changed offers and writes what it publishes, and
/// the follower of those publications into `index`, until `cancel`.
pub fn start_live_index(
    config: &Config,
    store: &Store,
    index: &OfferIndex,
    cancel: &CancellationToken,
) -> LiveIndex {
    let mut live = start_index_follower(store, index, cancel);
    live.index.status.set_worker_starting();
    let publisher = Publisher::new(config.clone(), store.clone());
    let published = live.published.clone();
    live.index.tasks.push(tokio::spawn(publisher.follow(
        live.index.wake.clone(),
        published,
        live.index.status.clone(),
        cancel.clone(),
    )));
    live.index
}

/// The follower alone, and what wakes it.
pub struct Following {
    /// The live index, without a worker.
    pub index: LiveIndex,
    /// Wakes the follower (the worker of this process wrote).
    pub published: Arc<Notify>,
}

/// Starts the follower of the store's publications into `index` until `cancel`, with no
/// worker (an API replica: the worker runs elsewhere).
pub fn start_index_follower(
    store: &Store,
    index: &OfferIndex,
    cancel: &CancellationToken,
) -> Following {
    let status = Arc::new(IndexStatus::starting());
    let published = Arc::new(Notify::new());
    let mut follower = Follower::new(store.clone(), index.clone(), status.clone());
    let mut tasks = Vec::new();
    if store.backend() == BackendKind::Postgres {
        // Any process's worker announces its writes: the log is read when they come.
        follower = follower.announced();
        tasks.push(tokio::spawn({
            let (store, published, cancel) = (store.clone(), published.clone(), cancel.clone());
            forward_announcements(store, published, cancel)
        }));
    }
    tasks.push(tokio::spawn(
        follower.follow(published.clone(), cancel.clone()),
    ));
    Following {
        index: LiveIndex {
            status,
            wake: Arc::new(Notify::new()),
            tasks,
        },
        published,
    }
}

/// Where the public reaches the server: `server.public_url`, else the address listened on.
pub fn public_url(config: &Config, listener: &tokio::net::TcpListener) -> anyhow::Result<String> {
    Ok(match config.server.public_url.trim() {
        "" => format!("http://{}", listener.local_addr()?),
        url => url.trim_end_matches('/').to_owned(),
    })
}

/// Serves the router on `listener` until Ctrl-C or `cancel`.
pub async fn serve_until_interrupted(
    listener: tokio::net::TcpListener,
    config: &Config,
    index: OfferIndex,
    store: Store,
    live: &LiveIndex,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let state = AppState::with_store(index, config.feeds.clone(), store, live.status.clone())
        .context("invalid feed in the configuration")?
        .with_licence(config.licence())
        .with_public_url(&public_url(config, &listener)?)
        .with_collectivites(config.collectivites.clone())
        .context("invalid collectivité in the configuration")?
        .with_max_staleness_hours(config.duties.max_staleness_hours);
    state.refresh_access().await?;
    state.load_key_usage().await?;
    state.refresh_sources().await?;
    log_source_alarms(&state);
    let upkeep = tokio::spawn(keep_up(
        state.clone(),
        Duration::from_secs(config.duties.traffic_flush_seconds),
        cancel.clone(),
    ));
    let app = router(state.clone());
    let shutdown = cancel.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate() => {}
                () = shutdown.cancelled() => {}
            }
        })
        .await
        .context("server stopped")?;
    // Ctrl-C stops the follower and the schedules too.
    cancel.cancel();
    let _ = upkeep.await;
    // The last counts, once no request is left.
    match state.flush_traffic().await {
        Ok(rows) => tracing::info!(rows, "traffic counters written at shutdown"),
        Err(error) => tracing::error!(%error, "traffic counters lost at shutdown"),
    }
    Ok(())
}

/// SIGTERM (what systemd and container runtimes send).
pub async fn terminate() {
    #[cfg(unix)]
    {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}

/// Seconds between two readings of the keys and collectivités from the store: a key revoked by
/// the CLI stops working within this.
const ACCESS_REFRESH: Duration = Duration::from_secs(2);

/// Seconds between two readings of the sources' runs and counts and of the offers hidden for
/// their apply link (a count of a source's offers costs tens of milliseconds at a million).
const SOURCES_REFRESH: Duration = Duration::from_secs(10);

/// Every few seconds: the keys, collectivités and sources read again, the traffic counters
/// written; until `cancel`.
async fn keep_up(state: AppState, flush_every: Duration, cancel: CancellationToken) {
    let mut refresh = tokio::time::interval(ACCESS_REFRESH);
    let mut sources = tokio::time::interval(SOURCES_REFRESH);
    let mut flush = tokio::time::interval(flush_every);
    let mut alarms = tokio::time::interval(Duration::from_secs(3600));
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = refresh.tick() => {
                if let Err(error) = state.refresh_access().await {
                    tracing::warn!(%error, "reading the keys and collectivités");
                }
            }
            _ = sources.tick() => {
                if let Err(error) = state.refresh_sources().await {
                    tracing::warn!(%error, "reading the sources' runs");
                }
            }
            _ = flush.tick() => {
                if let Err(error) = state.flush_traffic().await {
                    tracing::warn!(%error, "writing the traffic counters (kept for the next write)");
                }
            }
            _ = alarms.tick() => log_source_alarms(&state),
        }
    }
}

/// Logs, loudly, each source that is not fresh or not published.
fn log_source_alarms(state: &AppState) {
    for source in state.source_statuses() {
        if let Some(alarm) = &source.alarm {
            tracing::error!(source = %source.id, %alarm, "licence freshness duty not met");
        }
        if let Some(reason) = &source.withheld_reason {
            tracing::warn!(source = %source.id, %reason, "source withheld from every surface");
        }
    }
}

/// Starts the scheduled France Travail runs; each wakes the live index when it ends.
pub fn start_schedules(
    config: &Config,
    store: &Store,
    wake: &Arc<Notify>,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let settings = &config.francetravail;
    if !settings.enabled {
        return Ok(Vec::new());
    }
    if !settings.has_credentials() {
        tracing::warn!("france travail credentials are not set: no scheduled runs");
        return Ok(Vec::new());
    }
    let mut tasks = Vec::new();
    for (name, expression, run) in [
        (
            "francetravail-full",
            &settings.full_sweep_schedule,
            FranceTravailRun::Full,
        ),
        (
            "francetravail-incremental",
            &settings.incremental_schedule,
            FranceTravailRun::Incremental,
        ),
    ] {
        let schedule = parse_schedule(expression)?;
        let (config, store, wake) = (config.clone(), store.clone(), wake.clone());
        tasks.push(tokio::spawn(run_on_schedule(
            name.to_owned(),
            schedule,
            Duration::ZERO,
            cancel.clone(),
            move || {
                let (config, store, wake, run) =
                    (config.clone(), store.clone(), wake.clone(), run.clone());
                async move {
                    match pipeline::sync_francetravail(&config, &store, run).await {
                        Ok(Some(_)) => wake.notify_one(),
                        Ok(None) => tracing::info!("another run holds the lock; tick skipped"),
                        Err(error) => {
                            tracing::error!(error = %format!("{error:#}"), "scheduled run failed")
                        }
                    }
                }
            },
        )));
    }
    Ok(tasks)
}

/// Starts the scheduled runs of the enabled partner sources; each wakes the live index when it ends.
pub fn start_feed_schedules(
    config: &Config,
    store: &Store,
    wake: &Arc<Notify>,
    cancel: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for source in config.sources.iter().filter(|s| s.enabled) {
        let schedule = parse_schedule(&source.schedule)?;
        let (config, store, wake, id) = (
            config.clone(),
            store.clone(),
            wake.clone(),
            source.id.clone(),
        );
        tasks.push(tokio::spawn(run_on_schedule(
            source.id.clone(),
            schedule,
            Duration::from_secs(source.jitter_seconds),
            cancel.clone(),
            move || {
                let (config, store, wake, id) = (config.clone(), store.clone(), wake.clone(), id.clone());
                async move {
                    match pipeline::sync_feed(&config, &store, &id, FeedRunOptions::default()).await {
                        Ok(Some(_)) => wake.notify_one(),
                        Ok(None) => tracing::info!(source = %id, "another run holds the lock; tick skipped"),
                        Err(error) => tracing::error!(source = %id, error = %format!("{error:#}"), "scheduled run failed"),
                    }
                }
            },
        )));
    }
    Ok(tasks)
}
