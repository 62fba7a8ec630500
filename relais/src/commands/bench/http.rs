//! `relais bench search --http`: the real binary serving the store and index the live
//! measurement left, as an API replica (`relais api`, the serving role), loaded on loopback by
//! `wrk` (Debian package `wrk`) with the query mix as URLs: the saturation rate (16
//! connections, no pause), then the latency at about 200 queries/s (10 connections, each
//! pausing 50 ms between requests), and its resident memory (page cache aside); then the
//! all-in-one `relais serve` (its worker's deduplicator rebuilt) is started on the same data and
//! its resident memory read at rest.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use relais_index::{SearchRequest, SortOrder};

/// What the HTTP load measured.
#[derive(Debug, Clone, Copy)]
pub struct HttpFigures {
    /// Queries per second at saturation.
    pub saturation_qps: f64,
    /// p99 latency at the moderate rate, in ms.
    pub p99_ms_at_rate: f64,
    /// The rate the moderate run reached.
    pub rate_qps: f64,
    /// Resident memory of the serving process (`relais api`) after the load, page cache aside
    /// (`RssAnon` + `RssShmem`: the index's mapped files are left out), in MB.
    pub rss_mb: f64,
    /// The same with the index's mapped pages (VmRSS), in MB.
    pub rss_with_files_mb: f64,
    /// Its peak (VmHWM), in MB.
    pub peak_rss_mb: f64,
    /// The all-in-one `relais serve` (the worker's deduplicator beside the index) at rest,
    /// page cache aside, in MB.
    pub all_in_one_rss_mb: f64,
}

/// The URL of a request of the mix, as an app would send it.
pub fn url_of(request: &SearchRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(text) = &request.text {
        query.append_pair("q", text);
    }
    for place in &request.places {
        if place.whole_departements.is_empty() {
            for commune in &place.communes {
                query.append_pair("commune", commune);
            }
        } else {
            for departement in &place.whole_departements {
                query.append_pair("departement", departement);
            }
        }
    }
    if let Some(radius) = &request.radius {
        query.append_pair("lat", &format!("{:.5}", radius.center.latitude));
        query.append_pair("lon", &format!("{:.5}", radius.center.longitude));
        query.append_pair("radius_km", &radius.km.to_string());
    }
    for contract in &request.contracts {
        query.append_pair("contract", contract);
    }
    for rome in &request.rome {
        query.append_pair("rome", rome);
    }
    if request.sort == SortOrder::Date {
        query.append_pair("sort", "date");
    }
    query.append_pair("limit", &request.limit.min(100).to_string());
    format!("/v1/offers?{}", query.finish())
}

fn lua_string(text: &str) -> String {
    format!("{text:?}")
}

/// Every région: the bench's key answers everywhere.
const ALL_FRANCE: &str = "pays:FR";

/// Runs `relais api` on `data_dir`, loads it with `urls`, and stops it; then measures `relais serve` at rest.
pub fn measure(data_dir: &Path, urls: &[String], seconds: u64) -> anyhow::Result<HttpFigures> {
    let wrk = which("wrk").context(
        "--http needs `wrk` on the PATH (Debian: `apt-get install wrk`), the load generator",
    )?;
    let config = data_dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n\n[francetravail]\nenabled = false\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n[[collectivites]]\nid = \"bench\"\nname = \"Banc d'essai\"\nsiren = \"200023737\"\nterritory = {:?}\n",
            data_dir.display().to_string(),
            ALL_FRANCE,
        ),
    )?;
    // The search API needs a key, as an app's would be: its check is part of what is measured.
    let created = Command::new(std::env::current_exe()?)
        .args(["--config", &config.display().to_string(), "key", "create"])
        .args(["--collectivite", "bench", "--rate", "100000/s", "--json"])
        .args([
            "--daily-quota",
            "1000000000",
            "--daily-offers",
            "100000000000",
        ])
        .env("RELAIS_LOG", "error")
        .output()
        .context("cannot create the bench's key")?;
    let key: serde_json::Value = serde_json::from_slice(&created.stdout)
        .with_context(|| String::from_utf8_lossy(&created.stderr).into_owned())?;
    let key = key["key"].as_str().context("no key")?.to_owned();
    // The serving role (an API replica) is loaded and measured; then the all-in-one
    // `relais serve`, its worker's deduplicator rebuilt, is measured at rest.
    let mut api = Server::start(&config, "api")?;
    let loaded = load(&mut api, &wrk, data_dir, urls, seconds, &key);
    drop(api);
    let mut figures = loaded?;
    let mut serve = Server::start(&config, "serve")?;
    serve.wait_ready()?;
    figures.all_in_one_rss_mb = resident(serve.child.id())?.0;
    eprintln!(
        "http: the all-in-one relais serve holds {:.0} MB, page cache aside",
        figures.all_in_one_rss_mb
    );
    Ok(figures)
}

/// A `relais` process that serves, killed when dropped.
struct Server {
    child: std::process::Child,
    role: &'static str,
}

impl Server {
    fn start(config: &Path, role: &'static str) -> anyhow::Result<Self> {
        let child = Command::new(std::env::current_exe()?)
            .args(["--config", &config.display().to_string(), role])
            .env("RELAIS_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start relais {role}"))?;
        Ok(Self { child, role })
    }

    /// Waits until it listens and its index follows the store with nothing left to apply;
    /// returns its base URL.
    fn wait_ready(&mut self) -> anyhow::Result<String> {
        let role = self.role;
        let stdout = self.child.stdout.take().context("server stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .with_context(|| format!("relais {role} stopped before listening"))??;
            if let Some(base) = line.strip_prefix("serving on ") {
                break base.to_owned();
            }
        };
        let started = Instant::now();
        loop {
            let ready = reqwest::blocking::get(format!("{base}/readyz"))
                .ok()
                .and_then(|r| r.json::<serde_json::Value>().ok());
            if ready.is_some_and(|r| r["following"] == true && r["lag"] == 0) {
                break;
            }
            if started.elapsed() > Duration::from_secs(3_600) {
                bail!("relais {role} did not become ready");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "http: relais {role} ready in {:.1} s (pid {})",
            started.elapsed().as_secs_f64(),
            self.child.id()
        );
        Ok(base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's resident memory in MB: page cache aside (`RssAnon` + `RssShmem`: mapped files
/// left out), with its mapped pages (`VmRSS`), and its peak (`VmHWM`).
fn resident(pid: u32) -> anyhow::Result<(f64, f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kilobytes = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    Ok((
        (kilobytes("RssAnon:") + kilobytes("RssShmem:")) / 1024.0,
        kilobytes("VmRSS:") / 1024.0,
        kilobytes("VmHWM:") / 1024.0,
    ))
}

/// How long the server is loaded before it is measured.
const WARM_UP_SECONDS: u64 = 5;

fn load(
    server: &mut Server,
    wrk: &Path,
    data_dir: &Path,
    urls: &[String],
    seconds: u64,
    key: &str,
) -> anyhow::Result<HttpFigures> {
    let base = server.wait_ready()?;
    // The mix must find offers, or the figures would measure empty answers.
    let found: u64 = urls
        .iter()
        .take(20)
        .map(|url| {
            reqwest::blocking::Client::new()
                .get(format!("{base}{url}"))
                .bearer_auth(key)
                .send()
                .and_then(|r| r.json::<serde_json::Value>())
                .map_or(0, |answer| answer["total"].as_u64().unwrap_or(0))
        })
        .sum();
    anyhow::ensure!(
        found > 0,
        "relais {} found no offer for the first 20 queries of the mix",
        server.role
    );
    eprintln!("http: the first 20 queries of the mix find {found} offers in all");
    let target = WrkTarget {
        base: &base,
        paths: urls,
        bearer: Some(key),
        user_agent: None,
        accept_encoding: None,
    };
    let run = |connections: u32, pause_ms: u32, seconds: u64| {
        run_wrk(wrk, &target, connections, pause_ms, seconds, data_dir)
    };
    // Warmed up first, as the in-process mix is (a fresh server reads its columns and the
    // index's pages for the first time); then the median of three runs, as one run on this
    // shared machine strays by a tenth.
    run(16, 0, WARM_UP_SECONDS)?;
    let mut saturation = Vec::new();
    for _ in 0..3 {
        saturation.push(run(16, 0, seconds)?.0);
    }
    saturation.sort_by(f64::total_cmp);
    let saturation_qps = saturation[1];
    eprintln!("http: saturation runs {saturation:.0?} queries/s, the median kept");
    let (rate_qps, p99_ms_at_rate) = run(10, 50, seconds)?;
    let (rss_mb, rss_with_files_mb, peak_rss_mb) = resident(server.child.id())?;
    Ok(HttpFigures {
        saturation_qps,
        p99_ms_at_rate,
        rate_qps,
        rss_mb,
        rss_with_files_mb,
        peak_rss_mb,
        all_in_one_rss_mb: f64::NAN,
    })
}

/// What `wrk` loads: a server, the paths it asks in turn, and the API key it sends.
#[derive(Debug, Clone, Copy)]
pub(super) struct WrkTarget<'a> {
    pub(super) base: &'a str,
    pub(super) paths: &'a [String],
    pub(super) bearer: Option<&'a str>,
    /// Sent as `User-Agent` (wrk sends none, which relais counts as a robot's request).
    pub(super) user_agent: Option<&'a str>,
    /// Sent as `Accept-Encoding` (wrk sends none: the body comes as it is).
    pub(super) accept_encoding: Option<&'a str>,
}

/// A desktop browser's user agent: its requests are counted as traffic.
pub(super) const BROWSER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36";

/// The encodings that browser accepts, as it says them in every request.
pub(super) const BROWSER_ENCODINGS: &str = "gzip, deflate, br, zstd";

/// One `wrk` run on one thread over `paths` in turn (a pause between a connection's requests
/// when `pause_ms` > 0): the rate reached and the p99 latency in ms; fails on any error.
pub(super) fn run_wrk(
    wrk: &Path,
    target: &WrkTarget<'_>,
    connections: u32,
    pause_ms: u32,
    seconds: u64,
    work_dir: &Path,
) -> anyhow::Result<(f64, f64)> {
    let WrkTarget {
        base,
        paths,
        bearer,
        user_agent,
        accept_encoding,
    } = *target;
    let script = work_dir.join("paths.lua");
    let quoted: Vec<String> = paths.iter().map(|u| lua_string(u)).collect();
    std::fs::write(
        &script,
        format!(
            r#"local paths = {{ {} }}
local headers = {{ {} }}
local i = 0
local pause = tonumber(os.getenv("RELAIS_BENCH_PAUSE_MS") or "0")
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
if pause > 0 then
  delay = function() return pause end
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("wrk requests=%d duration_us=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, errors, latency:percentile(50), latency:percentile(99)))
end
"#,
            quoted.join(",\n"),
            bearer
                .map(|key| format!(
                    "[\"Authorization\"] = {},",
                    lua_string(&format!("Bearer {key}"))
                ))
                .into_iter()
                .chain(user_agent.map(|agent| format!("[\"User-Agent\"] = {},", lua_string(agent))))
                .chain(
                    accept_encoding.map(|encodings| format!(
                        "[\"Accept-Encoding\"] = {},",
                        lua_string(encodings)
                    ))
                )
                .collect::<String>()
        ),
    )?;
    let output = Command::new(wrk)
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "5s",
            "-s",
            &script.display().to_string(),
            base,
        ])
        .env("RELAIS_BENCH_PAUSE_MS", pause_ms.to_string())
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("wrk requests="))
        .with_context(|| format!("wrk printed no summary: {text}"))?;
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (requests, duration_us, errors) =
        (field("requests"), field("duration_us"), field("errors"));
    anyhow::ensure!(errors == 0.0, "wrk saw {errors} errors: {line}");
    eprintln!("http: {connections} connections, {pause_ms} ms pause: {line}");
    Ok((requests / (duration_us / 1e6), field("p99_us") / 1e3))
}

pub(super) fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}
