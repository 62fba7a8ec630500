//! The live index against the full rebuild: after every sync of a series, the incrementally
//! maintained index (the worker's publications, followed by the index) publishes exactly what
//! `relais reindex` builds from the same store.

use std::path::Path;
use std::sync::Arc;

use relais_index::{IndexedOffer, OfferIndex};
use relais_ingest::feeds::FeedRunOptions;
use relais_publish::IndexStatus;

use super::{Follower, Publisher};
use crate::config::Config;
use crate::pipeline;

/// The worker and the index's follower, as `relais serve` runs them.
struct Live {
    publisher: Publisher,
    follower: Follower,
}

impl Live {
    async fn start(bench: &Bench, store: &relais_storage::Store, index: &OfferIndex) -> Self {
        Self::start_with(bench, store, index, Arc::new(IndexStatus::starting())).await
    }

    async fn start_with(
        bench: &Bench,
        store: &relais_storage::Store,
        index: &OfferIndex,
        status: Arc<IndexStatus>,
    ) -> Self {
        // Small batches: each read and prepared while the one before is placed and written.
        let mut publisher = Publisher::new(bench.config.clone(), store.clone()).with_batch(3);
        publisher.start().await.unwrap();
        let mut follower = Follower::new(store.clone(), index.clone(), status);
        assert!(follower.start().await.unwrap());
        Self {
            publisher,
            follower,
        }
    }

    /// Publishes every change of the store, then applies every publication to the index.
    async fn catch_up(&mut self) -> super::Applied {
        self.publisher.catch_up().await.unwrap();
        self.follower.catch_up().await.unwrap()
    }
}

/// A job as two boards may publish it.
#[derive(Clone)]
struct Job {
    id: String,
    title: String,
    employer: &'static str,
    city: &'static str,
    postal_code: &'static str,
    description: String,
}

const TRADES: &[(&str, &str, &str)] = &[
    (
        "Infirmier de nuit H/F",
        "Clinique du Quercy",
        "soins aux patients en service de médecine, surveillance des constantes et transmissions écrites à l'équipe de jour",
    ),
    (
        "Boulanger",
        "Boulangerie Lafon",
        "fabrication du pain au levain, des viennoiseries pur beurre et des pièces de commande pour les restaurants du quartier",
    ),
    (
        "Comptable unique",
        "Cabinet Delmas",
        "tenue de la comptabilité générale de trois sociétés, déclarations de TVA, rapprochements bancaires et préparation du bilan",
    ),
    (
        "Chauffeur poids lourd",
        "Transports Garric",
        "livraisons régionales en semi-remorque au départ de la plateforme, chargement, arrimage et relevés de tournée",
    ),
    (
        "Développeuse web",
        "Agence Numérique Sud",
        "développement d'applications en Rust et TypeScript, revue de code, déploiement continu et échanges avec les clients",
    ),
    (
        "Aide-soignante",
        "EHPAD Les Tilleuls",
        "accompagnement des résidents dans les gestes du quotidien, aide à la toilette, aux repas et animation d'ateliers",
    ),
    (
        "Serveuse en brasserie",
        "Brasserie du Pont",
        "service en salle et en terrasse, prise de commandes, encaissement et mise en place avant le coup de feu de midi",
    ),
    (
        "Électricien du bâtiment",
        "Entreprise Cayla",
        "installation électrique de logements neufs, pose de tableaux, tirage de câbles et mise en conformité de chantiers",
    ),
    (
        "Assistant de direction",
        "Mairie de Cahors",
        "gestion de l'agenda des élus, préparation des conseils municipaux, courrier et accueil téléphonique des partenaires",
    ),
    (
        "Mécanicien agricole",
        "Garage Vialard",
        "entretien et réparation de tracteurs et moissonneuses, diagnostic électronique et dépannage chez les exploitants",
    ),
    (
        "Vendeuse en prêt-à-porter",
        "Boutique Ambre",
        "conseil à la clientèle, mise en rayon des collections, tenue de caisse et inventaires de fin de saison",
    ),
    (
        "Cuisinier traiteur",
        "Traiteur Bouscarel",
        "préparation des buffets et des plats du jour, gestion des stocks, respect des règles d'hygiène HACCP en cuisine",
    ),
];

fn job(number: usize, revision: u32) -> Job {
    let (title, employer, task) = TRADES[number];
    let (city, postal_code) = [
        ("CAHORS", "46000"),
        ("TOULOUSE", "31000"),
        ("FIGEAC", "46100"),
    ][number % 3];
    let mut description = format!(
        "Nous recrutons pour notre site de {city} : {task}. Vous rejoignez une équipe de quinze personnes, \
         attachée au travail bien fait et à l'entraide. Poste à pourvoir rapidement, horaires communiqués à l'entretien."
    );
    // A revision changes the title too: the published summary then tells whether the changed
    // offer was indexed again.
    let title = match revision {
        0 => title.to_owned(),
        n => format!("{title} (mise à jour {n})"),
    };
    if revision > 0 {
        description.push_str(&format!(" Mise à jour numéro {revision} : la prise de poste est avancée, les entretiens ont lieu la semaine prochaine dans nos locaux."));
    }
    Job {
        id: format!("J{number}"),
        title,
        employer,
        city,
        postal_code,
        description,
    }
}

fn write_feed(path: &Path, board: &str, jobs: &[Job]) {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<root>\n");
    for job in jobs {
        xml.push_str(&format!(
            "<job><job_id><![CDATA[{board}-{id}]]></job_id><title><![CDATA[{title}]]></title>\
             <url>https://{board}.example/offres/{id}</url><description><![CDATA[{description}]]></description>\
             <company_title><![CDATA[{employer}]]></company_title><city>{city}</city>\
             <postal_code>{postal_code}</postal_code><country>FR</country>\
             <publication_date>2026-11-20 09:00:00</publication_date><updated_date>2026-11-21 09:00:00</updated_date>\
             <contract>CDI</contract></job>\n",
            id = job.id,
            title = job.title,
            description = job.description,
            employer = job.employer,
            city = job.city,
            postal_code = job.postal_code,
        ));
    }
    xml.push_str("</root>\n");
    std::fs::write(path, xml).unwrap();
}

/// A change to the two boards' listings.
type Edit = dyn Fn(&mut Vec<Job>, &mut Vec<Job>);

struct Bench {
    _dir: tempfile::TempDir,
    config: Config,
    feeds: [std::path::PathBuf; 2],
}

fn bench() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let feeds = [
        dir.path().join("board-a.xml"),
        dir.path().join("board-b.xml"),
    ];
    let toml = dir.path().join("relais.toml");
    std::fs::write(
        &toml,
        format!(
            r#"[storage]
data_dir = {data:?}

[francetravail]
enabled = false

[[sources]]
id = "board-a"
url = {a:?}
format = {{ type = "xml", preset = "hellowork" }}
trust_rank = 2

[[sources]]
id = "board-b"
url = {b:?}
format = {{ type = "xml", preset = "hellowork" }}
trust_rank = 1
"#,
            data = dir.path().join("data"),
            a = feeds[0],
            b = feeds[1],
        ),
    )
    .unwrap();
    let config = Config::load(Some(&toml)).unwrap();
    Bench {
        _dir: dir,
        config,
        feeds,
    }
}

async fn sync(bench: &Bench, store: &relais_storage::Store, board: usize, jobs: &[Job]) {
    let id = ["board-a", "board-b"][board];
    write_feed(&bench.feeds[board], id, jobs);
    let options = FeedRunOptions {
        accept_shrink: true,
        ..FeedRunOptions::default()
    };
    let report = pipeline::sync_feed(&bench.config, store, id, options)
        .await
        .unwrap()
        .expect("no other run holds the lock");
    assert_eq!(
        report.outcome,
        relais_ingest::RunReportOutcome::Complete,
        "{report:?}"
    );
}

/// Eight offers of board A synced, published and indexed by a worker and a follower.
async fn followed_board_a(
    bench: &Bench,
    store: &relais_storage::Store,
    index: &OfferIndex,
) -> (Live, Vec<Job>) {
    let board_a: Vec<Job> = (0..8).map(|n| job(n, 0)).collect();
    let mut live = Live::start(bench, store, index).await;
    sync(bench, store, 0, &board_a).await;
    live.catch_up().await;
    (live, board_a)
}

/// Board A's first offer changed and its fifth gone; board B's copy of the sixth arrived.
async fn edit_both_boards(bench: &Bench, store: &relais_storage::Store, board_a: &[Job]) {
    let mut edited = board_a.to_vec();
    edited[0] = job(0, 1);
    edited.remove(4);
    sync(bench, store, 0, &edited).await;
    sync(bench, store, 1, &[job(5, 0)]).await;
}

/// What `relais reindex` publishes from the store now.
async fn rebuilt(bench: &Bench, store: &relais_storage::Store) -> Vec<IndexedOffer> {
    let fresh = OfferIndex::in_memory().unwrap();
    pipeline::reindex(&bench.config, store, &fresh)
        .await
        .unwrap();
    fresh.published_summaries().unwrap()
}

fn keys(published: &[IndexedOffer]) -> Vec<String> {
    published.iter().map(|o| o.key.clone()).collect()
}

#[tokio::test]
async fn a_series_of_syncs_followed_incrementally_publishes_what_a_reindex_builds() {
    let bench = bench();
    let (store, index) = pipeline::open(&bench.config).await.unwrap();
    let status = Arc::new(IndexStatus::starting());
    let mut live = Live::start_with(&bench, &store, &index, status.clone()).await;
    assert_eq!(status.readiness().status, "ready");

    let mut board_a: Vec<Job> = (0..10).map(|n| job(n, 0)).collect();
    let mut board_b: Vec<Job> = vec![job(11, 0)];

    // Each step: sync, follow, compare with a full rebuild of the same store.
    let steps: Vec<(&str, Box<Edit>)> = vec![
        ("new offers on both boards", Box::new(|_, _| {})),
        (
            "an offer changed, one withdrawn, one new",
            Box::new(|a, _| {
                a[1] = job(1, 1);
                a.remove(2);
                a.push(job(10, 0));
            }),
        ),
        (
            "a second board's copy arrives",
            Box::new(|_, b| b.push(job(3, 0))),
        ),
        (
            "the withdrawn offer reappears",
            Box::new(|a, _| a.insert(2, job(2, 0))),
        ),
        (
            "the copy changes on the second board",
            Box::new(|_, b| {
                b[1] = job(3, 0);
                b[1].description.push_str(" Candidature par courriel.");
            }),
        ),
        (
            "the canonical copy is withdrawn",
            Box::new(|a, _| a.retain(|j| j.id != "J3")),
        ),
        ("it comes back", Box::new(|a, _| a.push(job(3, 0)))),
        (
            "the second board's copy leaves",
            Box::new(|_, b| b.truncate(1)),
        ),
    ];
    let mut saw_copy = false;
    for (step, edit) in steps {
        edit(&mut board_a, &mut board_b);
        sync(&bench, &store, 0, &board_a).await;
        sync(&bench, &store, 1, &board_b).await;
        let applied = live.catch_up().await;
        assert_eq!(
            live.publisher.position(),
            store.last_change_seq().await.unwrap(),
            "{step}"
        );
        assert_eq!(
            applied.publication_seq,
            store.last_publication_seq().await.unwrap(),
            "{step}"
        );
        assert_eq!(status.readiness().lag, 0, "{step}");
        let live = index.published_summaries().unwrap();
        let expected = rebuilt(&bench, &store).await;
        assert_eq!(keys(&live), keys(&expected), "{step}: published keys");
        assert_eq!(live, expected, "{step}: published entries");
        saw_copy |= live.iter().any(|o| !o.also_published_on.is_empty());
    }
    assert!(saw_copy, "the series never merged the two boards' copies");
    let published = keys(&index.published_summaries().unwrap());
    assert!(
        published.contains(&"board-a:board-a-J3".to_string()),
        "{published:?}"
    );
    assert!(
        published.contains(&"board-a:board-a-J2".to_string()),
        "{published:?}"
    );
}

#[tokio::test]
async fn a_restart_serves_the_persisted_index_then_applies_what_it_missed() {
    let bench = bench();
    let (store, index) = pipeline::open(&bench.config).await.unwrap();
    let (live, board_a) = followed_board_a(&bench, &store, &index).await;
    let before = index.applied_publication_seq().unwrap();
    let worker_before = live.publisher.position();
    drop(live);

    // Changes land while neither the worker nor the follower runs (the process was killed
    // before applying them).
    edit_both_boards(&bench, &store, &board_a).await;
    assert!(store.last_change_seq().await.unwrap() > worker_before);

    // The worker starts again (its deduplicator rebuilt from the store) and publishes what
    // changed; the index is served at once, from where it was.
    let status = Arc::new(IndexStatus::starting());
    let mut restarted = Live::start_with(&bench, &store, &index, status.clone()).await;
    let readiness = status.readiness();
    assert_eq!(readiness.status, "ready");
    assert_eq!(readiness.index_change_seq, worker_before);
    assert!(readiness.lag > 0, "{readiness:?}");
    let stale = keys(&index.published_summaries().unwrap());
    assert!(stale.contains(&"board-a:board-a-J4".to_string()));

    restarted.catch_up().await;
    assert_eq!(
        status.readiness().index_change_seq,
        store.last_change_seq().await.unwrap()
    );
    assert_eq!(status.readiness().lag, 0);
    assert_eq!(
        index.published_summaries().unwrap(),
        rebuilt(&bench, &store).await
    );
    // Applying the same changes again (a crash after a commit, before the position was kept
    // anywhere else) changes nothing, on either side.
    let mut again = Live::start(&bench, &store, &index).await;
    again.publisher.rewind(worker_before);
    again.follower.position = before.unwrap();
    again.catch_up().await;
    assert_eq!(
        index.published_summaries().unwrap(),
        rebuilt(&bench, &store).await
    );
}

#[tokio::test]
async fn an_index_without_a_recorded_position_is_rebuilt_before_it_is_followed() {
    let bench = bench();
    let (store, index) = pipeline::open(&bench.config).await.unwrap();
    sync(&bench, &store, 0, &[job(0, 0), job(1, 0)]).await;
    // An index written without a position (as `OfferIndex::rebuild` does): stale and unfollowable.
    index.rebuild(std::iter::empty()).unwrap();
    assert_eq!(index.applied_publication_seq().unwrap(), None);
    let mut follower = Follower::new(
        store.clone(),
        index.clone(),
        Arc::new(IndexStatus::starting()),
    );
    // Nothing to rebuild it from until a worker has published.
    assert!(!follower.start().await.unwrap());
    let mut publisher = Publisher::new(bench.config.clone(), store.clone());
    publisher.start().await.unwrap();
    assert!(follower.start().await.unwrap());
    assert_eq!(index.len(), 2);
    assert_eq!(
        index.applied_publication_seq().unwrap(),
        Some(store.last_publication_seq().await.unwrap())
    );
    assert_eq!(publisher.position(), store.last_change_seq().await.unwrap());
}

/// The worker prunes what is old and applied from both logs; a running follower whose next
/// entries were pruned rebuilds the index from the publications (instead of skipping them) and
/// goes on following.
#[tokio::test]
async fn a_follower_behind_the_pruned_log_rebuilds_then_follows() {
    let bench = bench();
    let (store, index) = pipeline::open(&bench.config).await.unwrap();
    let (mut live, board_a) = followed_board_a(&bench, &store, &index).await;

    // The worker publishes changes the follower has not applied yet.
    edit_both_boards(&bench, &store, &board_a).await;
    live.publisher.catch_up().await.unwrap();

    // Nothing is old enough yet; then what the worker has not applied is kept.
    let now = chrono::Utc::now();
    let pruned = store
        .prune_logs(now - chrono::TimeDelta::hours(1), live.publisher.position())
        .await
        .unwrap();
    assert_eq!(pruned, relais_storage::PrunedLogs::default());
    let oldest = store.oldest_change_seq().await.unwrap().unwrap();
    let pruned = store
        .prune_logs(now + chrono::TimeDelta::seconds(1), oldest - 1)
        .await
        .unwrap();
    assert_eq!(
        pruned,
        relais_storage::PrunedLogs::default(),
        "what the worker has not applied stays"
    );
    // Everything applied is pruned.
    let pruned = store
        .prune_logs(
            now + chrono::TimeDelta::seconds(1),
            live.publisher.position(),
        )
        .await
        .unwrap();
    assert!(pruned.changes > 0 && pruned.publications > 0, "{pruned:?}");
    // Each log keeps its newest entry alone: it holds the last number given.
    assert_eq!(
        store.oldest_change_seq().await.unwrap(),
        Some(store.last_change_seq().await.unwrap())
    );
    assert_eq!(
        store.oldest_publication_seq().await.unwrap(),
        Some(store.last_publication_seq().await.unwrap())
    );

    let stale = keys(&index.published_summaries().unwrap());
    assert!(stale.contains(&"board-a:board-a-J4".to_string()));
    let applied = live.follower.apply_next().await.unwrap().unwrap();
    assert_eq!(
        applied.publication_seq,
        store.last_publication_seq().await.unwrap()
    );
    assert_eq!(
        index.published_summaries().unwrap(),
        rebuilt(&bench, &store).await
    );

    // Then it follows as before.
    sync(&bench, &store, 0, &board_a).await;
    live.catch_up().await;
    assert_eq!(
        index.published_summaries().unwrap(),
        rebuilt(&bench, &store).await
    );
}

/// A board's thousands of offers with copies of one job: placing one offer may place again an
/// offer of another job that it matched (a repair), splitting that job. Every job the worker's
/// deduplicator holds ends up published through its shown copy, with the rows a
/// reconciliation would write (none), in the index as in the store. (Before the worker read the
/// offers a repair moved, this feed left 14 jobs unpublished: shown through their old copy.)
#[tokio::test]
async fn every_job_is_published_after_repairs_moved_offers_of_other_jobs() {
    let bench = bench();
    let store = pipeline::open_store(&bench.config).await.unwrap();
    let index = OfferIndex::in_memory().unwrap();
    let mut live = Live::start(&bench, &store, &index).await;
    let mut feed = std::io::BufWriter::new(std::fs::File::create(&bench.feeds[0]).unwrap());
    relais_fixtures::partner_feed::write_hellowork_feed(
        &mut feed,
        1,
        chrono::Utc::now(),
        12_000,
        u64::MAX,
    )
    .unwrap();
    std::io::Write::flush(&mut feed).unwrap();
    drop(feed);
    let report = pipeline::sync_feed(&bench.config, &store, "board-a", FeedRunOptions::default())
        .await
        .unwrap()
        .expect("no other run holds the lock");
    assert_eq!(report.new, 12_000, "{report:?}");
    live.catch_up().await;

    let dedup = live.publisher.deduplicator().expect("started");
    let shown: std::collections::BTreeSet<String> = dedup
        .clusters()
        .map(|job| job.canonical.key.to_string())
        .collect();
    assert!(shown.len() < 12_000, "the feed holds copies of one job");
    let mut published = std::collections::BTreeSet::new();
    store
        .for_each_published_offer(|offer, _| {
            published.insert(offer.key.to_string());
        })
        .await
        .unwrap();
    assert_eq!(
        shown.difference(&published).count(),
        0,
        "jobs of the deduplicator left unpublished"
    );
    assert_eq!(published, shown);
    let last = store.last_change_seq().await.unwrap();
    assert_eq!(
        pipeline::reconcile(&store, dedup, last, false)
            .await
            .unwrap(),
        0,
        "rows the worker left stale"
    );
    let indexed: std::collections::BTreeSet<String> = keys(&index.published_summaries().unwrap())
        .into_iter()
        .collect();
    assert_eq!(indexed, published);
}
