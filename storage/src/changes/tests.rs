use sqlx::Row;

use super::FIRST_CHANGE_SINCE;
use crate::testing::store_with_offers;

/// Pruning finds where the recent changes start in one step down the time index, however long
/// the log (a week at 100 changes a second is 60 million entries).
#[tokio::test]
async fn the_first_recent_change_is_found_down_the_time_index() {
    let (_dir, store) = store_with_offers(&["1"]).await;
    let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {FIRST_CHANGE_SINCE}"))
        .bind(0_i64)
        .fetch_all(&store.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect();
    assert_eq!(
        plan,
        ["SEARCH offer_changes USING COVERING INDEX offer_changes_by_time (changed_at>?)"],
        "no sort, no scan"
    );
}
