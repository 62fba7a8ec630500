//! `relais bench publish`: in one run, on loopback, the real router over a real store and index
//! of generated offers: a configured feed's kept body under `wrk` against a bare axum handler
//! serving the same bytes (the ceiling of the machine and the framework), asked as a browser
//! asks (compressed) and as it is, then the latency of feed pages rendered afresh and of offer
//! pages, one request at a time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use clap::Args;
use relais_index::OfferIndex;
use relais_model::{Offer, OfferKey, SourceId};
use relais_publish::{AppState, FeedDefinition, IndexStatus, router};
use relais_storage::{IncomingRecord, RunKind, Store};

use super::http::{BROWSER_AGENT, BROWSER_ENCODINGS, WrkTarget, run_wrk, which};

/// Arguments of `relais bench publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Offers generated (over the real geography, weighted towards big towns).
    #[arg(long, default_value_t = 20_000)]
    offers: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds of each `wrk` run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// The p99 of latencies in ms.
fn p99(mut latencies: Vec<f64>) -> f64 {
    latencies.sort_by(f64::total_cmp);
    latencies[((latencies.len() as f64 * 0.99) as usize).min(latencies.len() - 1)]
}

/// A body as the router sent it, with the headers that say what it is.
#[derive(Clone)]
struct Served {
    bytes: Bytes,
    content_type: HeaderValue,
    content_encoding: Option<HeaderValue>,
}

impl Served {
    /// What the router sends for `path`, asked with these encodings.
    async fn fetch(
        client: &reqwest::Client,
        url: &str,
        accept_encoding: Option<&str>,
    ) -> anyhow::Result<Self> {
        let mut request = client.get(url);
        if let Some(encodings) = accept_encoding {
            request = request.header(header::ACCEPT_ENCODING, encodings);
        }
        let response = request.send().await?.error_for_status()?;
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .cloned()
            .context("the feed has no content type")?;
        let content_encoding = response.headers().get(header::CONTENT_ENCODING).cloned();
        Ok(Self {
            content_type,
            content_encoding,
            bytes: response.bytes().await?,
        })
    }

    /// The encoding's name, for the report.
    fn encoding(&self) -> &str {
        self.content_encoding
            .as_ref()
            .and_then(|value| value.to_str().ok())
            .unwrap_or("identity")
    }

    /// A bare axum handler at `path` answering these bytes and headers, nothing else.
    fn bare_router(self, path: &str) -> axum::Router {
        axum::Router::new().route(
            path,
            axum::routing::get(move || {
                let served = self.clone();
                async move {
                    let mut headers = HeaderMap::with_capacity(2);
                    headers.insert(header::CONTENT_TYPE, served.content_type);
                    if let Some(encoding) = served.content_encoding {
                        headers.insert(header::CONTENT_ENCODING, encoding);
                    }
                    (headers, served.bytes)
                }
            }),
        )
    }
}

async fn listen(app: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// Runs the benchmark.
pub async fn run(args: PublishArgs) -> anyhow::Result<std::process::ExitCode> {
    let wrk = which("wrk")
        .context("relais bench publish needs `wrk` on the PATH (Debian: `apt-get install wrk`)")?;
    let source = SourceId::parse("francetravail").expect("valid source id");
    let offers: Vec<Offer> = super::search::generate(args.offers, args.seed)
        .into_iter()
        .enumerate()
        .map(|(n, mut offer)| {
            offer.key = OfferKey::new(source.clone(), &format!("P{n:07}")).expect("valid key");
            offer
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let store = Store::open_sqlite(&dir.path().join("relais.sqlite")).await?;
    let now = chrono::Utc::now();
    let run_id = store.start_run(&source, RunKind::Full, now, now).await?;
    for chunk in offers.chunks(5_000) {
        let records: Vec<IncomingRecord> = chunk
            .iter()
            .map(|offer| IncomingRecord {
                raw_payload: serde_json::to_string(offer).expect("an offer serialises"),
                offer: offer.clone(),
            })
            .collect();
        store
            .commit_batch(run_id, &records, &serde_json::Value::Null, now)
            .await?;
    }
    let index = OfferIndex::open_or_create(&dir.path().join("index"))?;
    index.rebuild(offers.iter().cloned())?;
    // The feed: the département with the most offers.
    let mut by_departement: HashMap<String, usize> = HashMap::new();
    for offer in &offers {
        if let Some(code) = &offer.location.departement {
            *by_departement.entry(code.to_string()).or_default() += 1;
        }
    }
    let (departement, in_feed) = by_departement
        .into_iter()
        .max_by_key(|(_, count)| *count)
        .context("no offer has a département")?;
    eprintln!(
        "publish: {} offers stored and indexed; feed dep:{departement} holds {in_feed}",
        offers.len()
    );
    let feeds = [FeedDefinition {
        name: "bench".into(),
        title: "Offres du banc d'essai".into(),
        territory: format!("dep:{departement}"),
    }];
    let status = Arc::new(IndexStatus::starting());
    status.set_ready(0);
    let state = AppState::with_store(index, feeds, store, status)?;
    let base = listen(router(state)).await?;

    // The kept body as a browser asks it (its encodings: what a town's site and a feed reader
    // get) and as it is (no `Accept-Encoding`), each against a bare handler serving the same
    // bytes with the same headers.
    let client = reqwest::Client::new();
    let feed_path = "/v1/feeds/bench/offers";
    let feed_url = format!("{base}{feed_path}");
    let as_browser = Served::fetch(&client, &feed_url, Some(BROWSER_ENCODINGS)).await?;
    let as_is = Served::fetch(&client, &feed_url, None).await?;
    eprintln!(
        "publish: the feed body is {} bytes, {} bytes in {} as a browser asks it",
        as_is.bytes.len(),
        as_browser.bytes.len(),
        as_browser.encoding()
    );
    let bare_as_browser = listen(as_browser.bare_router(feed_path)).await?;
    let bare_as_is = listen(as_is.bare_router(feed_path)).await?;
    let work = dir.path().to_owned();
    let paths = vec![feed_path.to_owned()];
    let seconds = args.seconds;
    let router_base = base.clone();
    let [
        cached_rps,
        baseline_rps,
        cached_as_is_rps,
        baseline_as_is_rps,
    ] = tokio::task::spawn_blocking(move || {
        // As a browser: the router counts each feed page sent as impressions, as it does
        // for visitors.
        let target = |base, accept_encoding| WrkTarget {
            base,
            paths: &paths,
            bearer: None,
            user_agent: Some(BROWSER_AGENT),
            accept_encoding,
        };
        let encoded = Some(BROWSER_ENCODINGS);
        let mut rates = [0.0; 4];
        for (rate, (server, encodings)) in rates.iter_mut().zip([
            (&router_base, encoded),
            (&bare_as_browser, encoded),
            (&router_base, None),
            (&bare_as_is, None),
        ]) {
            *rate = run_wrk(&wrk, &target(server, encodings), 16, 0, seconds, &work)?.0;
        }
        anyhow::Ok(rates)
    })
    .await??;
    eprintln!(
        "publish: asked with no encoding, kept feed body {cached_as_is_rps:.0} requests/s, the bare handler {baseline_as_is_rps:.0} (ratio {:.2})",
        cached_as_is_rps / baseline_as_is_rps
    );

    // Feed pages rendered afresh: every page of the feed but the first, at the default size (20
    // offers) and at four sizes around it (other bodies, other cache keys), each asked once,
    // one at a time (at most 200 pages a size). Some 970 renders make the p99 their tenth
    // slowest: of the default size's 200 alone it was the second slowest, a pause of the
    // machine.
    // A warm-up first, as for the offer pages: pages of another size (other bodies, other cache
    // keys), not measured.
    for page in 1..=20 {
        client
            .get(format!("{base}{feed_path}?page={page}&per_page=19"))
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
    }
    let mut uncached = Vec::new();
    for per_page in [20, 18, 22, 17, 23] {
        for page in 2..=in_feed.div_ceil(per_page).clamp(2, 201) {
            let url = format!("{base}{feed_path}?page={page}&per_page={per_page}");
            let start = Instant::now();
            client
                .get(&url)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            uncached.push((per_page, page, start.elapsed().as_secs_f64() * 1e3));
        }
    }
    // Offer pages (rendered per request), 1 000 of them one at a time, after one of each to warm up.
    let keys: Vec<String> = offers
        .iter()
        .step_by((offers.len() / 1_000).max(1))
        .take(1_000)
        .map(|offer| offer.key.to_string())
        .collect();
    let mut pages = Vec::new();
    for pass in 0..2 {
        for key in &keys {
            let start = Instant::now();
            client
                .get(format!("{base}/offres/{key}"))
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            if pass == 1 {
                pages.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    // Where the fresh pages' time goes shows in its spread: the slowest pages and the quantiles.
    let mut slowest = uncached.clone();
    slowest.sort_by(|a, b| b.2.total_cmp(&a.2));
    let uncached: Vec<f64> = uncached.into_iter().map(|(_, _, ms)| ms).collect();
    let mut sorted = uncached.clone();
    sorted.sort_by(f64::total_cmp);
    eprintln!(
        "publish: {} fresh feed pages, p50 {:.2} ms, p90 {:.2} ms; slowest (size/page: ms) {}",
        sorted.len(),
        sorted[sorted.len() / 2],
        sorted[sorted.len() * 9 / 10],
        slowest
            .iter()
            .take(12)
            .map(|(size, page, ms)| format!("{size}/{page}: {ms:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (uncached_p99, page_p99) = (p99(uncached), p99(pages));
    eprintln!(
        "publish: asked as a browser, kept feed body {cached_rps:.0} requests/s, the bare handler {baseline_rps:.0}; feed pages rendered afresh p99 {uncached_p99:.2} ms; offer pages p99 {page_p99:.2} ms"
    );
    println!(
        "publish cached_rps={cached_rps:.0} baseline_rps={baseline_rps:.0} ratio={:.2} uncached_p99_ms={uncached_p99:.2} page_p99_ms={page_p99:.2}",
        cached_rps / baseline_rps
    );
    Ok(std::process::ExitCode::SUCCESS)
}
