use super::FIRST_CHANGE_SINCE;
use crate::testing::{query_plan, store_with_offers};

/// Pruning finds where the recent changes start in one step down the time index, however long
/// the log (a week at 100 changes a second is 60 million entries).
#[tokio::test]
async fn the_first_recent_change_is_found_down_the_time_index() {
    let (_dir, store) = store_with_offers(&["1"]).await;
    let plan = query_plan(&store, FIRST_CHANGE_SINCE).await;
    assert_eq!(
        plan,
        ["SEARCH offer_changes USING COVERING INDEX offer_changes_by_time (changed_at>?)"],
        "no sort, no scan"
    );
}
