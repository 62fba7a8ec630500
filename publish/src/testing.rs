//! What the unit tests share: a key of every scope for a collectivité that covers all of France.

use relais_storage::ApiKeyRecord;

use crate::{AppState, CollectiviteDefinition, hash_key};

/// The tests' key.
pub(crate) const TEST_KEY: &str = "relais_0123456789ab_tests";
/// Its header value.
pub(crate) const TEST_BEARER: &str = "Bearer relais_0123456789ab_tests";

/// Every région: the whole country.
pub(crate) const ALL_FRANCE: &str = "pays:FR";

/// `state` with the collectivité `tests` over `territory` and [`TEST_KEY`], of every scope.
pub(crate) fn with_test_key(state: AppState, territory: &str) -> AppState {
    let state = state
        .with_collectivites(vec![CollectiviteDefinition {
            id: "tests".into(),
            name: "Collectivité des tests".into(),
            siren: "200023737".into(),
            territory: territory.into(),
            feeds: vec!["cahors".into()],
            contact: None,
        }])
        .unwrap();
    state.inner.access.reload(
        Vec::new(),
        vec![ApiKeyRecord {
            id: "0123456789ab".into(),
            collectivite: "tests".into(),
            secret_hash: hash_key(TEST_KEY),
            scopes: vec!["search".into(), "reports".into()],
            rate_per_second: 100_000.0,
            daily_quota: None,
            daily_offers: None,
            label: None,
            created_at: chrono::Utc::now(),
            revoked_at: None,
        }],
    );
    state
}
