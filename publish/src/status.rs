//! Readiness: whether the index can be served, and how far it follows the store's change log.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::{ApiError, AppState};

/// Where the live index stands, shared by its follower (which writes) and `/readyz` (which reads).
#[derive(Debug, Default)]
pub struct IndexStatus {
    ready: AtomicBool,
    following: AtomicBool,
    /// A worker of the same process is rebuilding its deduplicator: changes wait for it.
    worker_starting: AtomicBool,
    index_change_seq: AtomicI64,
    store_change_seq: AtomicI64,
}

impl IndexStatus {
    /// A status that says "not ready" until [`Self::set_ready`].
    pub fn starting() -> Self {
        Self::default()
    }

    /// The index can be served; it reflects the change log up to `change_seq`.
    pub fn set_ready(&self, change_seq: i64) {
        self.index_change_seq.store(change_seq, Ordering::Release);
        self.ready.store(true, Ordering::Release);
    }

    /// The index's follower has started: publications are applied as they come.
    pub fn set_following(&self) {
        self.following.store(true, Ordering::Release);
    }

    /// A worker runs in this process and is rebuilding its deduplicator (until
    /// [`Self::set_worker_ready`]): the changes of the store wait for it.
    pub fn set_worker_starting(&self) {
        self.worker_starting.store(true, Ordering::Release);
    }

    /// The worker of this process has rebuilt its deduplicator and follows the change log.
    pub fn set_worker_ready(&self) {
        self.worker_starting.store(false, Ordering::Release);
    }

    /// The index now reflects the change log up to `change_seq`.
    pub fn set_index_change_seq(&self, change_seq: i64) {
        self.index_change_seq.store(change_seq, Ordering::Release);
    }

    /// The last sequence the follower saw in the store.
    pub fn set_store_change_seq(&self, change_seq: i64) {
        self.store_change_seq.store(change_seq, Ordering::Release);
    }

    /// What `/readyz` answers.
    pub fn readiness(&self) -> Readiness {
        let index = self.index_change_seq.load(Ordering::Acquire);
        let store = self.store_change_seq.load(Ordering::Acquire).max(index);
        Readiness {
            status: if self.ready.load(Ordering::Acquire) {
                "ready"
            } else {
                "starting"
            },
            following: self.following.load(Ordering::Acquire)
                && !self.worker_starting.load(Ordering::Acquire),
            index_change_seq: index,
            store_change_seq: store,
            lag: store - index,
        }
    }
}

/// The body of `/readyz`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` (the index is served) or `starting`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Whether changes are applied as they come (false while the index is rebuilt, or while
    /// the worker of the same process rebuilds its deduplicator).
    pub following: bool,
    /// The last change-log sequence the index reflects (deduplicated by the worker, and what it
    /// published applied).
    pub index_change_seq: i64,
    /// The last change-log sequence the follower saw in the store.
    pub store_change_seq: i64,
    /// Changes seen and not yet applied.
    pub lag: i64,
}

/// Readiness: whether the index is served, and how far it follows the change log.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The index is served", body = Readiness),
        (status = 503, description = "`not_ready`: the first index is being built", body = crate::openapi::ErrorBody),
    )
)]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let readiness = state.inner.status.readiness();
    if readiness.status == "ready" {
        Ok(Json(readiness))
    } else {
        Err(ApiError::NotReady)
    }
}
