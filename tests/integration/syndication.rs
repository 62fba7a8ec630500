//! The demo's feeds as a site and a feed reader use them: RSS 2.0 and Atom 1.0 read by a real
//! feed reader (PyPI `feedparser`) with no error, the right items and dates; validators and
//! 304s, compression, CORS preflight, each on loopback against the real binary.

use std::io::Read;
use std::process::Command;

use reqwest::blocking::Client;
use reqwest::header;
use serde_json::Value;

use crate::cli::start_and_read;

/// The demo's URLs by the name it prints before them.
pub(crate) fn demo() -> (
    crate::cli::Running,
    tempfile::TempDir,
    Vec<(String, String)>,
) {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let (demo, lines) = start_and_read(
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
    );
    let urls = lines
        .iter()
        .filter_map(|l| l.split_once(": "))
        .map(|(name, url)| (name.to_owned(), url.to_owned()))
        .collect();
    (demo, data, urls)
}

pub(crate) fn url<'a>(urls: &'a [(String, String)], name: &str) -> &'a str {
    &urls.iter().find(|(n, _)| n == name).unwrap().1
}

const READ_FEEDS: &str = r#"
import json, sys, feedparser
out = []
for path in sys.argv[1:]:
    feed = feedparser.parse(path)
    out.append({
        "bozo": bool(feed.bozo),
        "error": str(feed.get("bozo_exception", "")),
        "version": feed.version,
        "language": feed.feed.get("language"),
        "link": feed.feed.get("link"),
        "rights": feed.feed.get("rights", ""),
        "entries": [{
            "title": e.get("title"),
            "link": e.get("link"),
            "published": e.get("published_parsed") and "%04d-%02d-%02dT%02d:%02d:%02d" % tuple(e.published_parsed[:6]),
            "tags": [t.get("label") or t.get("term") for t in e.get("tags", [])],
            "author": e.get("author"),
            "summary": e.get("summary", ""),
        } for e in feed.entries],
    })
print(json.dumps(out))
"#;

#[test]
fn rss_and_atom_read_clean_in_a_real_feed_reader() {
    let (_demo, dir, urls) = demo();
    let client = Client::new();
    let json: Value = client
        .get(url(&urls, "feed"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let offers = json["offers"].as_array().unwrap();
    assert!(!offers.is_empty(), "the demo feed has offers");
    let mut paths = Vec::new();
    for (name, content_type) in [
        ("rss", "application/rss+xml; charset=utf-8"),
        ("atom", "application/atom+xml; charset=utf-8"),
    ] {
        let response = client.get(url(&urls, name)).send().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
        let path = dir.path().join(format!("feed.{name}"));
        std::fs::write(&path, response.bytes().unwrap()).unwrap();
        paths.push(path);
    }
    let python = relais_tests::python_with(&["feedparser==6.0.12"]);
    let output = Command::new(python)
        .arg("-c")
        .arg(READ_FEEDS)
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    for (feed, version) in read.iter().zip(["rss20", "atom10"]) {
        assert_eq!(feed["bozo"], false, "{version}: {}", feed["error"]);
        assert_eq!(feed["version"], version);
        assert_eq!(feed["language"], "fr");
        assert!(
            feed["link"]
                .as_str()
                .unwrap()
                .ends_with("/widget/haute-garonne"),
            "{version}: the channel links the page its offers are read on: {}",
            feed["link"]
        );
        assert!(
            feed["rights"].as_str().unwrap().contains("France Travail"),
            "{version}: the channel credits the sources"
        );
        let entries = feed["entries"].as_array().unwrap();
        assert_eq!(entries.len(), offers.len(), "{version}: one item per offer");
        for (entry, offer) in entries.iter().zip(offers) {
            assert_eq!(entry["title"], offer["title"], "{version}");
            let key = offer["key"].as_str().unwrap();
            assert!(
                entry["link"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/offres/{key}?via=haute-garonne")),
                "{version}: the link counts the visit for the feed: {entry}"
            );
            // The reader's date is the offer's creation, to the second, in UTC.
            if let Some(created) = offer["created_at"].as_str() {
                let created = chrono::DateTime::parse_from_rfc3339(created).unwrap();
                let expected = created.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string();
                assert_eq!(entry["published"], expected.as_str(), "{version}: {key}");
            }
            assert!(
                !entry["tags"].as_array().unwrap().is_empty(),
                "{version}: the contract"
            );
            if let Some(employer) = offer["employer"].as_str() {
                assert_eq!(entry["author"], employer, "{version}");
            }
            let credit = offer["attribution"]["text"].as_str().unwrap();
            assert!(
                entry["summary"].as_str().unwrap().contains(credit),
                "{version}: each item carries its own source's credit"
            );
        }
    }
}

#[test]
fn feeds_answer_304_compress_and_allow_browsers_to_call_them() {
    let (_demo, _dir, urls) = demo();
    let client = Client::builder().no_gzip().no_brotli().build().unwrap();
    for name in ["feed", "rss", "atom"] {
        let feed = url(&urls, name);
        let first = client.get(feed).send().unwrap();
        assert_eq!(first.status(), 200);
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "strong: {etag}"
        );
        assert!(
            first.headers().contains_key(header::LAST_MODIFIED),
            "{name}"
        );
        assert!(
            first.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age="),
            "{name}"
        );
        let last_modified = first.headers()[header::LAST_MODIFIED].clone();
        let again = client
            .get(feed)
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .unwrap();
        assert_eq!(again.status(), 304, "{name}: If-None-Match");
        assert_eq!(again.headers()[header::ETAG].to_str().unwrap(), etag);
        let since = client
            .get(feed)
            .header(header::IF_MODIFIED_SINCE, last_modified)
            .send()
            .unwrap();
        assert_eq!(since.status(), 304, "{name}: If-Modified-Since");
        let other = client
            .get(feed)
            .header(header::IF_NONE_MATCH, "\"another\"")
            .send()
            .unwrap();
        assert_eq!(other.status(), 200, "{name}: a stale copy gets the body");
        // Compressed when the client accepts it: the same bytes once decoded, a strong ETag of
        // its own that validates a copy, and `Vary` so that caches keep each encoding apart.
        let plain = client.get(feed).send().unwrap().bytes().unwrap();
        for encoding in ["gzip", "br"] {
            let compressed = client
                .get(feed)
                .header(header::ACCEPT_ENCODING, encoding)
                .send()
                .unwrap();
            assert_eq!(
                compressed.headers()[header::CONTENT_ENCODING],
                encoding,
                "{name}"
            );
            assert!(
                compressed
                    .headers()
                    .get_all(header::VARY)
                    .iter()
                    .any(|vary| vary.to_str().unwrap().contains("accept-encoding")),
                "{name} {encoding}: Vary"
            );
            let compressed_etag = compressed.headers()[header::ETAG].clone();
            assert_ne!(compressed_etag.to_str().unwrap(), etag, "{name} {encoding}");
            let body = compressed.bytes().unwrap();
            let mut decoded = Vec::new();
            if encoding == "br" {
                brotli::Decompressor::new(&body[..], 4096)
                    .read_to_end(&mut decoded)
                    .unwrap();
            } else {
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut decoded)
                    .unwrap();
            }
            assert_eq!(decoded, plain, "{name} {encoding}: decodes to the body");
            let again = client
                .get(feed)
                .header(header::ACCEPT_ENCODING, encoding)
                .header(header::IF_NONE_MATCH, compressed_etag)
                .send()
                .unwrap();
            assert_eq!(again.status(), 304, "{name} {encoding}: If-None-Match");
        }
    }
    // The widget, the offer page the demo prints, and the method page.
    let widget = client.get(url(&urls, "widget")).send().unwrap();
    assert_eq!(widget.status(), 200);
    assert!(widget.text().unwrap().contains("/offres/"));
    let page = client.get(url(&urls, "offer")).send().unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    assert!(html.contains(r#"<script type="application/ld+json">"#));
    assert!(html.contains("Postuler") || !html.contains("/r/"));
    // The demo prints an offer that HelloWork also carries: named as the board, not its id.
    assert!(
        html.contains("<h2>Aussi publiée sur</h2>") && html.contains(">HelloWork</a></li>"),
        "the other boards that carry the offer"
    );
    let method = client.get(url(&urls, "method")).send().unwrap();
    assert_eq!(method.status(), 200);
    assert!(method.text().unwrap().contains("GeoNames"));

    // A town's site calls the JSON from the browser: the preflight is answered.
    let preflight = client
        .request(reqwest::Method::OPTIONS, url(&urls, "feed"))
        .header(header::ORIGIN, "https://www.mairie.example.fr")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "if-none-match")
        .send()
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "*"
    );
    let simple = client
        .get(url(&urls, "feed"))
        .header(header::ORIGIN, "https://www.mairie.example.fr")
        .send()
        .unwrap();
    assert_eq!(simple.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let exposed = simple.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");

    // The list of feeds points at the very addresses the demo prints, and a site may read it.
    let listed = client
        .get(url(&urls, "feeds"))
        .header(header::ORIGIN, "https://www.mairie.example.fr")
        .send()
        .unwrap();
    assert_eq!(listed.status(), 200);
    assert_eq!(listed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let listed: Value = listed.json().unwrap();
    let feed = listed["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feed| feed["name"] == "haute-garonne")
        .expect("the demo's feed is listed");
    assert_eq!(feed["links"]["offers"], url(&urls, "feed"));
    assert_eq!(feed["links"]["rss"], url(&urls, "rss"));
    assert_eq!(feed["links"]["atom"], url(&urls, "atom"));
    assert_eq!(feed["links"]["widget"], url(&urls, "widget"));
    assert_eq!(feed["links"]["example"], url(&urls, "site"));
}

/// What a surface says of the offers: its body.
fn body(client: &Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

#[test]
fn an_offer_withdrawn_by_a_sync_is_gone_from_every_surface_right_after_it() {
    // Feeds (JSON, RSS, Atom), the sitemap, the search, both forms of the widget; the kept
    // bodies of the configured feed included, since each surface is read once before.
    let dir = tempfile::tempdir().unwrap();
    let board = dir.path().join("board.xml");
    let full = std::fs::read_to_string(relais_tests::feed_fixture("hellowork.xml")).unwrap();
    std::fs::write(&board, &full).unwrap();
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

[[feeds]]
name = "nord-ouest"
title = "Offres du nord et de l'ouest"
territory = "region:11 | region:52 | region:44 | region:32"

[[sources]]
id = "hellowork"
name = "HelloWork"
url = {board:?}
format = {{ type = "xml", preset = "hellowork" }}
"#,
            data = dir.path().join("data"),
        ),
    )
    .unwrap();
    let (code, out, err) = relais_tests::relais_with_config(&config, &["sync", "hellowork"]);
    assert_eq!(code, 0, "{out}{err}");
    let key = relais_tests::api_key(&config, relais_tests::ALL_FRANCE, &["nord-ouest"]);
    let (_serve, base) = crate::cli::serve(&config);
    // The search surfaces need the key; the feeds and the widget ignore it.
    let client = Client::builder()
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {key}").parse().unwrap(),
        )]))
        .build()
        .unwrap();
    let gone_key = "hellowork:68087320";
    let surfaces = [
        format!("{base}/v1/feeds/nord-ouest/offers"),
        format!("{base}/v1/feeds/nord-ouest/rss"),
        format!("{base}/v1/feeds/nord-ouest/atom"),
        format!("{base}/sitemaps/nord-ouest.xml"),
        format!("{base}/v1/offers?limit=100"),
        format!("{base}/v1/offers.rss"),
        // The widget: the iframe page and the JSON the web component reads.
        format!("{base}/widget/nord-ouest"),
        format!("{base}/widget/nord-ouest/offres"),
    ];
    // Before: every surface shows it (and the feed bodies are now kept).
    for url in &surfaces {
        let (status, text) = body(&client, url);
        assert_eq!(status, 200, "{url}");
        assert!(text.contains(gone_key), "{url} shows the offer before");
        assert!(
            url.contains("/sitemaps/") || text.contains("HelloWork"),
            "{url} credits its source"
        );
    }
    assert_eq!(body(&client, &format!("{base}/offres/{gone_key}")).0, 200);

    // The board drops the job; a complete snapshot withdraws it while relais serves.
    let (head, rest) = full.split_once("<job>").unwrap();
    let (_, others) = rest.split_once("</job>").unwrap();
    std::fs::write(&board, format!("{head}{others}")).unwrap();
    let (code, out, err) = relais_tests::relais_with_config(&config, &["sync", "hellowork"]);
    assert_eq!(code, 0, "{out}{err}");
    // Right after the sync: once the server's index has applied the store's last change.
    let store_seq = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = relais_storage::Store::open_sqlite(&dir.path().join("data/relais.sqlite"))
            .await
            .unwrap();
        store.last_change_seq().await.unwrap()
    });
    crate::cli::wait_until_caught_up(&base, Some(store_seq));

    for url in &surfaces {
        let (status, text) = body(&client, url);
        assert_eq!(status, 200, "{url}");
        assert!(
            !text.contains(gone_key),
            "{url} still shows the withdrawn offer"
        );
        assert!(
            text.contains("hellowork:68090104"),
            "{url} keeps the others"
        );
    }
    for path in ["offres", "r"] {
        let (status, text) = body(&client, &format!("{base}/{path}/{gone_key}"));
        assert_eq!(status, 410, "/{path}");
        assert!(!text.contains("Stratégie"), "/{path}: none of its content");
    }
}

const READ_JSON_LD: &str = r#"
import json, sys, extruct, rdflib
html = open(sys.argv[1], encoding="utf-8").read()
found = extruct.extract(html, base_url=sys.argv[2], syntaxes=["json-ld"])["json-ld"]
posting = [item for item in found if item.get("@type") == "JobPosting"]
# As JSON-LD, offline: schema.org's remote context stands for its vocabulary.
graph = rdflib.Graph()
for item in posting:
    item = dict(item, **{"@context": {"@vocab": "https://schema.org/"}})
    graph.parse(data=json.dumps(item), format="json-ld")
schema = rdflib.Namespace("https://schema.org/")
typed = list(graph.subjects(rdflib.RDF.type, schema.JobPosting))
titles = [str(t) for s in typed for t in graph.objects(s, schema.title)]
print(json.dumps({"postings": posting, "typed": len(typed), "titles": titles, "triples": len(graph)}))
"#;

#[test]
fn an_offer_pages_job_posting_reads_back_as_json_ld() {
    let (_demo, dir, urls) = demo();
    let offer = url(&urls, "offer");
    let html = Client::new().get(offer).send().unwrap().text().unwrap();
    let path = dir.path().join("offer.html");
    std::fs::write(&path, &html).unwrap();
    let python = relais_tests::python_with(&["extruct==0.18.0", "rdflib==7.6.0"]);
    let output = Command::new(python)
        .arg("-c")
        .arg(READ_JSON_LD)
        .arg(&path)
        .arg(offer)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    let postings = read["postings"].as_array().unwrap();
    assert_eq!(postings.len(), 1, "one JobPosting: {read}");
    let posting = &postings[0];
    // Google's required properties, and the recommended ones every offer has.
    for property in [
        "title",
        "description",
        "datePosted",
        "hiringOrganization",
        "jobLocation",
        "employmentType",
        "identifier",
    ] {
        assert!(
            !posting[property].is_null(),
            "JobPosting lacks {property}: {posting}"
        );
    }
    assert_eq!(posting["jobLocation"]["address"]["@type"], "PostalAddress");
    assert_eq!(posting["jobLocation"]["address"]["addressCountry"], "FR");
    assert!(posting["jobLocation"]["address"]["addressLocality"].is_string());
    assert_eq!(read["typed"], 1, "an RDF graph with one schema:JobPosting");
    assert_eq!(read["titles"][0], posting["title"]);
    assert!(read["triples"].as_u64().unwrap() > 10);
}
