use crate::testing::{fill_with_offers, key, store_suite};
use crate::{PublicationRow, Store};

fn row(shown_through: &str, links: Option<&str>) -> Option<PublicationRow> {
    Some(PublicationRow {
        shown_through: key(shown_through).to_string(),
        links: links.map(str::to_owned),
    })
}

/// Rows, log and the worker's position are written together; the log is read in order from
/// any position and pruned; the published offers are read back with their links.
async fn publications_rows_log_and_position_are_written_together(store: Store) {
    fill_with_offers(&store, &["1", "2", "3"]).await;
    assert_eq!(store.last_publication_seq().await.unwrap(), 0);
    assert_eq!(store.log_position("worker").await.unwrap(), None);

    let last = store
        .write_publications(
            &[
                (key("1"), row("1", Some("[\"2\"]"))),
                (key("2"), row("1", None)),
                (key("3"), row("3", Some("[]"))),
            ],
            &[
                (key("1"), Some("[\"2\"]".into())),
                (key("3"), Some("[]".into())),
            ],
            0,
            Some(("worker", 7)),
        )
        .await
        .unwrap();
    assert_eq!(store.log_position("worker").await.unwrap(), Some(7));
    let log = store.publication_changes_after(0, 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].seq, last);
    assert_eq!(log[0].key, key("1"));
    assert_eq!(log[0].base_change_seq, 0);
    let state = store.log_state("worker").await.unwrap();
    assert_eq!(
        (state.publication_seq, state.worker_change_seq),
        (last, Some(7))
    );

    // The second copy takes over; the third offer leaves.
    store
        .write_publications(
            &[
                (key("1"), row("2", None)),
                (key("2"), row("2", Some("[\"1\"]"))),
                (key("3"), None),
            ],
            &[
                (key("1"), None),
                (key("2"), Some("[\"1\"]".into())),
                (key("3"), None),
            ],
            7,
            Some(("worker", 9)),
        )
        .await
        .unwrap();
    assert_eq!(store.log_position("worker").await.unwrap(), Some(9));
    assert_eq!(
        store.next_publication_base(last - 1).await.unwrap(),
        Some(0)
    );
    assert_eq!(
        store.next_publication_base(last).await.unwrap(),
        Some(7),
        "the next write's base: the first write is whole"
    );
    let rows = store.publication_rows(&[key("1"), key("3")]).await.unwrap();
    assert_eq!(rows.len(), 1, "the third offer's row is gone");
    assert_eq!(Some(rows["board:1"].clone()), row("2", None));
    let mut all = Vec::new();
    store
        .for_each_publication_row(|key, row| all.push((key.to_string(), row)))
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let after = store.publication_changes_after(last, 10).await.unwrap();
    let entries: Vec<(String, Option<String>)> = after
        .iter()
        .map(|c| (c.key.to_string(), c.links.clone()))
        .collect();
    assert_eq!(
        entries,
        [
            ("board:1".to_string(), None),
            ("board:2".to_string(), Some("[\"1\"]".to_string())),
            ("board:3".to_string(), None),
        ]
    );

    let mut published = Vec::new();
    store
        .for_each_published_offer(|offer, links| published.push((offer.key.to_string(), links)))
        .await
        .unwrap();
    assert_eq!(published, [("board:2".to_string(), "[\"1\"]".to_string())]);

    let newest = store.last_publication_seq().await.unwrap();
    assert_eq!(
        store
            .prune_publication_changes_before(newest)
            .await
            .unwrap(),
        4
    );
    assert_eq!(store.oldest_publication_seq().await.unwrap(), Some(newest));
    assert_eq!(store.last_publication_seq().await.unwrap(), newest);
}

store_suite!(publications_rows_log_and_position_are_written_together,);
