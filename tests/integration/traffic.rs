//! Traffic counted exactly, without visitor data: the demo's widget (both forms) driven in
//! headless Chromium, an offer's page opened from it, "Postuler" clicked, the search API called
//! by an app a known number of times; then `relais report --format json` gives exactly those
//! numbers per channel and source, and neither the database nor the logs hold an IP address, a
//! user agent or the key.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use relais_tests::browser::{Browser, DESKTOP_AGENT};
use serde_json::Value;

use crate::browser::host_site;
use crate::cli::start_logged;

/// (channel, source) → [impressions, views, apply clicks].
type Counts = BTreeMap<(String, String), [i64; 3]>;

fn source_of(key: &str) -> String {
    key.split(':').next().unwrap().to_owned()
}

fn add(counts: &mut Counts, channel: &str, key: &str, which: usize) {
    counts
        .entry((channel.to_owned(), source_of(key)))
        .or_default()[which] += 1;
}

/// The keys behind the offer links of the current page (or of the widget's shadow root).
async fn shown_keys(browser: &Browser, relais: &str, in_shadow: bool) -> Vec<String> {
    let root = if in_shadow {
        "document.querySelector('relais-offres').shadowRoot"
    } else {
        "document"
    };
    let value = browser
        .js(&format!(
            "return [...{root}.querySelectorAll('a')]
               .filter(a => a.href.startsWith('{relais}/offres/'))
               .map(a => decodeURIComponent(new URL(a.href).pathname.split('/offres/')[1]));"
        ))
        .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// Yesterday to tomorrow (France): the test may run across midnight.
fn around_today() -> (String, String) {
    let today =
        chrono::NaiveDate::parse_from_str(&relais_publish::reports::today(), "%Y-%m-%d").unwrap();
    let day = chrono::Days::new(1);
    ((today - day).to_string(), (today + day).to_string())
}

fn report(data_dir: &str) -> Value {
    let (from, to) = around_today();
    let output = std::process::Command::new(relais_tests::relais_binary())
        .args([
            "report",
            "--collectivite",
            "haute-garonne",
            "--from",
            &from,
            "--to",
            &to,
        ])
        .args(["--format", "json"])
        .env("RELAIS_STORAGE__DATA_DIR", data_dir)
        .env("RELAIS_LOG", "error")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn reported(report: &Value) -> Counts {
    let mut counts = Counts::new();
    for day in report["days"].as_array().unwrap() {
        let entry = counts
            .entry((
                day["channel"].as_str().unwrap().to_owned(),
                day["source"].as_str().unwrap().to_owned(),
            ))
            .or_default();
        for (i, name) in ["impressions", "views", "apply_clicks"].iter().enumerate() {
            entry[i] += day[name].as_i64().unwrap();
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_gives_exactly_the_traffic_of_a_browser_and_an_app_and_no_visitor_data() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("demo").display().to_string();
    let log = data.path().join("demo.log");
    let (_demo, lines) = {
        let (data_dir, log) = (data_dir.clone(), log.clone());
        tokio::task::spawn_blocking(move || {
            start_logged(
                &[
                    "demo",
                    "--port",
                    "0",
                    "--data-dir",
                    &data_dir,
                    "--offers",
                    "2000",
                ],
                &[],
                |l| l.starts_with("report: "),
                &log,
            )
        })
        .await
        .unwrap()
    };
    let printed = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap()
            .to_owned()
    };
    let relais = printed("method").trim_end_matches("/methode").to_owned();
    let key = printed("api-key");
    let mut expected = Counts::new();

    let browser = Browser::start(1280, 1000).await;
    // The iframe's page: its list is counted when served.
    browser
        .client
        .goto(&format!("{relais}/widget/haute-garonne"))
        .await
        .unwrap();
    let iframe = shown_keys(&browser, &relais, false).await;
    assert_eq!(iframe.len(), 10, "{iframe:?}");
    for key in &iframe {
        add(&mut expected, "widget", key, 0);
    }
    // The web component on a collectivité's page: its beacon reports what it drew.
    let host = host_site(format!(
        r#"<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Mairie</title></head>
<body><main><h1>Offres d'emploi</h1><relais-offres feed="haute-garonne"></relais-offres></main>
<script src="{relais}/widget.js"></script></body></html>"#
    ))
    .await;
    browser.client.goto(&host).await.unwrap();
    browser
        .wait_until(
            "the web component's first page",
            "return document.querySelector('relais-offres').shadowRoot.querySelectorAll('li.offre').length === 10;",
        )
        .await;
    let component = shown_keys(&browser, &relais, true).await;
    assert_eq!(component.len(), 10);
    for key in &component {
        add(&mut expected, "widget", key, 0);
    }
    // An offer's page from the widget, then "Postuler".
    browser
        .js("document.querySelector('relais-offres').shadowRoot.querySelector('li.offre h3 a').click(); return true;")
        .await;
    browser
        .wait_until(
            "the offer's page",
            "return location.pathname.startsWith('/offres/') && !!document.querySelector('a[href*=\"/r/\"]');",
        )
        .await;
    add(&mut expected, "page", &component[0], 1);
    let apply = browser
        .js("const a = document.querySelector('a[href*=\"/r/\"]'); const href = a.href; a.click(); return href;")
        .await;
    assert!(
        apply.as_str().unwrap().contains("via=haute-garonne"),
        "{apply}"
    );
    add(&mut expected, "page", &component[0], 2);
    // Leaves the page for the recruiter's (unreachable here): the click is counted on the way.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The app: three searches, two details.
    let http = reqwest::Client::new();
    let mut first_keys = Vec::new();
    for _ in 0..3 {
        let body: Value = http
            .get(printed("search"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for offer in body["offers"].as_array().unwrap() {
            let k = offer["key"].as_str().unwrap().to_owned();
            add(&mut expected, "api", &k, 0);
            first_keys.push(k);
        }
    }
    for k in &first_keys[..2] {
        let response = http
            .get(format!("{relais}/v1/offers/{}", k))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        add(&mut expected, "api", k, 1);
    }
    drop(browser);

    // Written every 5 s: the report gets there, then stays there.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = tokio::task::spawn_blocking({
            let data_dir = data_dir.clone();
            move || report(&data_dir)
        })
        .await
        .unwrap();
        if reported(&last) == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(reported(&last), expected, "{last}");
    let sum = |i: usize| expected.values().map(|c| c[i]).sum::<i64>();
    assert_eq!(last["totals"]["impressions"], sum(0));
    assert_eq!(last["totals"]["views"], sum(1));
    assert_eq!(last["totals"]["apply_clicks"], sum(2));
    assert_eq!(last["collectivite"], "haute-garonne");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        reported(&report(&data_dir)),
        expected,
        "nothing counted twice"
    );

    // No visitor data in the store (the database and its log) nor in the logs; no key in logs.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("relais.sqlite")
        {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("INFO"), "the logs were written: {logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in a log file");
    // The servers' own addresses may be logged; a visitor's (loopback, another port) may not.
    let servers: Vec<String> = [relais.as_str(), &printed("simulator"), &host]
        .iter()
        .filter_map(|url| url.rsplit(':').next())
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
        .collect();
    for (what, text) in [("the database", &*stored), ("the logs", &*logs)] {
        for visitor in [DESKTOP_AGENT, "Chrome/148", "HeadlessChrome", "reqwest"] {
            assert!(!text.contains(visitor), "{what} holds `{visitor}`");
        }
        for found in text.split("127.0.0.1:").skip(1) {
            let port: String = found.chars().take_while(char::is_ascii_digit).collect();
            assert!(
                servers.contains(&port),
                "{what} holds a visitor's address 127.0.0.1:{port} (servers: {servers:?}): {}",
                &found[..found.len().min(200)]
            );
        }
    }
    assert!(!logs.contains(&key), "the logs hold the key");
    assert!(!stored.contains(&key), "the database holds the key");
}

/// Impressions of the feed `val-de-marne` counted for `tests`, as `relais report` gives them.
fn feed_impressions(config: &std::path::Path) -> i64 {
    let (from, to) = around_today();
    let (code, out, err) = relais_tests::relais_with_config(
        config,
        &[
            "report",
            "--collectivite",
            "tests",
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    report["totals"]["impressions"].as_i64().unwrap()
}

/// Reads the feed `times` times as a browser; the offers it lists.
fn read_feed(base: &str, times: usize) -> i64 {
    let http = reqwest::blocking::Client::builder()
        .user_agent(DESKTOP_AGENT)
        .build()
        .unwrap();
    let mut listed = 0;
    for _ in 0..times {
        let body: Value = http
            .get(format!("{base}/v1/feeds/val-de-marne/offers"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        listed += body["offers"].as_array().unwrap().len() as i64;
    }
    listed
}

#[test]
fn a_kill_loses_at_most_one_interval_of_traffic_and_a_sigterm_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        relais_tests::feed_fixture("hellowork.xml"),
        dir.path().join("board.xml"),
    )
    .unwrap();
    let config = relais_tests::offline_config(
        dir.path(),
        &format!(
            r#"[duties]
traffic_flush_seconds = 1

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
    let key = relais_tests::api_key(&config, "pays:FR", &["val-de-marne"]);
    let (code, out, err) = relais_tests::relais_with_config(&config, &["sync", "hellowork"]);
    assert_eq!(code, 0, "{out}{err}");

    // Counted, then written within the interval: a kill after it loses nothing.
    let (mut serve, base) = crate::cli::serve(&config);
    let written = read_feed(&base, 5);
    assert!(written > 0);
    std::thread::sleep(Duration::from_millis(2_500));
    serve.kill_now();
    assert_eq!(feed_impressions(&config), written);

    // A kill right after: what was counted since the last write (at most one interval) may be
    // lost, nothing else.
    let (mut serve, base) = crate::cli::serve(&config);
    let at_risk = read_feed(&base, 5);
    serve.kill_now();
    let after_kill = feed_impressions(&config);
    assert!(
        (written..=written + at_risk).contains(&after_kill),
        "{after_kill} impressions after the kill, {written} written before and {at_risk} at risk"
    );

    // SIGTERM: the server drains and writes everything before it exits.
    let (mut serve, base) = crate::cli::serve(&config);
    let last = read_feed(&base, 5);
    assert!(serve.terminate().success());
    assert_eq!(feed_impressions(&config), after_kill + last);

    // The month's reports, one file per collectivité, for the operator to send.
    let month = &relais_publish::reports::today()[..7];
    let out_dir = dir.path().join("rapports");
    let out_arg = out_dir.display().to_string();
    let (code, out, err) = relais_tests::relais_with_config(
        &config,
        &[
            "report", "--all", "--month", month, "--format", "html", "--out", &out_arg,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let file = out_dir.join(format!("relais-tests-{month}.html"));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.contains("Collectivité des tests") && html.contains("<svg"),
        "{html}"
    );
    assert!(!html.contains("<script"), "no script in a report");

    // The audit trail: the key's creation and the exports, by whom, never a secret.
    let (code, out, err) = relais_tests::relais_with_config(&config, &["audit", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let actions: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named = |action: &str| actions.iter().filter(|a| a["action"] == action).count();
    assert_eq!(named("key.create"), 1, "{out}");
    assert!(named("report.export") >= 4, "{out}");
    assert!(
        actions
            .iter()
            .all(|a| a["actor"].as_str().is_some_and(|s| !s.is_empty()))
    );
    assert!(!out.contains(&key), "the audit trail holds the key");
    assert!(
        !out.contains(&relais_publish::hash_key(&key)),
        "the audit trail holds its hash"
    );

    // Freshness judged at another instant: past the staleness limit the feed's source is
    // withheld, and says why.
    let later = (chrono::Utc::now() + chrono::Duration::hours(73)).to_rfc3339();
    let status = |at: Option<&str>| {
        let mut args = vec!["status", "--json"];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        let (code, out, err) = relais_tests::relais_with_config(&config, &args);
        assert_eq!(code, 0, "{out}{err}");
        let body: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        body["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "hellowork")
            .cloned()
            .unwrap()
    };
    assert_eq!(status(None)["published"], true);
    let stale = status(Some(&later));
    assert_eq!(stale["published"], false, "{stale}");
    assert!(
        stale["withheld_reason"].as_str().unwrap().contains("72 h"),
        "{stale}"
    );
}
