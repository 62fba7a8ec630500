//! Collectivités, API keys, their daily use and the audit trail, on both backends.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::testing::store_suite;
use crate::{ApiKeyRecord, AuditEntry, CollectiviteRecord, KeyUsage, Store};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_780_000_000 + seconds, 0).unwrap()
}

fn collectivite(id: &str, name: &str, created: i64) -> CollectiviteRecord {
    CollectiviteRecord {
        id: id.into(),
        name: name.into(),
        siren: "200023737".into(),
        territory: "epci:200023737".into(),
        feeds: vec![format!("{id}-emploi"), format!("{id}-alternance")],
        contact: Some("emploi@example.fr".into()),
        created_at: at(created),
        updated_at: at(created),
    }
}

fn api_key(id: &str, created: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.into(),
        collectivite: "grand-cahors".into(),
        secret_hash: format!("{id}-hash"),
        scopes: vec!["search".into(), "reports".into()],
        rate_per_second: 2.5,
        daily_quota: Some(10_000),
        daily_offers: None,
        label: Some("Application mobile".into()),
        created_at: at(created),
        revoked_at: None,
    }
}

/// A collectivité added again is replaced but keeps its creation date; the list is by id.
async fn collectivites_are_replaced_by_id_and_keep_their_creation_date(store: Store) {
    store
        .upsert_collectivite(&collectivite("grand-cahors", "Grand Cahors", 0))
        .await
        .unwrap();
    store
        .upsert_collectivite(&collectivite("figeac", "Grand-Figeac", 10))
        .await
        .unwrap();
    let mut renamed = collectivite(
        "grand-cahors",
        "Communauté d'agglomération du Grand Cahors",
        50,
    );
    renamed.contact = None;
    store.upsert_collectivite(&renamed).await.unwrap();

    let stored = store.collectivites().await.unwrap();
    assert_eq!(
        stored.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["figeac", "grand-cahors"]
    );
    let cahors = &stored[1];
    assert_eq!(cahors.name, "Communauté d'agglomération du Grand Cahors");
    assert_eq!(cahors.contact, None);
    assert_eq!(
        cahors.feeds,
        ["grand-cahors-emploi", "grand-cahors-alternance"]
    );
    assert_eq!(cahors.created_at, at(0), "creation date kept");
    assert_eq!(cahors.updated_at, at(50));
}

/// Keys come back as stored (hash, scopes, limits), oldest first; a key is revoked once.
async fn keys_are_listed_oldest_first_and_revoked_once(store: Store) {
    store.insert_api_key(&api_key("rk_b", 20)).await.unwrap();
    store.insert_api_key(&api_key("rk_a", 10)).await.unwrap();
    let mut unlimited = api_key("rk_c", 30);
    unlimited.daily_quota = None;
    unlimited.daily_offers = Some(500);
    unlimited.scopes = vec!["search".into()];
    unlimited.label = None;
    store.insert_api_key(&unlimited).await.unwrap();

    assert!(store.revoke_api_key("rk_b", at(40)).await.unwrap());
    assert!(
        !store.revoke_api_key("rk_b", at(50)).await.unwrap(),
        "already revoked"
    );
    assert!(!store.revoke_api_key("rk_unknown", at(50)).await.unwrap());

    let keys = store.api_keys().await.unwrap();
    let mut expected_b = api_key("rk_b", 20);
    expected_b.revoked_at = Some(at(40));
    assert_eq!(keys, [api_key("rk_a", 10), expected_b, unlimited]);
}

/// A key's use adds up within a day, across calls, and each day is its own.
async fn key_usage_adds_up_per_day(store: Store) {
    let used = |requests, offers| KeyUsage { requests, offers };
    store
        .add_key_usage(&[
            ("rk_a".into(), "2026-12-06".into(), used(3, 60)),
            ("rk_b".into(), "2026-12-06".into(), used(1, 20)),
        ])
        .await
        .unwrap();
    store
        .add_key_usage(&[
            ("rk_a".into(), "2026-12-06".into(), used(2, 40)),
            ("rk_a".into(), "2026-12-07".into(), used(1, 5)),
        ])
        .await
        .unwrap();
    let mut day = store.key_usage("2026-12-06").await.unwrap();
    day.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        day,
        [
            ("rk_a".to_owned(), used(5, 100)),
            ("rk_b".to_owned(), used(1, 20))
        ]
    );
    assert_eq!(
        store.key_usage("2026-12-07").await.unwrap(),
        [("rk_a".to_owned(), used(1, 5))]
    );
    assert!(store.key_usage("2026-12-08").await.unwrap().is_empty());
}

/// The audit trail reads back what happened since a time, in order, details included.
async fn the_audit_trail_reads_back_in_order(store: Store) {
    for (seconds, action) in [
        (0, "collectivite.add"),
        (10, "key.create"),
        (20, "key.revoke"),
    ] {
        store
            .record_audit(&AuditEntry {
                at: at(seconds),
                actor: "operateur".into(),
                action: action.into(),
                subject: "rk_a".into(),
                details: serde_json::json!({ "scopes": ["search"], "rate": 2.5 }),
            })
            .await
            .unwrap();
    }
    let since = store
        .audit_since(at(0) + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        since.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["key.create", "key.revoke"]
    );
    assert_eq!(since[0].details["scopes"][0], "search");
    assert_eq!(since[1].at, at(20));
}

store_suite!(
    collectivites_are_replaced_by_id_and_keep_their_creation_date,
    keys_are_listed_oldest_first_and_revoked_once,
    key_usage_adds_up_per_day,
    the_audit_trail_reads_back_in_order,
);
