//! The search API end to end: `relais serve` over a real SQLite store, on loopback.

use relais_tests::{feed_fixture, relais_with_config};
use serde_json::Value;

use crate::cli::start_and_read;

fn get(url: &str) -> (u16, Value) {
    let response = reqwest::blocking::get(url).unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

#[test]
fn search_and_offer_pages_over_http_with_withdrawn_offers_gone() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("board.xml");
    let full = std::fs::read_to_string(feed_fixture("hellowork.xml")).unwrap();
    std::fs::write(&feed, &full).unwrap();
    let config = dir.path().join("relais.toml");
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
id = "hellowork"
url = {feed:?}
format = {{ type = "xml", preset = "hellowork" }}
"#,
            data = dir.path().join("data"),
        ),
    )
    .unwrap();
    let (code, out, err) = relais_with_config(&config, &["sync", "hellowork", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    // The board drops its first job: a complete snapshot withdraws it.
    let (head, rest) = full.split_once("<job>").unwrap();
    let after_first = rest.split_once("</job>").unwrap().1;
    std::fs::write(&feed, format!("{head}{}", after_first.trim_start())).unwrap();
    let (code, out, err) =
        relais_with_config(&config, &["sync", "hellowork", "--accept-shrink", "--json"]);
    assert_eq!(code, 0, "{out}{err}");

    let config_arg = config.display().to_string();
    let (_serve, lines) = start_and_read(&["--config", &config_arg, "serve"], &[], |l| {
        l.starts_with("serving on ")
    });
    let base = lines
        .last()
        .unwrap()
        .strip_prefix("serving on ")
        .unwrap()
        .to_owned();

    let (status, body) = get(&format!("{base}/v1/offers?facets=source,contract&limit=2"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 4, "{body}");
    assert_eq!(body["offers"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["facets"]["source"][0],
        serde_json::json!({"value": "hellowork", "count": 4})
    );
    let cursor = body["next_cursor"].as_str().unwrap();
    let (_, next) = get(&format!(
        "{base}/v1/offers?facets=source,contract&limit=2&cursor={cursor}"
    ));
    assert_eq!(next["offers"].as_array().unwrap().len(), 2);
    assert!(next["next_cursor"].is_null(), "{next}");
    let key = body["offers"][0]["key"].as_str().unwrap().to_owned();
    for field in [
        "key",
        "title",
        "employer",
        "commune",
        "departement",
        "contract",
        "published_at",
        "url",
    ] {
        assert!(
            body["offers"][0].get(field).is_some(),
            "{field} missing: {body}"
        );
    }

    let (status, offer) = get(&format!("{base}/v1/offers/{key}"));
    assert_eq!(status, 200, "{offer}");
    assert_eq!(offer["key"], key.as_str());
    assert!(offer["description"].as_str().is_some_and(|d| d.len() > 100));
    assert_eq!(offer["attribution"]["source"], "France Travail");

    let (status, gone) = get(&format!("{base}/v1/offers/hellowork:68087320"));
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (410, Some("offer_withdrawn"))
    );
    assert!(
        gone.get("title").is_none(),
        "nothing of a withdrawn offer: {gone}"
    );
    let (status, missing) = get(&format!("{base}/v1/offers/hellowork:nope"));
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("offer_not_found"))
    );
    let (status, typo) = get(&format!("{base}/v1/offers?qq=x"));
    assert_eq!(
        (status, typo["error"]["code"].as_str()),
        (400, Some("unknown_parameter"))
    );
}
