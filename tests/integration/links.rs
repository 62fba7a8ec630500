//! The apply links' check against a local server: a link that starts answering 404 hides its
//! offer after two checks, on every surface of a running `relais serve`; when the link comes
//! back, the offer shows again.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use relais_tests::{feed_fixture, relais_with_config};
use serde_json::Value;

#[derive(Clone, Default)]
struct Board {
    gone: Arc<AtomicBool>,
    agents: Arc<Mutex<Vec<String>>>,
}

async fn offer_page(
    State(board): State<Board>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> StatusCode {
    if let Some(agent) = headers.get("user-agent").and_then(|v| v.to_str().ok()) {
        board.agents.lock().unwrap().push(agent.to_owned());
    }
    if id == "0" && board.gone.load(Ordering::SeqCst) {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    }
}

/// The keys of the offers the feed shows.
fn feed_keys(base: &str) -> Vec<String> {
    let body: Value =
        reqwest::blocking::get(format!("{base}/v1/feeds/val-de-marne/offers?per_page=100"))
            .unwrap()
            .json()
            .unwrap();
    body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect()
}

fn feed_shows(base: &str, key: &str) -> bool {
    feed_keys(base).iter().any(|k| k == key)
}

/// Waits (the server reads the hidden offers every 10 s) until the feed shows the offer or not.
fn wait_for(base: &str, key: &str, shown: bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while feed_shows(base, key) != shown {
        assert!(
            Instant::now() < deadline,
            "{key} is still {}",
            if shown { "hidden" } else { "shown" }
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_gone_apply_link_hides_its_offer_after_two_checks_and_a_link_back_shows_it() {
    let board = Board::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/offre/{id}", axum::routing::get(offer_page))
        .with_state(board.clone());
    runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The sample feed, each job's link on the local board.
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(feed_fixture("hellowork.xml")).unwrap();
    let mut feed = String::new();
    for (i, part) in sample.split("<url><![CDATA[").enumerate() {
        if i == 0 {
            feed.push_str(part);
        } else {
            let rest = part.split_once("]]></url>").unwrap().1;
            feed.push_str(&format!(
                "<url><![CDATA[http://127.0.0.1:{port}/offre/{}]]></url>{rest}",
                i - 1
            ));
        }
    }
    std::fs::write(dir.path().join("board.xml"), feed).unwrap();
    let config = relais_tests::offline_config(
        dir.path(),
        &format!(
            r#"[duties]
link_check_per_host_per_second = 50

[[feeds]]
name = "val-de-marne"
title = "France"
territory = "pays:FR"

[[sources]]
id = "hellowork"
url = {board:?}
format = {{ type = "xml", preset = "hellowork" }}
"#,
            board = dir.path().join("board.xml"),
        ),
    );
    let (code, out, err) = relais_with_config(&config, &["sync", "hellowork"]);
    assert_eq!(code, 0, "{out}{err}");
    let (_serve, base) = crate::cli::serve(&config);
    let key = "hellowork:68087320";
    let before = feed_keys(&base);
    assert!(
        before.len() >= 2 && before.iter().any(|k| k == key),
        "{before:?}"
    );

    let check = || {
        let (code, out, err) = relais_with_config(&config, &["links", "check", "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let all_fine = check();
    assert_eq!(
        (all_fine["gone"].as_u64(), all_fine["hidden"].as_u64()),
        (Some(0), Some(0)),
        "{all_fine}"
    );
    assert!(all_fine["checked"].as_u64().unwrap() >= 2, "{all_fine}");
    board.gone.store(true, Ordering::SeqCst);
    let first = check();
    assert_eq!(
        (first["gone"].as_u64(), first["hidden"].as_u64()),
        (Some(1), Some(0)),
        "once is not enough: {first}"
    );
    assert!(feed_shows(&base, key));
    let second = check();
    assert_eq!(second["hidden"], 1, "{second}");
    wait_for(&base, key, false);
    let page = reqwest::blocking::get(format!("{base}/offres/{key}")).unwrap();
    assert_eq!(page.status().as_u16(), 404);
    let (_, listed, _) = relais_with_config(&config, &["links", "list", "--json"]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["hidden"][0]["key"], key, "{listed}");
    assert_eq!(listed["hidden"][0]["status"], 404);
    let others: Vec<String> = before.iter().filter(|k| *k != key).cloned().collect();
    assert_eq!(feed_keys(&base), others, "the others stay");

    board.gone.store(false, Ordering::SeqCst);
    let back = check();
    assert_eq!(back["shown_again"], 1, "{back}");
    wait_for(&base, key, true);
    assert!(
        board
            .agents
            .lock()
            .unwrap()
            .iter()
            .all(|a| a.starts_with("relais-link-check/")),
        "every check says who asks"
    );
}
