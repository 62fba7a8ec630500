//! The threads that run the index's searches: one more than the machine's cores, apart from the
//! runtime's workers (which keep answering what needs no search, such as kept feed bodies).
//!
//! On tokio's blocking pool every concurrent request ran its search on a thread of its own: at
//! saturation (16 connections, two cores) sixteen searches shared the cores. Bounded to one
//! thread more than the cores (Elasticsearch bounds its search thread pool too), the serving
//! role answered 15–20 % more queries a second at a million offers, with a lower p99; two
//! threads did less well than three, four and five no better (see docs/benchmarks.md, Search,
//! fifth session).
//!
//! The threads wait on a channel, asleep. A rayon pool did this before, but its idle threads
//! spin (`sched_yield`) after each job before they sleep: one search at a time, they took a
//! quarter of the process's time and the cores the request's other threads needed.

use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;

use crate::ApiError;

type Search = Box<dyn FnOnce() + Send>;

static SEARCHES: LazyLock<crossbeam_channel::Sender<Search>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (sender, receiver) = crossbeam_channel::unbounded::<Search>();
    for i in 0..=cores {
        let receiver = receiver.clone();
        std::thread::Builder::new()
            .name(format!("relais-search-{i}"))
            .spawn(move || {
                for search in receiver {
                    search();
                }
            })
            .expect("the search threads start");
    }
    sender
});

/// Runs `work` on the search threads and waits for it without holding a runtime worker. A
/// panic in `work` is an internal error of this request only.
pub(crate) async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let search: Search = Box::new(move || {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(work));
        // The request may have been dropped meanwhile (its client left): nothing to answer.
        let _ = done.send(outcome);
    });
    if SEARCHES.send(search).is_err() {
        return Err(ApiError::Internal("the search threads stopped".into()));
    }
    match result.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(ApiError::Internal("a search panicked".into())),
        Err(_) => Err(ApiError::Internal("a search thread stopped".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_search_fails_its_request_only() {
        let failed = run(|| -> u32 { panic!("a search that breaks") }).await;
        assert!(matches!(failed, Err(ApiError::Internal(_))), "{failed:?}");
        // The threads outlive the panic: the next searches run.
        let searches: Vec<_> = (0..20u32)
            .map(|n| tokio::spawn(run(move || n * 2)))
            .collect();
        for (n, search) in (0..20u32).zip(searches) {
            assert_eq!(search.await.unwrap().unwrap(), n * 2);
        }
    }

    #[tokio::test]
    async fn searches_run_on_the_search_threads_not_the_runtime() {
        let name = run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(
            name.as_deref()
                .is_some_and(|n| n.starts_with("relais-search-")),
            "{name:?}"
        );
    }
}
