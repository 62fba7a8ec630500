//! Scheduled runs: a cron expression, a job, a cancellation token. The loop only waits and calls
//! the job; a tick missed while the job ran is skipped (the next one is computed after the job).

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use cron::Schedule;
use tokio_util::sync::CancellationToken;

/// Parses a cron expression with seconds (`sec min hour day month weekday`).
pub fn parse_schedule(expression: &str) -> anyhow::Result<Schedule> {
    Schedule::from_str(expression)
        .with_context(|| format!("invalid cron expression `{expression}`"))
}

/// How long to wait from `now` until the next tick.
pub fn delay_until_next(schedule: &Schedule, now: DateTime<Utc>) -> Option<Duration> {
    let next = schedule.after(&now).next()?;
    Some((next - now).to_std().unwrap_or_default())
}

/// Calls `job` at each tick of `schedule`, delayed by up to `jitter` at random (so that sources
/// on the same schedule do not all start at once), until `cancel` fires.
pub async fn run_on_schedule<F, Fut>(
    name: String,
    schedule: Schedule,
    jitter: Duration,
    cancel: CancellationToken,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        let Some(wait) = delay_until_next(&schedule, Utc::now()) else {
            tracing::warn!(job = %name, "schedule has no further tick");
            return;
        };
        let wait = wait + jitter.mul_f64(rand::random::<f64>());
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        tracing::info!(job = %name, "scheduled run starting");
        job().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn next_tick_of_a_nightly_schedule() {
        let schedule = parse_schedule("0 30 2 * * *").unwrap();
        let now: DateTime<Utc> = "2026-11-23T02:00:00Z".parse().unwrap();
        assert_eq!(
            delay_until_next(&schedule, now),
            Some(Duration::from_secs(1800))
        );
        let later: DateTime<Utc> = "2026-11-23T03:00:00Z".parse().unwrap();
        assert_eq!(
            delay_until_next(&schedule, later),
            Some(Duration::from_secs(23 * 3600 + 1800))
        );
        assert!(parse_schedule("every day").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_runs_the_job_at_each_tick_and_stops_when_cancelled() {
        let runs = Arc::new(AtomicU32::new(0));
        let cancel = CancellationToken::new();
        let counter = runs.clone();
        let stop = cancel.clone();
        let task = tokio::spawn(run_on_schedule(
            "test".to_owned(),
            parse_schedule("* * * * * *").unwrap(),
            Duration::ZERO,
            cancel.clone(),
            move || {
                let counter = counter.clone();
                let stop = stop.clone();
                async move {
                    if counter.fetch_add(1, Ordering::SeqCst) == 2 {
                        stop.cancel();
                    }
                }
            },
        ));
        task.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }
}
