//! The search API end to end: `relais serve` over a real SQLite store, on loopback.

use relais_tests::{feed_fixture, relais_with_config};
use serde_json::Value;

use crate::cli::serve;

fn get(key: &str, url: &str) -> (u16, Value) {
    let response = reqwest::blocking::Client::new()
        .get(url)
        .bearer_auth(key)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

/// Checks a real answer against the schema `/openapi.json` gives for its route and status.
fn conforms(document: &Value, route: &str, status: u16, body: &Value) {
    let schema = &document["paths"][route]["get"]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(!schema.is_null(), "{route} {status} is not documented");
    let root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": document["components"],
    });
    if let Err(error) = jsonschema::validate(&root, body) {
        panic!("{route} {status} does not match its schema: {error}\n{body}");
    }
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

    let api_key = relais_tests::api_key(&config, relais_tests::ALL_FRANCE, &[]);
    let (_serve, base) = serve(&config);

    let (status, document) = get(&api_key, &format!("{base}/openapi.json"));
    assert_eq!(status, 200);
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{document}"
    );
    let (status, ready) = get(&api_key, &format!("{base}/readyz"));
    conforms(&document, "/readyz", status, &ready);

    let (status, body) = get(
        &api_key,
        &format!("{base}/v1/offers?facets=source,contract&limit=2"),
    );
    assert_eq!(status, 200, "{body}");
    conforms(&document, "/v1/offers", status, &body);
    let (status, around) = get(
        &api_key,
        &format!(
            "{base}/v1/offers?q=manager&lat=48.85&lon=2.35&radius_km=50&sort=distance&facets=published,departement,commune,rome_domain,working_time"
        ),
    );
    conforms(&document, "/v1/offers", status, &around);
    assert_eq!(body["total"], 4, "{body}");
    assert_eq!(body["offers"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["facets"]["source"][0],
        serde_json::json!({"value": "hellowork", "count": 4})
    );
    let cursor = body["next_cursor"].as_str().unwrap();
    let (_, next) = get(
        &api_key,
        &format!("{base}/v1/offers?facets=source,contract&limit=2&cursor={cursor}"),
    );
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

    let (status, offer) = get(&api_key, &format!("{base}/v1/offers/{key}"));
    assert_eq!(status, 200, "{offer}");
    conforms(&document, "/v1/offers/{key}", status, &offer);
    assert_eq!(offer["key"], key.as_str());
    assert!(offer["description"].as_str().is_some_and(|d| d.len() > 100));
    // Credited to its own source (a partner's copy to the partner).
    let source = key.split(':').next().unwrap();
    assert_eq!(offer["attribution"]["source"], source);
    assert!(offer["attribution"]["licence_url"].is_string() || source != "francetravail");

    let (status, gone) = get(&api_key, &format!("{base}/v1/offers/hellowork:68087320"));
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (410, Some("offer_withdrawn"))
    );
    assert!(
        gone.get("title").is_none(),
        "nothing of a withdrawn offer: {gone}"
    );
    conforms(&document, "/v1/offers/{key}", status, &gone);
    let (status, missing) = get(&api_key, &format!("{base}/v1/offers/hellowork:nope"));
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("offer_not_found"))
    );
    conforms(&document, "/v1/offers/{key}", status, &missing);
    let (status, typo) = get(&api_key, &format!("{base}/v1/offers?qq=x"));
    assert_eq!(
        (status, typo["error"]["code"].as_str()),
        (400, Some("unknown_parameter"))
    );
    conforms(&document, "/v1/offers", status, &typo);
    let (status, missing_feed) = get(&api_key, &format!("{base}/v1/feeds/nowhere/offers"));
    conforms(&document, "/v1/feeds/{feed}/offers", status, &missing_feed);
    // Without a key, or with a wrong one: 401, never the offers.
    let (status, anonymous) = get("", &format!("{base}/v1/offers"));
    assert_eq!(
        (status, anonymous["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    conforms(&document, "/v1/offers", status, &anonymous);
    let response = reqwest::blocking::get(format!("{base}/v1/offers")).unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "missing_api_key");
    // The last character changed (to another one: a key may end with `0`).
    let last = if api_key.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &api_key[..api_key.len() - 1]);
    let (status, _) = get(&wrong, &format!("{base}/v1/offers"));
    assert_eq!(status, 401);
    let (status, sources) = get("", &format!("{base}/v1/sources"));
    conforms(&document, "/v1/sources", status, &sources);
    let hellowork = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "hellowork")
        .unwrap();
    assert!(hellowork["active"].as_u64().unwrap() > 0, "{sources}");
    assert!(hellowork["last_complete_run"].is_string(), "{sources}");
    assert_eq!(hellowork["published"], true, "{sources}");
}
