//! The live index of `relais serve`: killed with SIGKILL while it applies a sync's changes, then
//! restarted, it catches up from the change log; nothing is lost or doubled. An API replica
//! (`relais api`) serves what its worker publishes.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use relais_tests::relais_binary;
use serde_json::Value;

use crate::cli::{serve, wait_until_caught_up};

const OFFERS: u64 = 5_000;

fn readyz(base: &str) -> Option<Value> {
    reqwest::blocking::Client::new()
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(2))
        .send()
        .ok()?
        .json()
        .ok()
}

/// Every key a search walk publishes, each offer's own key and its "also published on" copies,
/// with how many times each was seen.
fn walk(base: &str, key: &str) -> (u64, Vec<String>) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/offers?limit=100&sort=date");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let body: Value = reqwest::blocking::Client::new()
            .get(&url)
            .bearer_auth(key)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let total = body["total"].as_u64().unwrap();
        for offer in body["offers"].as_array().unwrap() {
            seen.push(offer["key"].as_str().unwrap().to_owned());
            for copy in offer["also_published_on"].as_array().into_iter().flatten() {
                seen.push(copy["key"].as_str().unwrap().to_owned());
            }
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (total, seen),
        }
    }
}

#[test]
fn serve_killed_while_applying_changes_catches_up_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("board.xml");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&feed).unwrap());
    relais_fixtures::partner_feed::write_hellowork_feed(
        &mut out,
        11,
        chrono::Utc::now(),
        OFFERS,
        u64::MAX,
    )
    .unwrap();
    std::io::Write::flush(&mut out).unwrap();
    drop(out);
    let config = dir.path().join("relais.toml");
    let database = dir.path().join("data").join("relais.sqlite");
    std::fs::write(
        &config,
        format!(
            r#"[storage]
data_dir = {data:?}

[francetravail]
enabled = false

[server]
listen = "127.0.0.1:0"

[[sources]]
id = "board"
url = {feed:?}
format = {{ type = "xml", preset = "hellowork" }}
"#,
            data = dir.path().join("data"),
        ),
    )
    .unwrap();

    let key = relais_tests::api_key(&config, relais_tests::ALL_FRANCE, &[]);
    let (mut first, base) = serve(&config);
    let mut sync = Command::new(relais_binary())
        .args(["--config", &config.display().to_string(), "sync", "board"])
        .env("RELAIS_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill the server once it has applied part of the changes and more are coming or waiting.
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_at = loop {
        assert!(
            Instant::now() < deadline,
            "the server never started applying the sync"
        );
        let running = sync.try_wait().unwrap().is_none();
        if let Some(body) = readyz(&base) {
            let applied = body["index_change_seq"].as_i64().unwrap_or(0);
            if applied > 0 && (running || body["lag"].as_i64() > Some(0)) {
                first.kill_now();
                break body;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(sync.wait().unwrap().success(), "the sync failed");
    let (last_seq, active) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = relais_storage::Store::open_sqlite(&database).await.unwrap();
        let board = relais_model::SourceId::parse("board").unwrap();
        let keys: Vec<relais_model::OfferKey> = store
            .active_offer_ids(&board)
            .await
            .unwrap()
            .iter()
            .map(|id| relais_model::OfferKey::new(board.clone(), id).unwrap())
            .collect();
        // What a key of the whole country gets: the offers located in France (an offer with
        // no place at all is in no territory).
        let active: BTreeSet<String> = store
            .offers(&keys)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| {
                o.location.commune.is_some()
                    || o.location.departement.is_some()
                    || o.location.region.is_some()
            })
            .map(|o| o.key.to_string())
            .collect();
        (store.last_change_seq().await.unwrap(), active)
    });
    assert!(
        active.len() as u64 > OFFERS * 9 / 10,
        "{} offers stored",
        active.len()
    );
    assert!(
        killed_at["index_change_seq"].as_i64().unwrap() < last_seq,
        "killed after everything was applied: {killed_at}"
    );

    let (_second, base) = serve(&config);
    let ready = wait_until_caught_up(&base, Some(last_seq));
    assert_eq!(ready["index_change_seq"], last_seq, "{ready}");
    let (total, seen) = walk(&base, &key);
    let distinct: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(distinct.len(), seen.len(), "an offer is published twice");
    let lost: Vec<&String> = active.difference(&distinct).collect();
    let extra: Vec<&String> = distinct.difference(&active).collect();
    assert!(
        lost.is_empty() && extra.is_empty(),
        "published (with their copies) is not what the store holds: lost {lost:?}, not in the store {extra:?} (killed at {killed_at})"
    );
    assert!(total as usize <= active.len());
}

/// Writes the board's feed of `offers` generated offers (the same ids for the same rank).
fn write_board_feed(path: &std::path::Path, offers: u64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    relais_fixtures::partner_feed::write_hellowork_feed(
        &mut out,
        11,
        chrono::Utc::now(),
        offers,
        u64::MAX,
    )
    .unwrap();
    std::io::Write::flush(&mut out).unwrap();
}

/// Syncs the board; returns the store's last change once it is done.
fn sync_board(config: &std::path::Path, database: &std::path::Path) -> i64 {
    let status = Command::new(relais_binary())
        .args([
            "--config",
            &config.display().to_string(),
            "sync",
            "board",
            "--accept-shrink",
        ])
        .env("RELAIS_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the sync failed");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = relais_storage::Store::open_sqlite(database).await.unwrap();
        store.last_change_seq().await.unwrap()
    })
}

/// An API replica (`relais api`, with its own index and no deduplicator) serves what the
/// worker of a `relais serve` publishes: the same offers with the same copies, and a
/// withdrawal reaches it too.
#[test]
fn an_api_replica_serves_what_the_worker_of_serve_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("board.xml");
    write_board_feed(&feed, 600);
    let config = relais_tests::offline_config(
        dir.path(),
        &format!(
            r#"[[sources]]
id = "board"
url = {feed:?}
format = {{ type = "xml", preset = "hellowork" }}
"#
        ),
    );
    let key = relais_tests::api_key(&config, relais_tests::ALL_FRANCE, &[]);
    let database = dir.path().join("data").join("relais.sqlite");
    let (_serve, serve_base) = serve(&config);
    let synced = sync_board(&config, &database);
    wait_until_caught_up(&serve_base, Some(synced));

    let config_arg = config.display().to_string();
    let api_index = dir.path().join("api-index");
    let (_api, lines) = crate::cli::start_and_read(
        &["--config", &config_arg, "api"],
        &[(
            "RELAIS_STORAGE__INDEX_DIR".to_owned(),
            api_index.display().to_string(),
        )],
        |l| l.starts_with("serving on "),
    );
    let api_base = lines
        .last()
        .unwrap()
        .strip_prefix("serving on ")
        .unwrap()
        .to_owned();
    wait_until_caught_up(&api_base, Some(synced));
    assert!(
        api_index.join("meta.json").exists(),
        "the replica's own index"
    );
    let (total, published) = walk(&serve_base, &key);
    assert!(total > 300, "{total} offers published");
    assert_eq!(walk(&api_base, &key), (total, published.clone()));

    // A third of the offers leave the board: both indexes drop them.
    write_board_feed(&feed, 400);
    let synced = sync_board(&config, &database);
    wait_until_caught_up(&serve_base, Some(synced));
    wait_until_caught_up(&api_base, Some(synced));
    let (fewer, remaining) = walk(&serve_base, &key);
    assert!(fewer < total, "{fewer} of {total} after the withdrawals");
    assert_eq!(walk(&api_base, &key), (fewer, remaining));
}
