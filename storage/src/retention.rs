//! Retention (licence art. 7): a withdrawn offer's retained copy is anonymised once it has been
//! withdrawn for the retention period, and its raw payloads are purged.
//!
//! The anonymised document keeps what the job was, not who offered it nor where exactly
//! ([`relais_model::Offer::anonymise`]); its content hash is cleared so that, should the offer
//! come back at its source, it is stored whole again.

use chrono::{DateTime, Utc};
use relais_model::Offer;
use serde::Serialize;
use sqlx::Row;

use crate::backend::WritePool;
use crate::{StorageError, Store, millis};

/// What a purge did (or, dry, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PurgeOutcome {
    /// Withdrawn offers anonymised.
    pub anonymised: u64,
    /// Raw payloads deleted.
    pub raw_payloads: u64,
}

/// Offers anonymised per transaction.
const CHUNK: i64 = 500;

impl Store {
    /// Anonymises the offers withdrawn before `cutoff` (not yet anonymised) and deletes their raw
    /// payloads; with `dry_run`, only counts them.
    pub async fn purge_withdrawn_before(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<PurgeOutcome, StorageError> {
        with_pool!(self, |pool| {
            if dry_run {
                let row = sqlx::query(
                "SELECT COUNT(*) AS offers, \
                 (SELECT COUNT(*) FROM raw_records r JOIN offers o ON o.source = r.source AND o.source_offer_id = r.source_offer_id \
                  WHERE o.status = 'withdrawn' AND o.withdrawn_at < $1 AND o.anonymised_at IS NULL) AS raw \
                 FROM offers WHERE status = 'withdrawn' AND withdrawn_at < $1 AND anonymised_at IS NULL",
            )
            .bind(millis(cutoff))
            .fetch_one(pool)
            .await?;
                return Ok(PurgeOutcome {
                    anonymised: row.try_get::<i64, _>("offers")? as u64,
                    raw_payloads: row.try_get::<i64, _>("raw")? as u64,
                });
            }
            let mut outcome = PurgeOutcome::default();
            loop {
                let mut tx = pool.begin_write().await?;
                let rows = sqlx::query(
                "SELECT source, source_offer_id, offer FROM offers \
                 WHERE status = 'withdrawn' AND withdrawn_at < $1 AND anonymised_at IS NULL LIMIT $2",
            )
            .bind(millis(cutoff))
            .bind(CHUNK)
            .fetch_all(&mut *tx)
            .await?;
                if rows.is_empty() {
                    tx.commit().await?;
                    return Ok(outcome);
                }
                for row in &rows {
                    let source: String = row.try_get("source")?;
                    let id: String = row.try_get("source_offer_id")?;
                    let text = crate::documents::unpack(row.try_get("offer")?, "offers.offer")?;
                    let mut offer: Offer = serde_json::from_str(&text).map_err(|source| {
                        StorageError::CorruptDocument {
                            what: "offers.offer".into(),
                            source,
                        }
                    })?;
                    offer.anonymise();
                    let document = crate::documents::pack(
                        &serde_json::to_string(&offer).expect("offers serialise"),
                    );
                    sqlx::query(
                    "UPDATE offers SET offer = $1, commune = NULL, content_hash = '', anonymised_at = $2 \
                     WHERE source = $3 AND source_offer_id = $4",
                )
                .bind(document)
                .bind(millis(now))
                .bind(&source)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                    let deleted = sqlx::query(
                        "DELETE FROM raw_records WHERE source = $1 AND source_offer_id = $2",
                    )
                    .bind(&source)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                    outcome.anonymised += 1;
                    outcome.raw_payloads += deleted.rows_affected();
                }
                tx.commit().await?;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};
    use relais_model::{InseeCode, Offer, OfferKey, SourceId};

    use crate::{IncomingRecord, RunKind, Store};

    #[tokio::test]
    async fn a_withdrawn_offer_past_retention_keeps_nothing_that_names_or_reaches_its_employer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relais.sqlite");
        let store = Store::open_sqlite(&path).await.unwrap();
        let source = SourceId::parse("hellowork").unwrap();
        let now = Utc::now();
        let mut offers = Vec::new();
        for id in ["old", "recent", "active"] {
            let mut offer = Offer::new(
                OfferKey::new(source.clone(), id).unwrap(),
                "Comptable",
                "Rejoignez Cabinet Dupont : ecrire à marie.dupont@cabinet-dupont.example",
                now,
            );
            offer.employer.name = Some("Cabinet Dupont".into());
            offer.contact.email = Some("marie.dupont@cabinet-dupont.example".into());
            offer.contact.name = Some("Marie Dupont".into());
            offer.offer_url = Some("https://hellowork.example/offre/old".into());
            offer.apply_url = Some("https://cabinet-dupont.example/postuler".into());
            offer.location.commune = Some(InseeCode::parse("46042").unwrap());
            offers.push(IncomingRecord {
                raw_payload: serde_json::to_string(&offer).unwrap(),
                offer,
            });
        }
        let run = store
            .start_run(&source, RunKind::Full, now, now)
            .await
            .unwrap();
        store
            .commit_batch(run, &offers, &serde_json::json!({}), now)
            .await
            .unwrap();
        let key = |id: &str| OfferKey::new(source.clone(), id).unwrap();
        store
            .withdraw_offer_gone_at_source(&key("old"), now - Duration::days(40))
            .await
            .unwrap();
        store
            .withdraw_offer_gone_at_source(&key("recent"), now - Duration::days(2))
            .await
            .unwrap();
        let cutoff = now - Duration::days(30);
        // Before the purge, the file holds the old offer's stored document and payload.
        let stored = |id: &str| {
            let record = offers.iter().find(|r| r.offer.key == key(id)).unwrap();
            crate::documents::pack(&record.raw_payload)
        };
        let occurrences = |bytes: &[u8], needle: &[u8]| {
            bytes.windows(needle.len()).filter(|w| *w == needle).count()
        };
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(crate::testing::sqlite_pool(&store))
            .await
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        assert_eq!(occurrences(&before, &stored("old")), 2);

        let dry = store
            .purge_withdrawn_before(cutoff, now, true)
            .await
            .unwrap();
        assert_eq!((dry.anonymised, dry.raw_payloads), (1, 1));
        assert!(
            store.raw_payload(&key("old")).await.unwrap().is_some(),
            "a dry run changes nothing"
        );
        let done = store
            .purge_withdrawn_before(cutoff, now, false)
            .await
            .unwrap();
        assert_eq!(done, dry);
        assert_eq!(
            store
                .purge_withdrawn_before(cutoff, now, false)
                .await
                .unwrap()
                .anonymised,
            0
        );

        let old = store.offer(&key("old")).await.unwrap().unwrap();
        assert_eq!(old.title, "Comptable");
        assert!(
            old.employer.name.is_none()
                && old.contact.email.is_none()
                && old.contact.name.is_none()
        );
        assert!(
            old.offer_url.is_none() && old.apply_url.is_none() && old.location.commune.is_none()
        );
        assert!(store.raw_payload(&key("old")).await.unwrap().is_none());
        for kept in ["recent", "active"] {
            let offer = store.offer(&key(kept)).await.unwrap().unwrap();
            assert_eq!(
                offer.employer.name.as_deref(),
                Some("Cabinet Dupont"),
                "{kept}"
            );
        }
        // Nothing of it is left in the database file, free pages included (secure_delete), once
        // the write-ahead log is checkpointed into it.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(crate::testing::sqlite_pool(&store))
            .await
            .unwrap();
        store.close().await;
        let bytes = std::fs::read(&path).unwrap();
        // The documents are stored compressed (`documents::pack`, deterministic): the file is
        // searched for each one's stored bytes (the offer's JSON, which was also its payload).
        for kept in ["recent", "active"] {
            assert_eq!(
                occurrences(&bytes, &stored(kept)),
                2,
                "{kept}: its row and its payload"
            );
        }
        assert_eq!(
            occurrences(&bytes, &stored("old")),
            0,
            "the old offer's document and payload"
        );
    }
}
