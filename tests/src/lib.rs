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

/// Writes `dir/relais.toml`: a store in `dir/data`, France Travail off, a free loopback port,
/// then `sections` (feeds, sources, collectivités, duties); returns its path.
pub fn offline_config(dir: &std::path::Path, sections: &str) -> std::path::PathBuf {
    let path = dir.join("relais.toml");
    std::fs::write(
        &path,
        format!(
            "[storage]\ndata_dir = {:?}\n\n[francetravail]\nenabled = false\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n{sections}",
            dir.join("data")
        ),
    )
    .expect("config written");
    path
}

/// Every région: the whole country, as a territory expression.
pub const ALL_FRANCE: &str = "pays:FR";

/// Adds the collectivité `tests` over `territory` (owning `feeds`) to the configuration file and
/// makes it a key of both scopes through `relais key create --json`, fast enough for any test;
/// returns the key.
pub fn api_key(config: &std::path::Path, territory: &str, feeds: &[&str]) -> String {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(config)
        .expect("config file");
    write!(
        file,
        "\n[[collectivites]]\nid = \"tests\"\nname = \"Collectivité des tests\"\nsiren = \"200023737\"\nterritory = {territory:?}\nfeeds = {feeds:?}\n"
    )
    .expect("config written");
    drop(file);
    let (code, out, err) = relais_with_config(
        config,
        &[
            "key",
            "create",
            "--collectivite",
            "tests",
            "--scope",
            "search,reports",
            "--rate",
            "100000/s",
            "--daily-quota",
            "100000000",
            "--daily-offers",
            "100000000",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let created: serde_json::Value = serde_json::from_str(&out).expect("key JSON");
    created["key"].as_str().expect("a key").to_owned()
}

/// A partner feed sample of `fixtures/feeds/`.
pub fn feed_fixture(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/feeds")
        .join(name)
}

/// The build directory (`CARGO_TARGET_DIR` or the workspace's `target/`).
pub fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Runs `install` into `dir` under `target/test-tools/` unless an earlier run finished it:
/// tests run in parallel, so one installs and the others wait on the lock.
fn test_tool(name: &str, install: impl FnOnce(&std::path::Path)) -> std::path::PathBuf {
    let tools = target_dir().join("test-tools");
    std::fs::create_dir_all(&tools).expect("test-tools dir");
    let dir = tools.join(name);
    let lock = std::fs::File::create(tools.join("tools.lock")).expect("lock file");
    lock.lock().expect("test tools lock");
    if !dir.join("ready").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("tool dir");
        install(&dir);
        std::fs::write(dir.join("ready"), name).expect("ready marker");
    }
    drop(lock);
    dir
}

/// A Python with these pinned PyPI packages (`feedparser==6.0.12`), in a virtual environment
/// kept under the build directory: installed once on a fresh machine, reused afterwards.
pub fn python_with(packages: &[&str]) -> std::path::PathBuf {
    use std::process::Command;
    let name = format!("python-{}", packages.join("+").replace(['=', '.'], "_"));
    let venv = test_tool(&name, |venv| {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .expect("python3 runs");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(venv.join("bin").join("python"))
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
    });
    venv.join("bin").join("python")
}

/// A file of an npm package at a pinned version (`axe-core`, `4.14.1`, `axe.min.js`), fetched
/// once from the registry with `npm pack` (which checks the tarball's integrity).
pub fn npm_package_file(package: &str, version: &str, file: &str) -> std::path::PathBuf {
    use std::process::Command;
    let dir = test_tool(&format!("npm-{package}-{version}"), |dir| {
        let output = Command::new("npm")
            .args(["pack", "--silent", &format!("{package}@{version}")])
            .current_dir(dir)
            .output()
            .expect("npm runs");
        assert!(
            output.status.success(),
            "npm pack {package}@{version} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let tarball = String::from_utf8(output.stdout).expect("utf-8");
        let status = Command::new("tar")
            .arg("xzf")
            .arg(tarball.trim())
            .current_dir(dir)
            .status()
            .expect("tar runs");
        assert!(status.success(), "cannot unpack {tarball}");
    });
    dir.join("package").join(file)
}

pub mod browser;

/// The URL of a new, empty database on the test PostgreSQL server (`TEST_POSTGRES_URL`, set by
/// `scripts/with-postgres.sh`, which the README's test command uses): a test never skips for
/// want of it.
pub fn postgres_database() -> String {
    let server = std::env::var("TEST_POSTGRES_URL").expect(
        "TEST_POSTGRES_URL is not set: run the tests through scripts/with-postgres.sh (the README's test command does)",
    );
    static DATABASES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "relais_it_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let status = std::process::Command::new("psql")
        .args([&server, "--quiet", "-v", "ON_ERROR_STOP=1", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .status()
        .expect("psql runs (Debian's postgresql-client)");
    assert!(status.success(), "cannot create database {name}");
    let (base, _) = server
        .rsplit_once('/')
        .expect("TEST_POSTGRES_URL ends with a database name");
    format!("{base}/{name}")
}

/// A PostgreSQL cluster of one test's own, for a test that restarts it: made with the system's
/// `initdb` and run with its `pg_ctl` (from `TEST_POSTGRES_BIN`, set by
/// `scripts/with-postgres.sh`), as the `postgres` user when the tests run as root; stopped and
/// deleted when dropped.
#[derive(Debug)]
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
}

impl OwnPostgres {
    /// Makes and starts the cluster on a free loopback port.
    pub fn start() -> Self {
        let bin = std::path::PathBuf::from(std::env::var("TEST_POSTGRES_BIN").expect(
            "TEST_POSTGRES_BIN is not set: run the tests through scripts/with-postgres.sh",
        ));
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self { dir, bin, port };
        if cluster.as_root() {
            let path = cluster.dir.path().display().to_string();
            let done = std::process::Command::new("chown")
                .args(["postgres:", &path])
                .status()
                .unwrap();
            assert!(done.success(), "chown postgres {path}");
        }
        let data = cluster.data().display().to_string();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        );
        cluster.pg_ctl("start");
        cluster
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts the server (`pg_ctl restart -m fast`): every session ends, as on a real restart.
    pub fn restart(&self) {
        self.pg_ctl("restart");
    }

    fn as_root(&self) -> bool {
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, action: &str) {
        let data = self.data().display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options];
        if action == "restart" {
            args.extend(["-m", "fast"]);
        }
        args.push(action);
        self.run("pg_ctl", &args);
    }

    /// `program` of the server's, as the cluster's owner.
    fn command(&self, program: &str) -> std::process::Command {
        let program = self.bin.join(program);
        if self.as_root() {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            std::process::Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .expect("the PostgreSQL programs run");
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}
