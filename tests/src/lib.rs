//! Helpers shared by the end-to-end tests: a simulator on a free loopback port, a client
//! configured against it, and a throwaway SQLite store.

use std::net::SocketAddr;
use std::time::Duration;

use relais_fixtures::{SimulatorConfig, SimulatorHandle, start_simulator};
use relais_ingest::francetravail::{
    FranceTravailClient, FranceTravailConfig, FranceTravailSource, SyncOptions,
};
use relais_storage::Store;

/// A simulator serving `offers` offers of `seed`, fast enough for tests.
pub async fn simulator(
    offers: u64,
    seed: u64,
    tune: impl FnOnce(&mut SimulatorConfig),
) -> SimulatorHandle {
    let mut config = SimulatorConfig {
        offers,
        seed,
        rate_per_second: 2_000,
        ..SimulatorConfig::default()
    };
    tune(&mut config);
    start_simulator(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator starts")
}

/// A client configuration pointing at `simulator`.
pub fn client_config(simulator: &SimulatorHandle, rate_per_second: u32) -> FranceTravailConfig {
    let (client_id, secret) = simulator.credentials();
    FranceTravailConfig {
        api_base_url: simulator.api_url(),
        token_url: simulator.token_url(),
        request_timeout: Duration::from_secs(5),
        rate_per_second,
        ..FranceTravailConfig::production(client_id, secret.into())
    }
}

/// A store in a temporary directory (kept alive by the returned guard).
pub async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite"))
        .await
        .expect("store opens");
    (dir, store)
}

/// The France Travail source on `store`, against `simulator`.
pub fn source(simulator: &SimulatorHandle, store: &Store) -> FranceTravailSource {
    let config = FranceTravailConfig {
        max_retries: 2,
        ..client_config(simulator, 2_000)
    };
    let client = FranceTravailClient::new(config).expect("client builds");
    FranceTravailSource::new(client, store.clone(), SyncOptions::default())
}

/// The `relais` binary of this build (`target/<profile>/relais`, next to the test executable's `deps/`).
pub fn relais_binary() -> std::path::PathBuf {
    let test_executable = std::env::current_exe().expect("test executable path");
    let profile_dir = test_executable
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = profile_dir.join(format!("relais{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "`{}` is missing: run `cargo build --workspace --bins` first (the README's test command does)",
        binary.display()
    );
    binary
}

/// Runs the `relais` binary with `--config config` and `args` (logs at `error`); returns its exit
/// code, stdout and stderr.
pub fn relais_with_config(config: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(relais_binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RELAIS_LOG", "error")
        .output()
        .expect("relais runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).expect("utf-8 stdout"),
        String::from_utf8(output.stderr).expect("utf-8 stderr"),
    )
}

/// A partner feed sample of `fixtures/feeds/`.
pub fn feed_fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/feeds")
        .join(name)
}

/// A Python with these pinned PyPI packages (`feedparser==6.0.12`), in a virtual environment
/// kept under the build directory: installed once on a fresh machine, reused afterwards.
pub fn python_with(packages: &[&str]) -> std::path::PathBuf {
    use std::process::Command;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let venv = target
        .join("test-tools")
        .join(packages.join("+").replace(['=', '.'], "_"));
    let python = venv.join("bin").join("python");
    // Tests run in parallel: one creates the environment, the others wait on its lock.
    let lock_path = target.join("test-tools").join("python.lock");
    std::fs::create_dir_all(target.join("test-tools")).expect("test-tools dir");
    let lock = std::fs::File::create(&lock_path).expect("lock file");
    lock.lock().expect("python tools lock");
    if !venv.join("ready").exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages)
            .status()
            .expect("pip runs");
        assert!(status.success(), "pip install {packages:?} failed");
        std::fs::write(venv.join("ready"), packages.join("\n")).expect("ready marker");
    }
    drop(lock);
    python
}
