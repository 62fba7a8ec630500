//! Beyond one machine, on PostgreSQL: `relais worker` (one active, a standby taking over) and
//! `relais api` replicas following the store's publications.

use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::cli::{Running, simulator, spawn_reading, status};

/// `relais ARGS` with `env`, its logs (at `info`) in `log`; returns it and its stdout lines.
fn start(
    args: &[&str],
    env: &[(String, String)],
    log: &std::path::Path,
) -> (Running, Receiver<String>) {
    let log = Stdio::from(std::fs::File::create(log).unwrap());
    spawn_reading(args, env, log, "info")
}

/// Waits up to `within` for a line `expected` on `lines`; how long it took.
fn wait_for_line(
    lines: &Receiver<String>,
    expected: &str,
    within: Duration,
    log: &std::path::Path,
) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        if lines
            .recv_timeout(Duration::from_millis(100))
            .is_ok_and(|line| line == expected)
        {
            return started.elapsed();
        }
    }
    panic!(
        "no `{expected}` within {within:?}; log: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// The environment of a process of this deployment: the simulator's, the PostgreSQL store, and a
/// data directory of its own (as on its own machine).
fn process_env(
    base: &[(String, String)],
    url: &str,
    dir: &std::path::Path,
    rate: u32,
) -> Vec<(String, String)> {
    let mut env = base.to_vec();
    env.push(("RELAIS_STORAGE__URL".into(), url.into()));
    env.push(("RELAIS_STORAGE__DATA_DIR".into(), dir.display().to_string()));
    env.push((
        "RELAIS_FRANCETRAVAIL__RATE_PER_SECOND".into(),
        rate.to_string(),
    ));
    env
}

/// `relais --config CONFIG worker` with `env`, once its first sweep of France Travail is
/// complete (`cli`: the environment of the commands that look); returns it and its stdout.
fn worker_after_first_sweep(
    config: &str,
    env: &[(String, String)],
    cli: &[(String, String)],
    log: &std::path::Path,
) -> (Running, Receiver<String>) {
    let (worker, lines) = start(&["--config", config, "worker"], env, log);
    wait_for_line(&lines, "worker active", Duration::from_secs(30), log);
    let deadline = Instant::now() + Duration::from_secs(120);
    while status(cli)["sources"][0]["last_run"]["outcome"] != "complete" {
        assert!(
            Instant::now() < deadline,
            "the worker's first sweep did not complete"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (worker, lines)
}

/// Withdraws `count` offers at the simulator, then runs a full sweep that withdraws them from
/// the store (`relais sync` with `config` and `cli`); their ids.
fn withdraw_and_sweep(
    base: &[(String, String)],
    config: &str,
    cli: &[(String, String)],
    count: u32,
) -> Vec<String> {
    let withdrawn = withdraw_at_simulator(base, count);
    assert_eq!(withdrawn.len(), count as usize);
    let sweep = crate::cli::run_json(
        &[
            "--config",
            config,
            "sync",
            "francetravail",
            "--full",
            "--json",
        ],
        cli,
    );
    assert_eq!(sweep["withdrawn"], count, "{sweep}");
    withdrawn
}

/// Withdraws `count` offers at the simulator; their ids.
fn withdraw_at_simulator(base: &[(String, String)], count: u32) -> Vec<String> {
    let api = base
        .iter()
        .find(|(key, _)| key == "RELAIS_FRANCETRAVAIL__API_BASE_URL")
        .unwrap()
        .1
        .replace("/partenaire/offresdemploi", "");
    reqwest::blocking::Client::new()
        .post(format!("{api}/_simulator/withdraw?count={count}"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// The active worker is killed (SIGKILL) in the middle of a full sweep: the standby takes over
/// within seconds, resumes the sweep, and the store ends with every offer once, none withdrawn.
#[test]
fn a_standby_worker_takes_over_a_sweep_when_the_active_one_is_killed() {
    let stock = 20_000;
    let (_simulator, base) = simulator(stock, 60);
    let url = relais_tests::postgres_database();
    let dir = tempfile::tempdir().unwrap();
    let envs: Vec<_> = ["a", "b", "cli"]
        .iter()
        .map(|name| process_env(&base, &url, &dir.path().join(name), 60))
        .collect();
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));

    let (mut first, first_lines) = start(&["worker"], &envs[0], &log_a);
    wait_for_line(
        &first_lines,
        "worker active",
        Duration::from_secs(30),
        &log_a,
    );
    let (_second, second_lines) = start(&["worker"], &envs[1], &log_b);
    wait_for_line(
        &second_lines,
        "worker standby",
        Duration::from_secs(30),
        &log_b,
    );

    // The first worker sweeps at once (no sweep ever completed); kill it part of the way.
    let deadline = Instant::now() + Duration::from_secs(120);
    let stored_at_kill = loop {
        assert!(Instant::now() < deadline, "the first worker stored nothing");
        std::thread::sleep(Duration::from_millis(150));
        let active = status(&envs[2])["sources"][0]["active"]
            .as_u64()
            .unwrap_or(0);
        if active >= 3_000 {
            break active;
        }
    };
    first.kill_now();
    assert!(stored_at_kill < stock, "killed before the end of the sweep");

    let takeover = wait_for_line(
        &second_lines,
        "worker active",
        Duration::from_secs(15),
        &log_b,
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    let source = loop {
        assert!(
            Instant::now() < deadline,
            "the standby did not finish the sweep"
        );
        std::thread::sleep(Duration::from_millis(300));
        let now = status(&envs[2]);
        let source = now["sources"][0].clone();
        if source["last_run"]["kind"] == "full" && source["last_run"]["outcome"] == "complete" {
            break source;
        }
    };
    assert_eq!(source["active"].as_u64(), Some(stock), "{source}");
    assert_eq!(source["withdrawn"], 0, "{source}");
    let log = std::fs::read_to_string(&log_b).unwrap();
    assert!(log.contains("resuming an interrupted full sweep"), "{log}");
    eprintln!("stored at kill: {stored_at_kill}; standby active after {takeover:?}");
}

/// The configuration file shared by the processes of a deployment: one feed of all France (the
/// rest comes from each process's environment).
fn shared_config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("relais.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://emploi.example\"\n\n[[feeds]]\nname = \"france\"\ntitle = \"Toute la France\"\nterritory = \"pays:FR\"\n",
    )
    .unwrap();
    path
}

/// `relais --config CONFIG api` with `env`; returns it and its base URL once its index has
/// caught up with the store.
fn api_replica(
    config: &std::path::Path,
    env: &[(String, String)],
    log: &std::path::Path,
) -> (Running, String) {
    let config = config.display().to_string();
    let (replica, lines) = start(&["--config", &config, "api"], env, log);
    serving(replica, &lines, log)
}

/// The base URL a replica prints once it serves, once its index has caught up.
fn serving(replica: Running, lines: &Receiver<String>, log: &std::path::Path) -> (Running, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        assert!(
            Instant::now() < deadline,
            "the replica did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(100))
            && let Some(base) = line.strip_prefix("serving on ")
        {
            break base.to_owned();
        }
    };
    crate::cli::wait_until_caught_up(&base, None);
    (replica, base)
}

/// The feed's first page as a replica serves it.
fn feed_page(http: &reqwest::blocking::Client, base: &str) -> serde_json::Value {
    http.get(format!("{base}/v1/feeds/france/offers?per_page=50"))
        .send()
        .and_then(|response| response.error_for_status())
        .and_then(|response| response.json())
        .expect("the feed answers")
}

/// Requests `base`'s feed page in a loop until `stop`; (answers, failures).
fn load(
    base: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        // A loaded CI machine may take seconds to answer; an error is an error at any speed.
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let (mut answered, mut failed) = (0, 0);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            match http
                .get(format!("{base}/v1/feeds/france/offers?per_page=20"))
                .send()
            {
                Ok(response) if response.status().is_success() => answered += 1,
                outcome => {
                    eprintln!("a request through the load failed: {outcome:?}");
                    failed += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        (answered, failed)
    })
}

/// Two replicas under load, one killed: the other answers every request. Offers withdrawn
/// meanwhile reach the survivor through the log; a replica started late catches up and then
/// answers exactly as the survivor.
#[test]
fn api_replicas_follow_the_store_and_survive_the_death_of_one() {
    let stock = 3_000;
    let (_simulator, base_env) = simulator(stock, 300);
    let url = relais_tests::postgres_database();
    let dir = tempfile::tempdir().unwrap();
    let config = shared_config(dir.path());
    let env = |name: &str| process_env(&base_env, &url, &dir.path().join(name), 300);
    let config_arg = config.display().to_string();
    let worker_log = dir.path().join("worker.log");
    let _worker = worker_after_first_sweep(&config_arg, &env("worker"), &env("cli"), &worker_log);

    let (_first, first) = api_replica(&config, &env("first"), &dir.path().join("first.log"));
    let (mut second, second_url) =
        api_replica(&config, &env("second"), &dir.path().join("second.log"));
    let http = reqwest::blocking::Client::new();
    let page = feed_page(&http, &first);
    let published = page["total"].as_u64().unwrap();
    // Copies of one job are one offer; offers with no known place are in no territory.
    assert!(published > stock * 9 / 10, "{published}");
    assert_eq!(
        page,
        feed_page(&http, &second_url),
        "the replicas answer alike"
    );

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_first = load(first.clone(), stop.clone());
    let on_second = load(second_url.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(800));
    second.kill_now();
    // Offers withdrawn at the source while one replica serves alone.
    let withdrawn = withdraw_and_sweep(&base_env, &config_arg, &env("cli"), 100);
    // One sweep withdraws them in one transaction: the index applies them together.
    let deadline = Instant::now() + Duration::from_secs(30);
    while feed_page(&http, &first)["total"].as_u64().unwrap() >= published {
        assert!(
            Instant::now() < deadline,
            "the survivor did not follow the withdrawals"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answered, failed) = on_first.join().unwrap();
    let (second_answered, second_failed) = on_second.join().unwrap();
    eprintln!(
        "survivor: {answered} answers, {failed} failures; killed: {second_answered} answers, {second_failed} failures"
    );
    assert_eq!(failed, 0, "the survivor failed no request");
    assert!(answered > 0 && second_answered > 0);
    let gone = http
        .get(format!("{first}/offres/francetravail:{}", withdrawn[0]))
        .send()
        .unwrap();
    assert_eq!(gone.status().as_u16(), 410);

    // Started with `--port`, as a second replica of one machine would be.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let late_log = dir.path().join("late.log");
    let (started, late_lines) = start(
        &["--config", &config_arg, "api", "--port", &port.to_string()],
        &env("late"),
        &late_log,
    );
    let (_late, late) = serving(started, &late_lines, &late_log);
    assert_eq!(late, format!("http://127.0.0.1:{port}"));
    assert_eq!(
        feed_page(&http, &late),
        feed_page(&http, &first),
        "a replica started late answers as the survivor"
    );
}

/// PostgreSQL restarted under load: the replica keeps serving from its local index; the worker
/// loses its lease with its session, takes it again and goes on; what changed after the
/// restart reaches the replica.
#[test]
fn a_postgres_restart_under_load_interrupts_no_answer_and_the_deployment_resumes() {
    let cluster = relais_tests::OwnPostgres::start();
    let stock = 2_000;
    let (_simulator, base_env) = simulator(stock, 300);
    let dir = tempfile::tempdir().unwrap();
    let config = shared_config(dir.path());
    let env = |name: &str| process_env(&base_env, &cluster.url(), &dir.path().join(name), 300);
    let config_arg = config.display().to_string();
    let worker_log = dir.path().join("worker.log");
    let (_worker, worker_lines) =
        worker_after_first_sweep(&config_arg, &env("worker"), &env("cli"), &worker_log);
    let replica_log = dir.path().join("replica.log");
    let (_replica, replica) = api_replica(&config, &env("replica"), &replica_log);
    let http = reqwest::blocking::Client::new();
    let published = feed_page(&http, &replica)["total"].as_u64().unwrap();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let under_load = load(replica.clone(), stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    cluster.restart();
    // The worker finds its session gone, and takes the lease again once the server is back.
    wait_for_line(
        &worker_lines,
        "worker active",
        Duration::from_secs(30),
        &worker_log,
    );

    withdraw_and_sweep(&base_env, &config_arg, &env("cli"), 50);
    let deadline = Instant::now() + Duration::from_secs(60);
    while feed_page(&http, &replica)["total"].as_u64().unwrap() >= published {
        assert!(
            Instant::now() < deadline,
            "the replica did not catch up after the restart: {}",
            std::fs::read_to_string(&replica_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (answered, failed) = under_load.join().unwrap();
    eprintln!("through the restart: {answered} answers, {failed} failures");
    assert_eq!(
        failed, 0,
        "the replica answered every request through the restart"
    );
    let worker = std::fs::read_to_string(&worker_log).unwrap();
    assert!(worker.contains("the worker lease was lost"), "{worker}");
}

/// Beside a SQLite store the worker lease is an OS lock in the data directory: a second worker
/// waits, and takes over when the first is killed.
#[test]
fn beside_a_sqlite_store_a_standby_worker_takes_over_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = relais_tests::offline_config(dir.path(), "");
    let config_arg = config.display().to_string();
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let (mut first, first_lines) = start(&["--config", &config_arg, "worker"], &[], &log_a);
    wait_for_line(
        &first_lines,
        "worker active",
        Duration::from_secs(30),
        &log_a,
    );
    let (_second, second_lines) = start(&["--config", &config_arg, "worker"], &[], &log_b);
    wait_for_line(
        &second_lines,
        "worker standby",
        Duration::from_secs(30),
        &log_b,
    );
    first.kill_now();
    let takeover = wait_for_line(
        &second_lines,
        "worker active",
        Duration::from_secs(10),
        &log_b,
    );
    assert!(dir.path().join("data/worker.lock").exists());
    eprintln!("standby active after {takeover:?}");
}
