//! The `relais` binary, as operators and the checks run it: `simulate`, `sync`, `status`, `demo`.
//! The binary is built by the README's test command before the tests run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relais_tests::relais_binary;
use serde_json::Value;

/// A child process killed when dropped.
pub(crate) struct Running(Child);

impl Running {
    /// Kills the process at once (SIGKILL: no shutdown code runs) and reaps it.
    pub(crate) fn kill_now(&mut self) {
        self.0.kill().expect("the process can be killed");
        let _ = self.0.wait();
    }
}

impl Running {
    /// Sends SIGTERM (what systemd sends) and waits for the process to end; its exit status.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        self.0.wait().expect("the process ends")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `relais` with `args` and reads stdout lines until `until` accepts one; returns the lines.
pub(crate) fn start_and_read(
    args: &[&str],
    env: &[(String, String)],
    until: impl Fn(&str) -> bool,
) -> (Running, Vec<String>) {
    start_with_stderr(args, env, until, Stdio::null(), "warn")
}

/// As [`start_and_read`], its logs (at `info`) written to `log`.
pub(crate) fn start_logged(
    args: &[&str],
    env: &[(String, String)],
    until: impl Fn(&str) -> bool,
    log: &std::path::Path,
) -> (Running, Vec<String>) {
    let file = std::fs::File::create(log).expect("log file");
    start_with_stderr(args, env, until, Stdio::from(file), "info")
}

fn start_with_stderr(
    args: &[&str],
    env: &[(String, String)],
    until: impl Fn(&str) -> bool,
    stderr: Stdio,
    level: &str,
) -> (Running, Vec<String>) {
    let (child, receiver) = spawn_reading(args, env, stderr, level);
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(200)) {
            let done = until(&line);
            lines.push(line);
            if done {
                return (child, lines);
            }
        }
    }
    panic!("relais {args:?} did not print the expected line; got {lines:?}");
}

/// Starts `relais` with `args`, its logs at `level` to `stderr`; returns it and its stdout lines
/// as they come.
pub(crate) fn spawn_reading(
    args: &[&str],
    env: &[(String, String)],
    stderr: Stdio,
    level: &str,
) -> (Running, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(relais_binary())
        .args(args)
        .envs(env.iter().cloned())
        .env("RELAIS_LOG", level)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("relais starts");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining after the test stops listening: a child writing to a closed pipe dies.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    (Running(child), receiver)
}

/// `relais serve` with `config`, once its index has applied every change of the store it saw
/// at start (`/readyz`); returns it and its base URL.
pub(crate) fn serve(config: &std::path::Path) -> (Running, String) {
    let config_arg = config.display().to_string();
    let (serve, lines) = start_and_read(&["--config", &config_arg, "serve"], &[], |l| {
        l.starts_with("serving on ")
    });
    let base = lines
        .last()
        .unwrap()
        .strip_prefix("serving on ")
        .unwrap()
        .to_owned();
    wait_until_caught_up(&base, None);
    (serve, base)
}

/// As [`serve`], its logs (at `info`) written to `log`.
pub(crate) fn serve_logged(config: &std::path::Path, log: &std::path::Path) -> (Running, String) {
    let config_arg = config.display().to_string();
    let (serve, lines) = start_logged(
        &["--config", &config_arg, "serve"],
        &[],
        |l| l.starts_with("serving on "),
        log,
    );
    let base = lines
        .last()
        .unwrap()
        .strip_prefix("serving on ")
        .unwrap()
        .to_owned();
    wait_until_caught_up(&base, None);
    (serve, base)
}

/// Waits until the server's index follows the change log with nothing left to apply (and, when
/// given, has applied up to `change_seq`); returns the last `/readyz` body.
pub(crate) fn wait_until_caught_up(base: &str, change_seq: Option<i64>) -> Value {
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/readyz")).send()
            && let Ok(body) = response.json::<Value>()
        {
            let caught_up = body["status"] == "ready"
                && body["following"] == true
                && body["lag"] == 0
                && change_seq.is_none_or(|seq| body["index_change_seq"].as_i64() >= Some(seq));
            if caught_up {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the index did not catch up: {last}");
}

/// `relais simulate francetravail` on a free port; returns it and the environment pointing at it.
pub(crate) fn simulator(offers: u64, rate: u32) -> (Running, Vec<(String, String)>) {
    let (offers, rate) = (offers.to_string(), rate.to_string());
    let args = [
        "simulate",
        "francetravail",
        "--port",
        "0",
        "--offers",
        &offers,
        "--seed",
        "9",
        "--rate",
        &rate,
    ];
    let (child, lines) = start_and_read(&args, &[], |l| l.contains("CLIENT_SECRET"));
    let env = lines
        .iter()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect();
    (child, env)
}

pub(crate) fn run_json(args: &[&str], env: &[(String, String)]) -> Value {
    let output = Command::new(relais_binary())
        .args(args)
        .envs(env.iter().cloned())
        .env("RELAIS_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!(
            "relais {args:?}: {e}; stdout {stdout}; stderr {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub(crate) fn status(env: &[(String, String)]) -> Value {
    run_json(&["status", "--json"], env)
}

#[test]
fn a_full_sync_killed_mid_way_then_run_again_withdraws_nothing_and_doubles_nothing() {
    full_sync_killed_mid_way_then_run_again(None);
}

/// The same on PostgreSQL: the batch and its cursor are one transaction there too.
#[test]
fn on_postgres_a_full_sync_killed_mid_way_then_run_again_withdraws_nothing_and_doubles_nothing() {
    // The test server trusts loopback, so the password is not needed, only carried: it must
    // never be printed.
    let url = relais_tests::postgres_database().replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{STORE_PASSWORD}@"),
        1,
    );
    full_sync_killed_mid_way_then_run_again(Some(url));
}

const STORE_PASSWORD: &str = "pw-never-printed-7f3a";

fn full_sync_killed_mid_way_then_run_again(postgres: Option<String>) {
    let stock = 20_000;
    let (_simulator, mut env) = simulator(stock, 60);
    let data = tempfile::tempdir().unwrap();
    env.push((
        "RELAIS_STORAGE__DATA_DIR".into(),
        data.path().display().to_string(),
    ));
    if let Some(url) = &postgres {
        env.push(("RELAIS_STORAGE__URL".into(), url.clone()));
    }
    env.push(("RELAIS_FRANCETRAVAIL__RATE_PER_SECOND".into(), "60".into()));

    let mut first = Command::new(relais_binary())
        .args(["sync", "francetravail", "--full", "--json"])
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let stored_at_kill = loop {
        assert!(Instant::now() < deadline, "the first sync stored nothing");
        std::thread::sleep(Duration::from_millis(150));
        let active = status(&env)["sources"][0]["active"].as_u64().unwrap_or(0);
        if active >= 3_000 {
            break active;
        }
    };
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first sync ended before it could be killed"
    );
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(stored_at_kill < stock);
    let after_kill = status(&env);
    assert_eq!(after_kill["sources"][0]["withdrawn"], 0);
    assert_eq!(after_kill["sources"][0]["last_run"]["outcome"], "running");

    let report = run_json(&["sync", "francetravail", "--full", "--json"], &env);
    assert_eq!(report["outcome"], "complete", "{report}");
    assert!(
        report["resumed_from"].is_i64(),
        "the second run resumes the first: {report}"
    );
    assert_eq!(report["duplicates"], 0);
    let after = status(&env);
    let source = &after["sources"][0];
    assert_eq!(source["active"].as_u64(), Some(stock), "{after}");
    assert_eq!(source["withdrawn"], 0);
    assert_eq!(source["last_run"]["kind"], "full");
    assert_eq!(source["last_run"]["outcome"], "complete");
    assert_eq!(
        source["last_run"]["failed_partitions"],
        serde_json::json!([])
    );
    if postgres.is_some() {
        for printed in [&report, &after] {
            assert!(!printed.to_string().contains(STORE_PASSWORD), "{printed}");
        }
        assert!(
            !data.path().join("relais.sqlite").exists(),
            "nothing was written to SQLite"
        );
        let output = Command::new(relais_binary())
            .args(["check", "--json"])
            .envs(env.iter().cloned())
            .env("RELAIS_LOG", "info")
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        assert!(
            !stdout.contains(STORE_PASSWORD) && !stderr.contains(STORE_PASSWORD),
            "{stdout} {stderr}"
        );
        let report: Value = serde_json::from_str(stdout.trim()).unwrap();
        let store = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["what"].as_str().unwrap().starts_with("store "))
            .unwrap();
        assert_eq!(store["verdict"], "ok", "{store}");
        assert!(
            store["what"]
                .as_str()
                .unwrap()
                .starts_with("store postgres://postgres@127.0.0.1:"),
            "{store}"
        );
        assert!(
            store["detail"]
                .as_str()
                .unwrap()
                .starts_with("20000 offers"),
            "{store}"
        );
    }
}

#[test]
fn withdrawals_through_the_simulator_control_endpoints_and_a_failing_partition() {
    let (_simulator, mut env) = simulator(3_000, 500);
    let data = tempfile::tempdir().unwrap();
    env.push((
        "RELAIS_STORAGE__DATA_DIR".into(),
        data.path().display().to_string(),
    ));
    env.push(("RELAIS_FRANCETRAVAIL__RATE_PER_SECOND".into(), "500".into()));
    env.push(("RELAIS_FRANCETRAVAIL__MAX_RETRIES".into(), "1".into()));
    assert_eq!(
        run_json(&["sync", "francetravail", "--full", "--json"], &env)["new"],
        3_000
    );

    let base = env
        .iter()
        .find(|(k, _)| k == "RELAIS_FRANCETRAVAIL__API_BASE_URL")
        .unwrap()
        .1
        .replace("/partenaire/offresdemploi", "");
    let http = reqwest::blocking::Client::new();
    let withdrawn: Vec<String> = http
        .post(format!("{base}/_simulator/withdraw?count=100"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(withdrawn.len(), 100);
    // The detail endpoint answers 204 for a withdrawn offer: `--check` withdraws it at once.
    let checked = run_json(
        &["sync", "francetravail", "--check", &withdrawn[0], "--json"],
        &env,
    );
    assert_eq!(checked["withdrawn"], 1, "{checked}");
    let report = run_json(&["sync", "francetravail", "--full", "--json"], &env);
    assert_eq!(
        (report["outcome"].as_str(), report["withdrawn"].as_u64()),
        (Some("complete"), Some(99))
    );

    http.post(format!("{base}/_simulator/withdraw?count=50"))
        .send()
        .unwrap();
    http.post(format!("{base}/_simulator/fail-partition?departement=31"))
        .send()
        .unwrap();
    let report = run_json(&["sync", "francetravail", "--full", "--json"], &env);
    assert_eq!(
        (report["outcome"].as_str(), report["withdrawn"].as_u64()),
        (Some("failed"), Some(0))
    );
    let status = status(&env);
    let source = &status["sources"][0];
    assert_eq!(
        (source["active"].as_u64(), source["withdrawn"].as_u64()),
        (Some(2_900), Some(100))
    );
    assert_eq!(source["last_run"]["outcome"], "failed");
    assert_eq!(
        source["last_run"]["failed_partitions"],
        serde_json::json!(["departement=31"])
    );
}

#[test]
fn the_demo_serves_a_feed_with_offers_at_the_url_it_prints() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let (_demo, lines) = start_and_read(
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
    let printed = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("the demo prints no `{name}:` line: {lines:?}"))
            .to_owned()
    };
    let url = printed("feed");
    // The search URL answers with the printed key, 401 without it.
    let key = printed("api-key");
    let http = reqwest::blocking::Client::new();
    let search = http
        .get(printed("search"))
        .bearer_auth(&key)
        .send()
        .unwrap();
    assert_eq!(search.status().as_u16(), 200);
    let found: Value = search.json().unwrap();
    assert!(found["total"].as_u64().unwrap() > 0, "{found}");
    assert!(
        found["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["departement"] == "31"),
        "the demo key answers within Haute-Garonne: {found}"
    );
    assert_eq!(
        http.get(printed("search"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    // The demo's configuration, written for the other commands: they see its partner sources.
    let config = printed("config");
    let status = run_json(&["--config", &config, "status", "--json"], &[]);
    let ids: Vec<&str> = status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"francetravail") && ids.contains(&"hellowork"),
        "{status}"
    );
    // Its report, as the key's collectivité's.
    let report = http
        .get(printed("report"))
        .bearer_auth(&key)
        .send()
        .unwrap();
    assert_eq!(report.status().as_u16(), 200);
    assert!(
        report
            .text()
            .unwrap()
            .contains("Département de la Haute-Garonne")
    );
    let body: Value = reqwest::blocking::get(&url)
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .unwrap();
    assert!(body["total"].as_u64().unwrap() > 0, "{body}");
    let offers = body["offers"].as_array().unwrap();
    assert!(!offers.is_empty());
    assert!(offers.iter().all(|o| o["departement"] == "31" && o["title"].as_str().is_some_and(|t| !t.is_empty())));
    // Each offer is credited to its own source (not one credit for all), with the date of its
    // own last update and its source's licence link; the page to exactly its offers' sources.
    let all: Value = reqwest::blocking::get(format!("{url}?per_page=100"))
        .unwrap()
        .json()
        .unwrap();
    let offers = all["offers"].as_array().unwrap();
    let mut sources_seen = std::collections::BTreeSet::new();
    for offer in offers {
        let credit = &offer["attribution"];
        assert_eq!(credit["source"], offer["source"], "{offer}");
        let expected = match offer["source"].as_str().unwrap() {
            "francetravail" => "France Travail",
            "hellowork" => "HelloWork",
            other => other,
        };
        if matches!(expected, "France Travail" | "HelloWork") {
            assert_eq!(credit["name"], expected, "{offer}");
        }
        let own_update = if offer["updated_at"].is_null() {
            &offer["created_at"]
        } else {
            &offer["updated_at"]
        };
        assert_eq!(&credit["updated_at"], own_update, "{offer}");
        if offer["source"] == "francetravail" {
            assert!(
                credit["licence_url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://")),
                "{offer}"
            );
        }
        sources_seen.insert(offer["source"].as_str().unwrap().to_owned());
    }
    let dates: std::collections::BTreeSet<String> = offers
        .iter()
        .map(|o| o["attribution"]["updated_at"].to_string())
        .collect();
    assert!(dates.len() > 1, "each offer has its own update date");
    let listed: std::collections::BTreeSet<String> = all["attribution"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed, sources_seen,
        "the page credits exactly its offers' sources"
    );
}

#[test]
fn a_command_whose_output_is_cut_ends_quietly_and_the_demo_keeps_serving() {
    use std::io::Read as _;
    // `relais territory show pays:FR --json | head -c 100`: far more than a pipe holds.
    let mut child = Command::new(relais_binary())
        .args(["territory", "show", "pays:FR", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(!stderr.contains("panicked"), "{stderr}");

    // `relais demo | head -1`: the demo goes on serving.
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let mut demo = Command::new(relais_binary())
        .args([
            "demo",
            "--port",
            "0",
            "--data-dir",
            &data_dir,
            "--offers",
            "500",
        ])
        .env("RELAIS_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(demo.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone: the demo's next lines go to a closed pipe.
    let base = first
        .trim()
        .strip_prefix("feed: ")
        .unwrap()
        .split("/v1/")
        .next()
        .unwrap()
        .to_owned();
    let demo = Running(demo);
    std::thread::sleep(Duration::from_secs(2));
    let health = reqwest::blocking::get(format!("{base}/healthz")).unwrap();
    assert_eq!(health.status().as_u16(), 200);
    drop(demo);
}

#[test]
fn territory_show_and_resolve_print_the_interface_json() {
    let cahors = run_json(&["territory", "show", "epci:200023737", "--json"], &[]);
    assert_eq!(cahors["communes"], 36);
    assert_eq!(cahors["codes"].as_array().unwrap().len(), 36);
    assert!(
        cahors["codes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("46042"))
    );
    assert!(cahors["population"].as_u64().unwrap() > 40_000);
    assert_eq!(
        run_json(&["territory", "show", "dep:46", "--json"], &[])["communes"],
        312
    );
    assert_eq!(
        run_json(&["territory", "show", "region:76", "--json"], &[])["communes"],
        4_446
    );

    let label = run_json(
        &["territory", "resolve", "59 - MARCQ EN BAROEUL", "--json"],
        &[],
    );
    assert_eq!(
        label,
        serde_json::json!({"commune": "59378", "departement": "59", "region": "32", "method": "departement_and_name"})
    );
    let arrondissement = run_json(
        &[
            "territory",
            "resolve",
            "Paris",
            "--insee",
            "75114",
            "--json",
        ],
        &[],
    );
    assert_eq!(
        (
            arrondissement["commune"].as_str(),
            arrondissement["method"].as_str()
        ),
        (Some("75056"), Some("arrondissement_code"))
    );
    let by_postal_code = run_json(
        &[
            "territory",
            "resolve",
            "CAHORS",
            "--postal-code",
            "46000",
            "--json",
        ],
        &[],
    );
    assert_eq!(by_postal_code["commune"], "46042");
    let departement = run_json(&["territory", "resolve", "Lot (46)", "--json"], &[]);
    assert_eq!(
        (
            departement["commune"].clone(),
            departement["departement"].as_str()
        ),
        (Value::Null, Some("46"))
    );
    let nowhere = run_json(&["territory", "resolve", "France", "--json"], &[]);
    assert_eq!(
        (nowhere["commune"].clone(), nowhere["method"].as_str()),
        (Value::Null, Some("unresolved"))
    );
}

#[test]
fn a_backup_taken_while_relais_serves_restores_every_offer_and_is_audited() {
    let (_simulator, mut env) = simulator(1_500, 1_000);
    let data = tempfile::tempdir().unwrap();
    env.push((
        "RELAIS_STORAGE__DATA_DIR".into(),
        data.path().display().to_string(),
    ));
    let report = run_json(&["sync", "francetravail", "--full", "--json"], &env);
    assert_eq!(report["outcome"], "complete", "{report}");
    let config = data.path().join("relais.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\ndata_dir = {:?}\n\
             [francetravail]\nenabled = false\n",
            data.path().display().to_string()
        ),
    )
    .unwrap();
    // Online: `relais serve` holds the store open meanwhile.
    let (_server, _base) = serve(&config);
    let copies = tempfile::tempdir().unwrap();
    let file = copies.path().join("relais-backup.sqlite");
    let file_arg = file.display().to_string();
    let summary = run_json(&["backup", &file_arg, "--json"], &env);
    assert_eq!(summary["offers"], 1_500, "{summary}");
    assert!(summary["bytes"].as_u64().unwrap() > 0);

    // An existing file is kept unless --force.
    let again = Command::new(relais_binary())
        .args(["backup", &file_arg])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let forced = run_json(&["backup", &file_arg, "--force", "--json"], &env);
    assert_eq!(forced["offers"], 1_500);

    // Restored in another data directory, the copy is the store.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&file, restored.path().join("relais.sqlite")).unwrap();
    let restored_env = vec![(
        "RELAIS_STORAGE__DATA_DIR".to_owned(),
        restored.path().display().to_string(),
    )];
    let status = status(&restored_env);
    assert_eq!(status["sources"][0]["active"], 1_500, "{status}");
    assert_eq!(status["sources"][0]["last_run"]["outcome"], "complete");

    // Each backup is an export of the whole base: in the audit trail.
    let audit = Command::new(relais_binary())
        .args(["audit", "--json"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    let backups = String::from_utf8_lossy(&audit.stdout)
        .lines()
        .filter(|line| line.contains("\"backup\""))
        .count();
    assert_eq!(backups, 2);
}

#[test]
fn check_tries_the_store_and_every_source_changes_nothing_and_names_what_fails() {
    let (_simulator, env) = simulator(300, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = relais_tests::feed_fixture("hellowork.xml");
    let config = dir.path().join("relais.toml");
    let write_config = |missing_feed: bool| {
        let mut text = format!(
            "[storage]\ndata_dir = {:?}\n\n[[sources]]\nid = \"hellowork\"\nname = \"HelloWork\"\nurl = {:?}\nformat = {{ type = \"xml\", preset = \"hellowork\" }}\n\n[[feeds]]\nname = \"lot\"\ntitle = \"Lot\"\nterritory = \"dep:46\"\n",
            data.display().to_string(),
            good.display().to_string()
        );
        if missing_feed {
            text.push_str(&format!(
                "\n[[sources]]\nid = \"gone\"\nname = \"Gone\"\nurl = {:?}\nformat = {{ type = \"xml\", preset = \"hellowork\" }}\n",
                dir.path().join("no-such-feed.xml").display().to_string()
            ));
        }
        std::fs::write(&config, text).unwrap();
    };
    let check = |env: &[(String, String)]| {
        let output = Command::new(relais_binary())
            .args(["--config", &config.display().to_string(), "check", "--json"])
            .envs(env.iter().cloned())
            .env("RELAIS_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let secret = env
            .iter()
            .find(|(name, _)| name.ends_with("CLIENT_SECRET"))
            .map(|(_, value)| value.clone())
            .unwrap();
        assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
        let report: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
        let verdicts: Vec<(String, String)> = report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["what"].as_str().unwrap().to_owned(),
                    c["verdict"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (output.status.code(), report, verdicts)
    };
    let verdict = |verdicts: &[(String, String)], prefix: &str| {
        verdicts
            .iter()
            .find(|(what, _)| what.starts_with(prefix))
            .map(|(_, verdict)| verdict.clone())
            .unwrap_or_else(|| panic!("no check `{prefix}` in {verdicts:?}"))
    };

    // Before any run: the store is yet to be created, which the check does not do.
    write_config(false);
    let (code, report, verdicts) = check(&env);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(verdict(&verdicts, "configuration"), "ok");
    assert_eq!(verdict(&verdicts, "store"), "warning");
    assert_eq!(verdict(&verdicts, "source francetravail"), "ok", "{report}");
    assert_eq!(verdict(&verdicts, "source hellowork"), "ok", "{report}");
    assert!(
        !data.join("relais.sqlite").exists(),
        "the check created the store"
    );

    // After a sync, the store is checked too, and the check writes no run.
    let (code, _, _) = relais_tests::relais_with_config(&config, &["sync", "hellowork", "--json"]);
    assert_eq!(code, 0);
    let runs_before = run_json(
        &[
            "--config",
            &config.display().to_string(),
            "status",
            "--json",
        ],
        &env,
    );
    let (code, report, verdicts) = check(&env);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(verdict(&verdicts, "store"), "ok", "{report}");
    let runs_after = run_json(
        &[
            "--config",
            &config.display().to_string(),
            "status",
            "--json",
        ],
        &env,
    );
    assert_eq!(runs_before, runs_after, "the check changed the store");

    // A source that cannot be read, and France Travail refusing the credentials, fail it.
    write_config(true);
    let mut wrong = env.clone();
    for (name, value) in &mut wrong {
        if name.ends_with("CLIENT_SECRET") {
            value.push_str("-wrong");
        }
    }
    let (code, report, verdicts) = check(&wrong);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(verdict(&verdicts, "source gone"), "failed");
    assert_eq!(
        verdict(&verdicts, "source francetravail"),
        "failed",
        "{report}"
    );
    assert_eq!(verdict(&verdicts, "source hellowork"), "ok");

    // An invalid configuration is named as such.
    std::fs::write(&config, "[storage]\nno_such_key = 1\n").unwrap();
    let (code, report, verdicts) = check(&env);
    assert_eq!(code, Some(1));
    assert_eq!(verdict(&verdicts, "configuration"), "failed", "{report}");
}
