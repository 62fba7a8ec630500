//! Clusters through the lifecycle of offers: a canonical member withdrawn, a member that changes
//! enough to leave, a bridge removed, a new offer between two clusters that must stay apart.

mod common;

use common::{JOB_TEXT, OTHER_TEXT, offer};
use relais_dedup::{DedupConfig, Deduplicator};
use relais_model::{ContractKind, Offer};

fn dedup_of(offers: &[(&Offer, i32)]) -> Deduplicator {
    let mut dedup = Deduplicator::new(DedupConfig::default()).unwrap();
    for (offer, _) in offers {
        dedup.observe(offer);
    }
    for (offer, rank) in offers {
        dedup.upsert(offer, *rank);
    }
    dedup
}

fn canonical_of(dedup: &Deduplicator, key: &str) -> String {
    dedup.cluster_of(key).unwrap().canonical.key.to_string()
}

fn same_cluster(dedup: &Deduplicator, a: &str, b: &str) -> bool {
    dedup.cluster_id(a).unwrap() == dedup.cluster_id(b).unwrap()
}

#[test]
fn copies_cluster_and_a_withdrawn_canonical_member_is_replaced() {
    let original = offer("francetravail", "1", JOB_TEXT);
    let mut board = offer("hellowork", "a", &format!("<p>{JOB_TEXT}</p>"));
    board.title = "AGENT D ENTRETIEN H/F - Cahors (46)".into();
    board.salary = Some(Default::default());
    let mut teaser = offer("indeed", "b", &JOB_TEXT[..200]);
    teaser.description.push('…');
    let mut dedup = dedup_of(&[(&original, 100), (&board, 50), (&teaser, 50)]);

    let cluster = dedup.cluster_of("francetravail:1").unwrap();
    assert_eq!(cluster.members.len(), 3, "{:?}", cluster.links);
    assert_eq!(&*cluster.canonical.key, "francetravail:1");
    let mut also: Vec<&str> = cluster
        .also_published_on()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    also.sort_unstable();
    assert_eq!(also, ["hellowork", "indeed"]);
    assert!(cluster.links.len() >= 2, "every link keeps its reason");

    // Withdrawn at the source: the most complete remaining copy (the full HTML one, with a
    // salary) is elected; the cluster keeps the two others.
    assert!(dedup.remove("francetravail:1"));
    assert_eq!(canonical_of(&dedup, "indeed:b"), "hellowork:a");
    assert!(same_cluster(&dedup, "indeed:b", "hellowork:a"));
    assert_eq!(dedup.len(), 2);
    assert!(
        !dedup.remove("francetravail:1"),
        "removing twice is a no-op"
    );
}

#[test]
fn a_member_that_changes_enough_leaves_and_an_unchanged_update_moves_nothing() {
    let a = offer("francetravail", "1", JOB_TEXT);
    let b = offer("hellowork", "a", JOB_TEXT);
    let c = offer("indeed", "b", JOB_TEXT);
    let mut dedup = dedup_of(&[(&a, 100), (&b, 50), (&c, 50)]);
    assert!(same_cluster(&dedup, "hellowork:a", "indeed:b"));

    let placement = dedup.upsert(&b, 50);
    assert!(!placement.moved, "the same content keeps its place");
    assert_eq!(placement.members, 3);

    let mut changed = b.clone();
    changed.description = OTHER_TEXT.into();
    dedup.observe(&changed);
    let placement = dedup.upsert(&changed, 50);
    assert!(placement.moved);
    assert_eq!(placement.members, 1, "another text: its own job now");
    assert!(same_cluster(&dedup, "francetravail:1", "indeed:b"));
    assert!(!same_cluster(&dedup, "francetravail:1", "hellowork:a"));
    assert_eq!(dedup.cluster_count(), 2);
}

#[test]
fn removing_the_only_bridge_splits_the_cluster() {
    // The combined ad contains both texts, each of the two others contains one: they are linked
    // only through it. The two ends share only the job's last sentence: more than a board's
    // frame differs at each of their ends.
    let left = offer("francetravail", "1", JOB_TEXT);
    let last_sentence = JOB_TEXT.rfind(". ").unwrap() + 2;
    let right = offer(
        "indeed",
        "b",
        &format!("{}\n\n{OTHER_TEXT}", &JOB_TEXT[last_sentence..]),
    );
    let bridge = offer("hellowork", "a", &format!("{JOB_TEXT}\n\n{OTHER_TEXT}"));
    let mut dedup = dedup_of(&[(&left, 100), (&right, 50), (&bridge, 50)]);
    let left_right = dedup.compare(
        dedup.record("francetravail:1").unwrap(),
        dedup.record("indeed:b").unwrap(),
    );
    assert!(!left_right.same_job(), "the two ends do not match directly");
    assert!(
        same_cluster(&dedup, "francetravail:1", "indeed:b"),
        "linked through the bridge"
    );

    dedup.remove("hellowork:a");
    assert!(!same_cluster(&dedup, "francetravail:1", "indeed:b"));
    assert_eq!(dedup.cluster_count(), 2);
}

#[test]
fn a_new_offer_matching_two_clusters_that_veto_each_other_does_not_merge_them() {
    // The permanent post and its fixed-term replacement: same employer, commune, title, text.
    let permanent = offer("francetravail", "cdi", JOB_TEXT);
    let permanent_copy = offer("hellowork", "cdi", JOB_TEXT);
    let mut replacement = offer("francetravail", "cdd", JOB_TEXT);
    replacement.contract.kind = ContractKind::FixedTerm;
    let mut replacement_copy = offer("indeed", "cdd", JOB_TEXT);
    replacement_copy.contract.kind = ContractKind::FixedTerm;
    let mut dedup = dedup_of(&[
        (&permanent, 100),
        (&permanent_copy, 50),
        (&replacement, 100),
        (&replacement_copy, 50),
    ]);
    assert!(same_cluster(&dedup, "francetravail:cdi", "hellowork:cdi"));
    assert!(same_cluster(&dedup, "francetravail:cdd", "indeed:cdd"));
    assert!(!same_cluster(
        &dedup,
        "francetravail:cdi",
        "francetravail:cdd"
    ));

    // A board that states no contract matches both equally well: it joins neither.
    let mut bridge = offer("jooble", "x", JOB_TEXT);
    bridge.contract.kind = ContractKind::Other;
    dedup.observe(&bridge);
    let placement = dedup.upsert(&bridge, 50);
    assert_eq!(placement.members, 1, "ambiguous: left alone");
    assert!(!same_cluster(
        &dedup,
        "francetravail:cdi",
        "francetravail:cdd"
    ));
    assert_eq!(dedup.cluster_count(), 3);
}

#[test]
fn hostile_and_empty_offers_are_placed_without_harm() {
    let mut empty = offer("francetravail", "empty", "");
    empty.title.clear();
    empty.employer.name = None;
    let script = offer(
        "hellowork",
        "script",
        "<script>alert(1)</script><p onclick=\"x\">&lt;b&gt;</p>&unknown; …… [...] ...",
    );
    let dedup = dedup_of(&[(&empty, 0), (&script, 0), (&empty, 0)]);
    assert_eq!(dedup.len(), 2);
    assert!(!same_cluster(
        &dedup,
        "francetravail:empty",
        "hellowork:script"
    ));
}

#[test]
fn the_same_upserts_in_the_same_order_give_the_same_clusters() {
    let offers: Vec<Offer> = (0..6)
        .map(|i| {
            let text = if i % 2 == 0 { JOB_TEXT } else { OTHER_TEXT };
            offer(
                ["francetravail", "hellowork", "indeed"][i % 3],
                &i.to_string(),
                text,
            )
        })
        .collect();
    let ranked: Vec<(&Offer, i32)> = offers.iter().map(|o| (o, 50)).collect();
    let clusters = |dedup: &Deduplicator| {
        let mut all: Vec<Vec<String>> = dedup
            .clusters()
            .map(|c| {
                let mut keys: Vec<String> = c.members.iter().map(|m| m.key.to_string()).collect();
                keys.sort();
                keys
            })
            .collect();
        all.sort();
        all
    };
    assert_eq!(clusters(&dedup_of(&ranked)), clusters(&dedup_of(&ranked)));
    assert_eq!(clusters(&dedup_of(&ranked)).len(), 2);
}

#[test]
fn an_unchanged_update_after_the_corpus_changed_keeps_its_buckets_consistent() {
    let a = offer("francetravail", "1", JOB_TEXT);
    let mut dedup = dedup_of(&[(&a, 100)]);
    // Many offers now share A's words inside other sentences: its shingles become frequent and
    // its signature changes, while what the rules compare does not.
    for i in 0..60 {
        let other = offer(
            "hellowork",
            &format!("o{i}"),
            &JOB_TEXT.replace(". ", &format!(" {i}, ")),
        );
        dedup.observe(&other);
    }
    let placement = dedup.upsert(&a, 100);
    assert!(!placement.moved);
    let b = offer("indeed", "b", JOB_TEXT);
    dedup.upsert(&b, 50);
    assert!(same_cluster(&dedup, "francetravail:1", "indeed:b"));
    assert!(dedup.remove("francetravail:1"));
    assert!(dedup.remove("indeed:b"));
    assert!(dedup.is_empty());
    assert_eq!(dedup.cluster_count(), 0);
}
