use chrono::Utc;

use super::HIDDEN_OFFERS;
use crate::testing::{fill_with_offers, key, query_plan, store_suite, store_with_offers};
use crate::{LinkChange, Store};

/// Two "gone" answers hide an offer, an answer shows it again, and a withdrawn offer is no
/// longer listed as hidden.
async fn hidden_offers_are_the_active_ones_whose_link_is_gone(store: Store) {
    fill_with_offers(&store, &["1", "2", "3"]).await;
    let now = Utc::now();
    for id in ["1", "2", "3"] {
        let url = format!("https://board.example/{id}");
        assert_eq!(
            store
                .record_link_check(&key(id), &url, Some(404), now)
                .await
                .unwrap(),
            LinkChange::None
        );
        assert_eq!(
            store
                .record_link_check(&key(id), &url, Some(410), now)
                .await
                .unwrap(),
            LinkChange::Hidden
        );
    }
    let hidden = |store: Store| async move {
        store
            .hidden_offers()
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.key.source_offer_id().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(hidden(store.clone()).await, ["1", "2", "3"]);
    assert_eq!(
        store
            .record_link_check(&key("2"), "https://board.example/2", Some(200), now)
            .await
            .unwrap(),
        LinkChange::ShownAgain
    );
    assert!(
        store
            .withdraw_offer_gone_at_source(&key("3"), now)
            .await
            .unwrap()
    );
    assert_eq!(hidden(store).await, ["1"]);
}

/// The read starts from the hidden rows and finds each one's offer by its key: it never visits
/// the active offers (a million of them at national scale), whatever their number.
#[tokio::test]
async fn hidden_offers_are_read_without_visiting_the_active_offers() {
    let (_dir, store) = store_with_offers(&["1"]).await;
    let plan = query_plan(&store, HIDDEN_OFFERS).await;
    assert!(
        plan[0].contains("link_checks_hidden"),
        "the hidden rows lead: {plan:?}"
    );
    assert!(
        plan.iter().any(|step| step.contains(
            "SEARCH o USING INDEX sqlite_autoindex_offers_1 (source=? AND source_offer_id=?)"
        )),
        "each offer found by its key: {plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("offers_by")),
        "no index of the offers by status: {plan:?}"
    );
}

store_suite!(hidden_offers_are_the_active_ones_whose_link_is_gone,);
