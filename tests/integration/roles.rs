//! Beyond one machine, on PostgreSQL: `relais worker` (one active, a standby taking over) and
//! `relais api` replicas following the store's publications.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use relais_tests::relais_binary;

use crate::cli::{Running, simulator, status};

/// `relais ARGS` with `env`, its logs (at `info`) in `log`; returns it and its stdout lines.
fn start(
    args: &[&str],
    env: &[(String, String)],
    log: &std::path::Path,
) -> (Running, Receiver<String>) {
    let mut child = Command::new(relais_binary())
        .args(args)
        .envs(env.iter().cloned())
        .env("RELAIS_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("relais starts");
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    (Running::new(child), receiver)
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
) -> Vec<(String, String)> {
    let mut env = base.to_vec();
    env.push(("RELAIS_STORAGE__URL".into(), url.into()));
    env.push(("RELAIS_STORAGE__DATA_DIR".into(), dir.display().to_string()));
    env.push(("RELAIS_FRANCETRAVAIL__RATE_PER_SECOND".into(), "60".into()));
    env
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
        .map(|name| process_env(&base, &url, &dir.path().join(name)))
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
