//! `relais bench search --peers`: the same offers and the same query mix on SQLite FTS5 (the
//! embedded peer) and on PostgreSQL full-text search (`french` tsvector + GIN, in a throwaway
//! cluster), timed the same way, one query at a time, each with its exact total (a `COUNT(*)`
//! beside the page), and the hit-count parity with ours.
//!
//! FTS5 has no French stemmer (`unicode61`, diacritics removed) and PostgreSQL's `french`
//! configuration stems but does not fold feminine job titles: their totals differ from ours where
//! that matters, and the parity says how often they agree. Radius filters use a bounding box and
//! the equirectangular distance.

use std::time::Instant;

use relais_index::{SearchRequest, SortOrder, offer_point};
use relais_model::Offer;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Pool, Row, Sqlite};

/// What a peer measured.
#[derive(Debug, Clone)]
pub struct PeerFigures {
    /// The peer's name.
    pub name: &'static str,
    /// Offers loaded per second (rows and full-text index).
    pub load_offers_per_second: f64,
    /// Bytes on disk per offer.
    pub bytes_per_offer: f64,
    /// Latencies over the mix, sorted, in ms.
    pub latencies_ms: Vec<f64>,
    /// Queries whose total equals ours.
    pub same_total: usize,
    /// Queries compared.
    pub queries: usize,
}

/// The words of `text` as an FTS5 query: each quoted (nothing is syntax), all required.
fn fts_query(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A SQL string literal (the mix's values are generated codes and words; quotes are doubled).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| literal(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The request's filters on the `offers` table `o`, as a `WHERE` clause, with `text` the
/// dialect's full-text condition (or none when the caller joins the full-text match itself).
fn where_clause(request: &SearchRequest, text: Option<String>) -> String {
    let mut conditions: Vec<String> = text.into_iter().collect();
    for place in &request.places {
        if place.whole_departements.is_empty() && place.communes.is_empty() {
            // A place that covers nothing matches nothing (as the index's empty term set).
            conditions.push("1 = 0".to_owned());
        } else if place.whole_departements.is_empty() {
            conditions.push(format!("o.commune IN ({})", list(&place.communes)));
        } else {
            conditions.push(format!(
                "o.departement IN ({})",
                list(&place.whole_departements)
            ));
        }
    }
    if let Some(radius) = &request.radius {
        let (lat, lon) = (radius.center.latitude, radius.center.longitude);
        let dlat = radius.km / 111.2;
        let cos = lat.to_radians().cos();
        let dlon = dlat / cos.max(0.01);
        conditions.push(format!(
            "o.latitude BETWEEN {} AND {} AND o.longitude BETWEEN {} AND {} \
             AND (o.latitude - {lat}) * (o.latitude - {lat}) + (o.longitude - {lon}) * (o.longitude - {lon}) * {} <= {}",
            lat - dlat,
            lat + dlat,
            lon - dlon,
            lon + dlon,
            cos * cos,
            dlat * dlat
        ));
    }
    if !request.contracts.is_empty() {
        conditions.push(format!("o.contract IN ({})", list(&request.contracts)));
    }
    for prefix in &request.rome {
        conditions.push(format!("o.rome LIKE {}", literal(&format!("{prefix}%"))));
    }
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// The count and the page of a request, in one dialect.
struct Statements {
    count: String,
    page: String,
}

fn sqlite_statements(request: &SearchRequest) -> Statements {
    let text = request.text.as_deref().map(fts_query);
    let matching = text.as_ref().map(|t| {
        format!(
            "o.rowid IN (SELECT rowid FROM offer_text WHERE offer_text MATCH {})",
            literal(t)
        )
    });
    let count = format!(
        "SELECT COUNT(*) AS n FROM offers o{}",
        where_clause(request, matching.clone())
    );
    let page = match (request.sort, &text) {
        (SortOrder::Relevance, Some(t)) => format!(
            "SELECT o.key FROM offer_text f JOIN offers o ON o.rowid = f.rowid{} offer_text MATCH {} ORDER BY bm25(offer_text) LIMIT {}",
            match where_clause(request, None) {
                w if w.is_empty() => " WHERE".to_owned(),
                w => format!("{w} AND"),
            },
            literal(t),
            request.limit
        ),
        _ => format!(
            "SELECT o.key FROM offers o{} ORDER BY o.created DESC LIMIT {}",
            where_clause(request, matching),
            request.limit
        ),
    };
    Statements { count, page }
}

fn postgres_statements(request: &SearchRequest) -> Statements {
    let matching = request
        .text
        .as_deref()
        .map(|t| format!("o.tsv @@ plainto_tsquery('french', {})", literal(t)));
    let filters = where_clause(request, matching);
    let count = format!("SELECT COUNT(*) AS n FROM offers o{filters}");
    let order = match (request.sort, &request.text) {
        (SortOrder::Relevance, Some(t)) => format!(
            "ts_rank(o.tsv, plainto_tsquery('french', {})) DESC",
            literal(t)
        ),
        _ => "o.created DESC".to_owned(),
    };
    let page = format!(
        "SELECT o.key FROM offers o{filters} ORDER BY {order} LIMIT {}",
        request.limit
    );
    Statements { count, page }
}

/// Loads `offers` into a fresh SQLite FTS5 database in `dir`, runs `queries` (warm-up, then
/// measured) and compares each total with `our_totals`.
pub fn sqlite_fts5(
    dir: &std::path::Path,
    offers: &[Offer],
    queries: &[SearchRequest],
    our_totals: &[usize],
) -> anyhow::Result<PeerFigures> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let path = dir.join("fts5.sqlite");
            let pool: Pool<Sqlite> = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    SqliteConnectOptions::new()
                        .filename(&path)
                        .create_if_missing(true)
                        .journal_mode(sqlx::sqlite::SqliteJournalMode::Off)
                        .synchronous(sqlx::sqlite::SqliteSynchronous::Off),
                )
                .await?;
            sqlx::query(
                "CREATE TABLE offers (rowid INTEGER PRIMARY KEY, key TEXT NOT NULL, departement TEXT,
                 commune TEXT, contract TEXT NOT NULL, rome TEXT, created INTEGER NOT NULL,
                 latitude REAL, longitude REAL)",
            )
            .execute(&pool)
            .await?;
            sqlx::query(
                "CREATE VIRTUAL TABLE offer_text USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2')",
            )
            .execute(&pool)
            .await?;
            let loading = Instant::now();
            for (chunk_number, chunk) in offers.chunks(10_000).enumerate() {
                let mut tx = pool.begin().await?;
                for (n, offer) in chunk.iter().enumerate() {
                    let rowid = (chunk_number * 10_000 + n + 1) as i64;
                    let point = offer_point(offer);
                    sqlx::query(
                        "INSERT INTO offers VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(rowid)
                    .bind(offer.key.to_string())
                    .bind(offer.location.departement.as_ref().map(|d| d.to_string()))
                    .bind(offer.location.commune.as_ref().map(|c| c.to_string()))
                    .bind(relais_index::contract_name(offer.contract.kind))
                    .bind(offer.job.rome_code.as_ref().map(|r| r.to_string()))
                    .bind(offer.dates.created_at.map_or(i64::MIN, |d| d.timestamp_millis()))
                    .bind(point.map(|p| p.latitude))
                    .bind(point.map(|p| p.longitude))
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("INSERT INTO offer_text (rowid, title, body) VALUES ($1, $2, $3)")
                        .bind(rowid)
                        .bind(&offer.title)
                        .bind(&offer.description)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            for index in [
                "CREATE INDEX offers_departement ON offers (departement, created)",
                "CREATE INDEX offers_commune ON offers (commune, created)",
                "CREATE INDEX offers_point ON offers (latitude, longitude)",
                "CREATE INDEX offers_created ON offers (created)",
            ] {
                sqlx::query(index).execute(&pool).await?;
            }
            sqlx::query("INSERT INTO offer_text (offer_text) VALUES ('optimize')")
                .execute(&pool)
                .await?;
            let load_seconds = loading.elapsed().as_secs_f64();
            let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());

            let run = |request: &SearchRequest| {
                let pool = pool.clone();
                let statements = sqlite_statements(request);
                async move {
                    let total: i64 = sqlx::query(&statements.count)
                        .fetch_one(&pool)
                        .await?
                        .try_get("n")?;
                    let keys = sqlx::query(&statements.page).fetch_all(&pool).await?;
                    anyhow::Ok((total as usize, keys.len()))
                }
            };
            let figures = measure_mix("sqlite_fts5", queries, our_totals, run).await?;
            pool.close().await;
            Ok(PeerFigures {
                load_offers_per_second: offers.len() as f64 / load_seconds,
                bytes_per_offer: bytes as f64 / offers.len() as f64,
                ..figures
            })
        })
}

/// A throwaway PostgreSQL cluster (the system's `initdb` and `pg_ctl`, run as the `postgres`
/// user when this process is root: PostgreSQL refuses to run as root), stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn command(&self, program: &str) -> std::process::Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            std::process::Command::new(path)
        }
    }

    fn start() -> anyhow::Result<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").is_file())
            .max()
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--peers needs a PostgreSQL server (Debian: `apt-get install postgresql`)"
                )
            })?;
        let uid = std::process::Command::new("id").arg("-u").output()?;
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let dir = tempfile::Builder::new()
            .prefix("relais-pg")
            .tempdir_in("/tmp")?;
        if as_postgres {
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()?;
            anyhow::ensure!(
                status.success(),
                "cannot give the cluster directory to postgres"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let cluster = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.dir.path().join("data");
        let output = cluster
            .command("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "-D",
            ])
            .arg(&data)
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c shared_buffers=1GB -c work_mem=64MB -c max_parallel_workers_per_gather=0",
            cluster.port,
            cluster.dir.path().display()
        );
        let output = cluster
            .command("pg_ctl")
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(cluster.dir.path().join("log"))
            .arg("start")
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}

/// The same offers and mix on PostgreSQL full-text search: a `french` tsvector (title weighted
/// above the description) with a GIN index, B-tree indexes on the filters, in a throwaway cluster.
pub fn postgres(
    offers: &[Offer],
    queries: &[SearchRequest],
    our_totals: &[usize],
) -> anyhow::Result<PeerFigures> {
    let cluster = Cluster::start()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await?;
            sqlx::query(
                "CREATE TABLE offers (key TEXT NOT NULL, departement TEXT, commune TEXT,
                 contract TEXT NOT NULL, rome TEXT, created BIGINT NOT NULL, latitude FLOAT8,
                 longitude FLOAT8, title TEXT NOT NULL, body TEXT NOT NULL,
                 tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('french', title), 'A')
                     || setweight(to_tsvector('french', body), 'B')) STORED)",
            )
            .execute(&pool)
            .await?;
            let loading = Instant::now();
            for chunk in offers.chunks(5_000) {
                let text = |f: &dyn Fn(&Offer) -> Option<String>| -> Vec<Option<String>> {
                    chunk.iter().map(f).collect()
                };
                let points: Vec<_> = chunk.iter().map(offer_point).collect();
                sqlx::query(
                    "INSERT INTO offers (key, departement, commune, contract, rome, created, latitude, longitude, title, body)
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                          $6::int8[], $7::float8[], $8::float8[], $9::text[], $10::text[])",
                )
                .bind(text(&|o| Some(o.key.to_string())))
                .bind(text(&|o| o.location.departement.as_ref().map(|d| d.to_string())))
                .bind(text(&|o| o.location.commune.as_ref().map(|c| c.to_string())))
                .bind(text(&|o| Some(relais_index::contract_name(o.contract.kind).to_owned())))
                .bind(text(&|o| o.job.rome_code.as_ref().map(|r| r.to_string())))
                .bind(
                    chunk
                        .iter()
                        .map(|o| o.dates.created_at.map_or(i64::MIN, |d| d.timestamp_millis()))
                        .collect::<Vec<i64>>(),
                )
                .bind(points.iter().map(|p| p.map(|p| p.latitude)).collect::<Vec<_>>())
                .bind(points.iter().map(|p| p.map(|p| p.longitude)).collect::<Vec<_>>())
                .bind(text(&|o| Some(o.title.clone())))
                .bind(text(&|o| Some(o.description.clone())))
                .execute(&pool)
                .await?;
            }
            for statement in [
                "CREATE INDEX offers_tsv ON offers USING GIN (tsv)",
                "CREATE INDEX offers_departement ON offers (departement, created)",
                "CREATE INDEX offers_commune ON offers (commune, created)",
                "CREATE INDEX offers_point ON offers (latitude, longitude)",
                "CREATE INDEX offers_created ON offers (created)",
                "CREATE INDEX offers_rome ON offers (rome text_pattern_ops)",
                "ANALYZE offers",
            ] {
                sqlx::query(statement).execute(&pool).await?;
            }
            let load_seconds = loading.elapsed().as_secs_f64();
            let bytes: i64 = sqlx::query("SELECT pg_total_relation_size('offers') AS n")
                .fetch_one(&pool)
                .await?
                .try_get("n")?;
            let run = |request: &SearchRequest| {
                let pool = pool.clone();
                let statements = postgres_statements(request);
                async move {
                    let total: i64 = sqlx::query(&statements.count)
                        .fetch_one(&pool)
                        .await?
                        .try_get("n")?;
                    let keys = sqlx::query(&statements.page).fetch_all(&pool).await?;
                    anyhow::Ok((total as usize, keys.len()))
                }
            };
            let figures = measure_mix("postgresql_fts", queries, our_totals, run).await?;
            pool.close().await;
            Ok(PeerFigures {
                load_offers_per_second: offers.len() as f64 / load_seconds,
                bytes_per_offer: bytes as f64 / offers.len() as f64,
                ..figures
            })
        })
}

/// Runs the mix once to warm up, then once measured, comparing each total with ours.
async fn measure_mix<F, Fut>(
    name: &'static str,
    queries: &[SearchRequest],
    our_totals: &[usize],
    run: F,
) -> anyhow::Result<PeerFigures>
where
    F: Fn(&SearchRequest) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(usize, usize)>>,
{
    for request in queries {
        run(request).await?;
    }
    let mut latencies = Vec::with_capacity(queries.len());
    let mut same_total = 0;
    for (request, ours) in queries.iter().zip(our_totals) {
        let started = Instant::now();
        let (total, _) = run(request).await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
        same_total += usize::from(total == *ours);
    }
    latencies.sort_by(f64::total_cmp);
    Ok(PeerFigures {
        name,
        load_offers_per_second: 0.0,
        bytes_per_offer: 0.0,
        latencies_ms: latencies,
        same_total,
        queries: queries.len(),
    })
}
