//! `relais worker`: the scheduled syncs, the deduplication and the change log, serving nothing
//! (the `relais api` replicas serve). One worker is active at a time: it holds the store's
//! `worker` lease (a PostgreSQL advisory lock, or an OS lock beside a SQLite store); any other
//! waits as a standby and takes over within [`STANDBY_POLL`] of the active one's death, which
//! ends its session and so its lock. Taking over, it resumes what the dead one left running.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use relais_ingest::feeds::FeedRunOptions;
use relais_model::SourceId;
use relais_publish::IndexStatus;
use relais_storage::{Lease, RunKind, RunOutcome, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::commands::serve::{
    start_feed_schedules, start_link_checks, start_retention, start_schedules, terminate,
};
use crate::config::Config;
use crate::live::Publisher;
use crate::pipeline::{self, FranceTravailRun};

/// The lease that makes a worker the active one.
pub const WORKER_LEASE: &str = "worker";

/// How often a standby tries the lease.
const STANDBY_POLL: Duration = Duration::from_secs(1);

/// How often the active worker checks that it still holds the lease.
const LEASE_CHECK: Duration = Duration::from_secs(2);

/// How long a stopping worker lets its runs end before it leaves them: a batch is committed
/// whole or not at all, and the next worker resumes a sweep where its last batch ended.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// `relais worker`.
pub async fn run(config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let store = pipeline::open_store(&config).await?;
    let cancel = CancellationToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = terminate() => {}
            }
            tracing::info!("stopping");
            cancel.cancel();
        }
    });
    loop {
        let Some(lease) = wait_for_lease(&store, &cancel).await else {
            return Ok(ExitCode::SUCCESS);
        };
        match work(&config, &store, lease, &cancel).await? {
            Ended::Stopped => return Ok(ExitCode::SUCCESS),
            // PostgreSQL restarted, or the network cut the session: another worker may be
            // active now. This one stopped everything and waits as a standby again.
            Ended::LeaseLost => tracing::warn!("back to standby"),
        }
    }
}

/// How an active worker's spell ended.
enum Ended {
    /// Asked to stop (SIGTERM, Ctrl-C).
    Stopped,
    /// The lease was lost: everything was stopped at once.
    LeaseLost,
}

/// Works while the lease holds: the publisher, the schedules, what a dead worker left.
async fn work(
    config: &Config,
    store: &Store,
    mut lease: Lease,
    stopping: &CancellationToken,
) -> anyhow::Result<Ended> {
    tracing::info!(store = %config.store_location(), "worker active");
    crate::say!("worker active");
    let cancel = stopping.child_token();
    let wake = Arc::new(Notify::new());
    let mut tasks = vec![tokio::spawn(
        Publisher::new(config.clone(), store.clone()).follow(
            wake.clone(),
            Arc::new(Notify::new()),
            Arc::new(IndexStatus::starting()),
            cancel.clone(),
        ),
    )];
    tasks.extend(start_schedules(config, store, &wake, &cancel)?);
    tasks.extend(start_feed_schedules(config, store, &wake, &cancel)?);
    tasks.push(start_retention(config, store, &cancel));
    if config.duties.link_check_hours > 0 && !config.sources.is_empty() {
        tasks.push(start_link_checks(config, store, &cancel));
    }
    tasks.push(tokio::spawn(take_over(
        config.clone(),
        store.clone(),
        wake.clone(),
        cancel.clone(),
    )));

    let mut checks = tokio::time::interval(LEASE_CHECK);
    let lost = loop {
        tokio::select! {
            () = cancel.cancelled() => break false,
            _ = checks.tick() => if let Err(error) = lease.check().await {
                tracing::error!(%error, "the worker lease was lost; stopping at once");
                break true;
            },
        }
    };
    cancel.cancel();
    if lost {
        // Another worker may be active now: stop at once rather than write beside it.
        for task in &tasks {
            task.abort();
        }
    }
    stop(tasks).await;
    lease.release().await;
    Ok(if lost {
        Ended::LeaseLost
    } else {
        Ended::Stopped
    })
}

/// Waits as a standby until the lease is free, then takes it; `None` when stopped first. An
/// unreachable store is waited for too.
async fn wait_for_lease(store: &Store, cancel: &CancellationToken) -> Option<Lease> {
    let mut told = false;
    loop {
        match store.try_lease(WORKER_LEASE).await {
            Ok(Some(lease)) => return Some(lease),
            Ok(None) if !std::mem::replace(&mut told, true) => {
                tracing::info!("standby: another worker is active; taking over when it stops");
                crate::say!("worker standby");
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cannot reach the store for the worker lease"),
        }
        tokio::select! {
            () = cancel.cancelled() => return None,
            () = tokio::time::sleep(STANDBY_POLL) => {}
        }
    }
}

/// Lets the tasks end (a run ends its batch) for [`STOP_GRACE`], then leaves them.
async fn stop(tasks: Vec<tokio::task::JoinHandle<()>>) {
    let aborts: Vec<_> = tasks.iter().map(|task| task.abort_handle()).collect();
    let all = async {
        for task in tasks {
            let _ = task.await;
        }
    };
    if tokio::time::timeout(STOP_GRACE, all).await.is_err() {
        tracing::warn!(
            "runs still going after {STOP_GRACE:?}: left as they are (the next worker resumes them)"
        );
        for abort in aborts {
            abort.abort();
        }
    }
}

/// What a worker runs as soon as it is active, not waiting for the schedules: a France Travail
/// full sweep that a dead worker left running (resumed from its last batch) or that never
/// completed (a new installation), and each enabled partner feed whose last run was left
/// running or that never ran.
async fn take_over(config: Config, store: Store, wake: Arc<Notify>, cancel: CancellationToken) {
    let settings = &config.francetravail;
    if settings.enabled && settings.has_credentials() {
        let source =
            SourceId::parse(relais_ingest::francetravail::SOURCE_ID).expect("a valid source id");
        match store.latest_run(&source, Some(RunKind::Full), None).await {
            Ok(last) if needs_run(last.as_ref().map(|run| run.outcome), &store, &source).await => {
                tracing::info!(
                    resumed = last.is_some(),
                    "france travail full sweep now: the last one did not complete"
                );
                // A scheduled incremental run may hold the source: the sweep waits for it.
                loop {
                    match pipeline::sync_francetravail(&config, &store, FranceTravailRun::Full)
                        .await
                    {
                        Ok(None) => {}
                        outcome => break report("francetravail", outcome, &wake),
                    }
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(STANDBY_POLL) => {}
                    }
                }
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "reading the last full sweep"),
        }
    }
    for source in config.sources.iter().filter(|source| source.enabled) {
        let Ok(id) = SourceId::parse(&source.id) else {
            continue;
        };
        match store.latest_run(&id, None, None).await {
            Ok(last)
                if matches!(
                    last.as_ref().map(|run| run.outcome),
                    None | Some(RunOutcome::Running)
                ) =>
            {
                report(
                    &source.id,
                    pipeline::sync_feed(&config, &store, &source.id, FeedRunOptions::default())
                        .await,
                    &wake,
                );
            }
            Ok(_) => {}
            Err(error) => tracing::error!(source = %source.id, %error, "reading the last run"),
        }
    }
}

/// Whether a full sweep must run now: none ever ran, the last was left running, or the last
/// did not complete and none ever completed.
async fn needs_run(last: Option<RunOutcome>, store: &Store, source: &SourceId) -> bool {
    match last {
        None | Some(RunOutcome::Running) => true,
        Some(RunOutcome::Complete) => false,
        Some(_) => store
            .latest_run(source, Some(RunKind::Full), Some(RunOutcome::Complete))
            .await
            .map_or(true, |complete| complete.is_none()),
    }
}

fn report(source: &str, outcome: anyhow::Result<Option<relais_ingest::RunReport>>, wake: &Notify) {
    match outcome {
        Ok(Some(_)) => wake.notify_one(),
        Ok(None) => tracing::info!(%source, "another run holds the source; left to it"),
        Err(error) => tracing::error!(%source, error = %format!("{error:#}"), "run failed"),
    }
}
