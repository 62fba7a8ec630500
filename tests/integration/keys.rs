//! Keys under load: 50 keys of 5 collectivités, each sending twice its rate for 30 s on
//! loopback. Each gets its rate (±10 %), every 429 carries `Retry-After`, no answer holds an
//! offer outside the key's territory, and no key appears in the server's logs.

use std::io::Write as _;
use std::time::Duration;

use relais_tests::relais_with_config;
use serde_json::Value;

/// Collectivités and their départements.
const COLLECTIVITES: [(&str, &str); 5] = [
    ("haute-garonne", "31"),
    ("lot", "46"),
    ("paris", "75"),
    ("rhone", "69"),
    ("gironde", "33"),
];
const KEYS_EACH: usize = 10;
const RATE: f64 = 2.0;
const SECONDS: u64 = 30;

#[derive(Default)]
struct Tally {
    ok: u64,
    limited: u64,
    limited_without_retry_after: u64,
    outside: Vec<String>,
    other: Vec<u16>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_keys_at_twice_their_rate_get_their_rate_and_only_their_territory() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("board.xml");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&feed).unwrap());
    relais_fixtures::partner_feed::write_hellowork_feed(
        &mut out,
        5,
        chrono::Utc::now(),
        3_000,
        u64::MAX,
    )
    .unwrap();
    out.flush().unwrap();
    drop(out);
    let mut sections = format!(
        "[[sources]]\nid = \"board\"\nurl = {feed:?}\nformat = {{ type = \"xml\", preset = \"hellowork\" }}\n"
    );
    for (id, departement) in COLLECTIVITES {
        sections.push_str(&format!(
            "\n[[collectivites]]\nid = {id:?}\nname = {id:?}\nsiren = \"200023737\"\nterritory = \"dep:{departement}\"\n"
        ));
    }
    let config = relais_tests::offline_config(dir.path(), &sections);
    let (code, out, err) = relais_with_config(&config, &["sync", "board"]);
    assert_eq!(code, 0, "{out}{err}");
    let rate = format!("{RATE}/s");
    let mut keys = Vec::new();
    for (id, departement) in COLLECTIVITES {
        for _ in 0..KEYS_EACH {
            let (code, out, err) = relais_with_config(
                &config,
                &[
                    "key",
                    "create",
                    "--collectivite",
                    id,
                    "--rate",
                    &rate,
                    "--json",
                ],
            );
            assert_eq!(code, 0, "{out}{err}");
            let created: Value = serde_json::from_str(&out).unwrap();
            keys.push((created["key"].as_str().unwrap().to_owned(), departement));
        }
    }
    let log = dir.path().join("serve.log");
    let (_serve, base) = {
        let (config, log) = (config.clone(), log.clone());
        tokio::task::spawn_blocking(move || crate::cli::serve_logged(&config, &log))
            .await
            .unwrap()
    };

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // Each key asks for its own territory and for elsewhere in turn.
    let queries = [
        "limit=5",
        "departement=75&limit=5",
        "q=vendeur&limit=5",
        "territory=dep:31&limit=5",
    ];
    let tasks: Vec<_> = keys
        .iter()
        .cloned()
        .map(|(key, departement)| {
            let http = http.clone();
            let base = base.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut every = tokio::time::interval(Duration::from_secs_f64(1.0 / (2.0 * RATE)));
                let end = tokio::time::Instant::now() + Duration::from_secs(SECONDS);
                let mut i = 0;
                while tokio::time::Instant::now() < end {
                    every.tick().await;
                    i += 1;
                    let url = format!("{base}/v1/offers?{}", queries[i % queries.len()]);
                    let Ok(response) = http.get(&url).bearer_auth(&key).send().await else {
                        tally.other.push(0);
                        continue;
                    };
                    match response.status().as_u16() {
                        200 => {
                            tally.ok += 1;
                            let body: Value = response.json().await.unwrap();
                            for offer in body["offers"].as_array().unwrap() {
                                if offer["departement"] != departement {
                                    tally.outside.push(offer["key"].to_string());
                                }
                            }
                        }
                        429 => {
                            tally.limited += 1;
                            if !response.headers().contains_key("retry-after") {
                                tally.limited_without_retry_after += 1;
                            }
                        }
                        other => tally.other.push(other),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tallies: Vec<Tally> = Vec::new();
    for task in tasks {
        tallies.push(task.await.unwrap());
    }
    let expected = RATE * SECONDS as f64;
    let served: Vec<u64> = tallies.iter().map(|t| t.ok).collect();
    for (i, tally) in tallies.iter().enumerate() {
        let ok = tally.ok as f64;
        assert!(
            (expected * 0.9..=expected * 1.1).contains(&ok),
            "key {i} was served {ok} times in {SECONDS} s at {RATE}/s (all: {served:?})"
        );
        assert!(tally.limited > 0, "key {i} was never limited");
        assert_eq!(
            tally.limited_without_retry_after, 0,
            "a 429 without Retry-After"
        );
        assert!(
            tally.outside.is_empty(),
            "key {i} got offers outside its territory: {:?}",
            tally.outside
        );
        assert!(tally.other.is_empty(), "key {i} got {:?}", tally.other);
    }
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("INFO"), "the server logged: {logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in a log file");
    for (key, _) in &keys {
        let secret = key.rsplit('_').next().unwrap();
        assert!(!logs.contains(secret), "a key is in the logs");
    }
    let total: u64 = served.iter().sum();
    eprintln!(
        "{total} answers served to {} keys in {SECONDS} s (each {:?})",
        keys.len(),
        served
    );
}

#[test]
fn collectivites_and_keys_are_managed_by_the_cli_and_a_revoked_key_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relais.toml");
    std::fs::copy(
        relais_tests::feed_fixture("hellowork.xml"),
        dir.path().join("board.xml"),
    )
    .unwrap();
    std::fs::write(
        &config,
        format!(
            r#"operator = "Camille (exploitation)"

[storage]
data_dir = {data:?}

[francetravail]
enabled = false

[server]
listen = "127.0.0.1:0"

[[feeds]]
name = "val-de-marne"
title = "Val-de-Marne"
territory = "dep:94"

[[collectivites]]
id = "grand-cahors"
name = "Communauté d'agglomération du Grand Cahors"
siren = "200023737"
territory = "epci:200023737"

[[sources]]
id = "hellowork"
url = {board:?}
format = {{ type = "xml", preset = "hellowork" }}
"#,
            data = dir.path().join("data"),
            board = dir.path().join("board.xml"),
        ),
    )
    .unwrap();
    let run = |args: &[&str]| relais_with_config(&config, args);
    let (code, out, err) = run(&["sync", "hellowork"]);
    assert_eq!(code, 0, "{out}{err}");
    // Added to the store; the file's collectivité cannot be changed from the CLI.
    let add = [
        "collectivite",
        "add",
        "--id",
        "val-de-marne",
        "--name",
        "Département du Val-de-Marne",
        "--siren",
        "229400028",
        "--territory",
        "dep:94",
        "--feed",
        "val-de-marne",
        "--contact",
        "emploi@valdemarne.example",
    ];
    let (code, out, err) = run(&add);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(&[
        "collectivite",
        "add",
        "--id",
        "grand-cahors",
        "--name",
        "x",
        "--siren",
        "200023737",
        "--territory",
        "dep:46",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("configuration file"), "{err}");
    let (code, _, err) = run(&[
        "collectivite",
        "add",
        "--id",
        "x",
        "--name",
        "x",
        "--siren",
        "12",
        "--territory",
        "dep:46",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("SIREN"), "{err}");
    let (_, out, _) = run(&["collectivite", "list", "--json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    let origins: Vec<(String, String)> = list["collectivites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["collectivite"]["id"].as_str().unwrap().to_owned(),
                c["defined_in"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        origins,
        [
            ("grand-cahors".to_owned(), "config".to_owned()),
            ("val-de-marne".to_owned(), "store".to_owned())
        ]
    );

    let (code, out, err) = run(&[
        "key",
        "create",
        "--collectivite",
        "val-de-marne",
        "--scope",
        "search",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let (id, key) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );
    assert!(key.starts_with(&format!("relais_{id}_")));
    let (code, _, err) = run(&["key", "create", "--collectivite", "nowhere"]);
    assert_ne!(code, 0);
    assert!(err.contains("nowhere"), "{err}");
    let (_, shown, _) = run(&["collectivite", "show", "val-de-marne", "--json"]);
    let (_, listed, _) = run(&["key", "list", "--json"]);
    for text in [&shown, &listed] {
        assert!(text.contains(&id) && !text.contains(&key), "{text}");
    }
    let shown: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["communes"], 47);

    let (_serve, base) = crate::cli::serve(&config);
    let http = reqwest::blocking::Client::new();
    let search = || {
        http.get(format!("{base}/v1/offers"))
            .bearer_auth(&key)
            .send()
            .unwrap()
    };
    let answer = search();
    assert_eq!(answer.status().as_u16(), 200);
    let body: Value = answer.json().unwrap();
    assert!(
        body["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["departement"] == "94"),
        "{body}"
    );
    let (code, out, err) = run(&["key", "revoke", &id]);
    assert_eq!(code, 0, "{out}{err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let answer = search();
        if answer.status().as_u16() == 401 {
            let body: Value = answer.json().unwrap();
            assert_eq!(body["error"]["code"], "revoked_api_key");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked key still works"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, audit, _) = run(&["audit", "--json"]);
    let actions: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        named,
        [
            ("collectivite.add", "Camille (exploitation)"),
            ("key.create", "Camille (exploitation)"),
            ("key.revoke", "Camille (exploitation)"),
        ]
    );
    assert!(!audit.contains(&key));
}
