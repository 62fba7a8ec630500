//! Waking the followers of the publication log in other processes: PostgreSQL's `LISTEN` on
//! the channel that each write of publications notifies at commit. A SQLite store has no such
//! thing; its followers poll.

use sqlx::postgres::PgListener;

use crate::backend::PUBLICATIONS_CHANNEL;
use crate::{Pool, StorageError, Store};

/// Listens for writes of publications.
#[derive(Debug)]
pub struct PublicationListener {
    listener: PgListener,
}

/// What woke a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// Publications were written, up to this sequence number.
    Published(i64),
    /// The connection was lost and made again: what was written meanwhile went unheard.
    Reconnected,
}

impl PublicationListener {
    /// Waits for the next write of publications. A lost connection is made again here (and
    /// said, since notifications sent meanwhile are lost); an error means it could not be.
    pub async fn next(&mut self) -> Result<Heard, StorageError> {
        match self.listener.try_recv().await? {
            Some(notification) => Ok(Heard::Published(
                notification.payload().parse().unwrap_or_default(),
            )),
            None => Ok(Heard::Reconnected),
        }
    }
}

impl Store {
    /// A listener for writes of publications by any process, or `None` on SQLite (poll it).
    pub async fn listen_for_publications(
        &self,
    ) -> Result<Option<PublicationListener>, StorageError> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(PUBLICATIONS_CHANNEL).await?;
        Ok(Some(PublicationListener { listener }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::PublicationRow;
    use crate::testing::{fill_with_offers, key, postgres_store, sqlite_store};

    /// A write of publications is heard at its commit, with the last sequence number; a write
    /// with no log entry is not announced.
    #[tokio::test]
    async fn a_write_of_publications_is_heard_by_another_connection() {
        let (_keep, store) = postgres_store().await;
        fill_with_offers(&store, &["1"]).await;
        let mut listener = store.listen_for_publications().await.unwrap().unwrap();
        let row = PublicationRow {
            shown_through: "board:1".into(),
            links: None,
        };
        let last = store
            .write_publications(
                &[(key("1"), Some(row))],
                &[(key("1"), Some("[]".into()))],
                1,
                None,
            )
            .await
            .unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(10), listener.next())
            .await
            .expect("heard within seconds")
            .unwrap();
        assert_eq!(heard, Heard::Published(last));
        store
            .write_publications(&[], &[], 1, Some(("worker", 1)))
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), listener.next())
                .await
                .is_err(),
            "nothing published, nothing announced"
        );
    }

    #[tokio::test]
    async fn a_sqlite_store_has_no_listener() {
        let (_keep, store) = sqlite_store().await;
        assert!(store.listen_for_publications().await.unwrap().is_none());
    }
}
