//! The audit trail: every operator action (a collectivité or key created, changed or revoked, a
//! report exported, a purge), with who, when and what; never a secret.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::{StorageError, Store, from_millis, millis};

/// One operator action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the configured operator name, else the OS user.
    pub actor: String,
    /// What (`key.create`, `collectivite.add`, `report.export`, `purge`...).
    pub action: String,
    /// On what (a key id, a collectivité id).
    pub subject: String,
    /// The details, as JSON (never a secret).
    pub details: serde_json::Value,
}

impl Store {
    /// Records an operator action.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        with_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO audit_log (at, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(millis(entry.at))
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.subject)
        .bind(entry.details.to_string())
        .execute(pool)
        .await?;
            Ok(())
        })
    }

    /// The actions recorded at or after `since`, oldest first.
    pub async fn audit_since(&self, since: DateTime<Utc>) -> Result<Vec<AuditEntry>, StorageError> {
        with_pool!(self, |pool| {
            let rows = sqlx::query(
            "SELECT at, actor, action, subject, details FROM audit_log WHERE at >= $1 ORDER BY seq",
        )
        .bind(millis(since))
        .fetch_all(pool)
        .await?;
            rows.iter()
                .map(|row| {
                    let details: String = row.get("details");
                    Ok(AuditEntry {
                        at: from_millis(row.get("at")),
                        actor: row.get("actor"),
                        action: row.get("action"),
                        subject: row.get("subject"),
                        details: serde_json::from_str(&details).map_err(|source| {
                            StorageError::CorruptDocument {
                                what: "audit_log.details".into(),
                                source,
                            }
                        })?,
                    })
                })
                .collect()
        })
    }
}
