//! Every real sample in `fixtures/feeds` read through its shipped mapping.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use relais_model::{ContractKind, LocationResolution, Offer, WarningKind};

use super::{FeedReader, FeedSourceConfig, ReadItem};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/feeds")
        .join(name)
}

fn config(id: &str, format: &str) -> FeedSourceConfig {
    toml::from_str(&format!(
        "id = \"{id}\"\nurl = \"unused\"\nformat = {format}\n"
    ))
    .unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-03-01T00:00:00Z".parse().unwrap()
}

/// The offers of a file; panics on rejections and read errors.
fn offers(id: &str, format: &str, file: &str) -> Vec<Offer> {
    let reader = FeedReader::new(&config(id, format)).unwrap();
    let mut offers = Vec::new();
    reader
        .read(&fixture(file), now(), &mut |item| {
            match item {
                ReadItem::Offer(offer, raw) => {
                    assert!(!raw.is_empty());
                    offers.push(*offer);
                }
                ReadItem::Rejected(reason) => panic!("rejected: {reason}"),
                ReadItem::Notice(_) => {}
            }
            Ok(())
        })
        .unwrap();
    offers
}

/// What a test expects of one offer.
struct Expected {
    id: &'static str,
    title: &'static str,
    employer: &'static str,
    commune: &'static str,
    contract: ContractKind,
    published: Option<&'static str>,
    url_prefix: &'static str,
}

fn check(offers: &[Offer], expected: &[Expected]) {
    assert_eq!(offers.len(), expected.len());
    for want in expected {
        let offer = offers
            .iter()
            .find(|o| o.key.source_offer_id() == want.id)
            .unwrap_or_else(|| panic!("no offer `{}`", want.id));
        assert_eq!(offer.title, want.title, "{}", want.id);
        assert_eq!(
            offer.employer.name.as_deref(),
            Some(want.employer),
            "{}",
            want.id
        );
        assert_eq!(
            offer.location.commune.as_ref().map(|c| c.as_str()),
            Some(want.commune),
            "{}: {:?}",
            want.id,
            offer.location
        );
        assert_eq!(offer.contract.kind, want.contract, "{}", want.id);
        if want.contract == ContractKind::Apprenticeship {
            assert!(
                offer.contract.work_study,
                "{}: {:?}",
                want.id, offer.contract
            );
        }
        assert_eq!(
            offer.dates.created_at,
            want.published.map(|p| p.parse().unwrap()),
            "{}",
            want.id
        );
        let url = offer.offer_url.as_deref().unwrap_or_default();
        assert!(url.starts_with(want.url_prefix), "{}: {url}", want.id);
        assert!(!offer.description.is_empty(), "{}", want.id);
        assert!(
            offer.warnings.is_empty(),
            "{}: {:?}",
            want.id,
            offer.warnings
        );
    }
}

#[test]
fn hellowork_classic() {
    let offers = offers(
        "hellowork",
        r#"{ type = "xml", preset = "hellowork" }"#,
        "hellowork.xml",
    );
    check(
        &offers,
        &[
            Expected {
                id: "68087320",
                title: "Manager en Stratégie Management et Organisation H/F",
                employer: "Software Consulting",
                commune: "94080",
                contract: ContractKind::Permanent,
                published: Some("2024-01-30T22:21:39Z"),
                url_prefix: "https://r.holeest.com/redirect?poc=2&op=4368162035",
            },
            Expected {
                id: "68090104",
                title: "Chargé de Communication Btob Laval 53 H/F",
                employer: "Lactalis",
                commune: "53130",
                contract: ContractKind::Permanent,
                published: Some("2024-01-30T22:11:59Z"),
                url_prefix: "https://r.holeest.com/redirect?poc=2&op=4368162036",
            },
            Expected {
                id: "68110296",
                title: "Directeur Marketing H/F",
                employer: "CGR",
                commune: "51573",
                contract: ContractKind::Permanent,
                published: Some("2024-01-31T22:09:13Z"),
                url_prefix: "https://r.holeest.com/",
            },
            Expected {
                id: "68111676",
                title: "Ingénieur Intégration Software H/F",
                employer: "Exotec",
                commune: "59350",
                contract: ContractKind::Permanent,
                published: Some("2024-01-31T22:11:11Z"),
                url_prefix: "https://r.holeest.com/",
            },
            Expected {
                id: "68113693",
                title: "Chef de Projet Photo H/F",
                employer: "ME GROUP",
                commune: "38151",
                contract: ContractKind::Permanent,
                published: Some("2024-01-31T22:22:17Z"),
                url_prefix: "https://r.holeest.com/",
            },
        ],
    );
    let first = offers
        .iter()
        .find(|o| o.key.source_offer_id() == "68087320")
        .unwrap();
    // Description, profile and benefits all reach the page: the licence asks for full content.
    assert!(
        first
            .description
            .contains("Vous contribuez au développement commercial")
    );
    assert!(first.description.contains("Anglais : lu, écrit, parlé."));
    assert_eq!(
        first.employer.logo_url.as_deref(),
        Some("https://f.hellowork.com/img/mail/logo/hellowork-black.png")
    );
    assert_eq!(
        first.working_time.kind,
        relais_model::WorkingTimeKind::FullTime
    );
    assert_eq!(
        first.dates.updated_at,
        Some("2024-02-25T04:36:25Z".parse().unwrap())
    );
}

#[test]
fn hellowork_buddi() {
    let offers = offers(
        "hellowork-buddi",
        r#"{ type = "xml", preset = "hellowork_buddi" }"#,
        "hellowork-buddi.xml",
    );
    let title = "?????ALTERNANCE - Équipier·ère Polyvalent·e de Restauration";
    let employer = "Institut des Métiers Network - Lille";
    check(
        &offers,
        &[
            Expected {
                id: "104010052",
                title,
                employer,
                commune: "59143",
                contract: ContractKind::Apprenticeship,
                published: Some("2026-01-15T07:54:45Z"),
                url_prefix: "https://r.holeest.com/redirect?poc=2&op=11268409219",
            },
            Expected {
                id: "104010054",
                title,
                employer,
                commune: "59339",
                contract: ContractKind::Apprenticeship,
                published: Some("2026-01-15T07:54:36Z"),
                url_prefix: "https://r.holeest.com/redirect?poc=2&op=11268409220",
            },
            Expected {
                id: "104010058",
                title,
                employer,
                commune: "59378",
                contract: ContractKind::Apprenticeship,
                published: Some("2026-01-15T07:54:18Z"),
                url_prefix: "https://r.holeest.com/redirect?poc=2&op=11268409221",
            },
        ],
    );
    let salary = offers[0].salary.as_ref().unwrap();
    assert_eq!(
        (salary.min, salary.max, salary.period),
        (
            Some(710.0),
            Some(1823.0),
            Some(relais_model::SalaryPeriod::Month)
        )
    );
    assert_eq!(
        offers[0].employer.siret.as_ref().map(|s| s.as_str()),
        Some("81272495300029")
    );
    assert!(offers[0].contract.work_study);
    // `&nbsp;` written inside the CDATA is decoded, not shown.
    assert!(!offers[0].description.contains("&nbsp;"));
}

#[test]
fn jooble() {
    let offers = offers(
        "jooble",
        r#"{ type = "xml", preset = "jooble" }"#,
        "jooble.xml",
    );
    check(
        &offers,
        &[
            Expected {
                id: "-6366765753872521621",
                title: "Responsable de marché",
                employer: "Truc France",
                commune: "92062",
                contract: ContractKind::Other,
                published: None,
                url_prefix: "https://fr.jooble.org/external/-6366765753872555555",
            },
            Expected {
                id: "-4721165160650161896",
                title: "Conseiller entreprise developpement h/f (CDI)",
                employer: "CCI Lot",
                commune: "46042",
                contract: ContractKind::Other,
                published: None,
                url_prefix: "https://fr.jooble.org/external/-4721165160650165555",
            },
        ],
    );
    let cahors = &offers[1];
    assert_eq!(
        cahors.dates.updated_at,
        Some("2025-09-08T22:00:00Z".parse().unwrap())
    );
    let salary = cahors.salary.as_ref().unwrap();
    assert_eq!((salary.min, salary.max), (Some(33000.0), Some(37000.0)));
}

#[test]
fn apec() {
    let offers = offers("apec", r#"{ type = "xml", preset = "apec" }"#, "apec.xml");
    let url = "https://www.apec.fr/candidat/recherche-emploi.html/emploi/detail-offre/";
    check(
        &offers,
        &[
            Expected {
                id: "177777865W",
                title: "Ingénieur d'études en génie électrique F/H",
                employer: "Ikos",
                commune: "76540",
                contract: ContractKind::Apprenticeship,
                published: Some("2025-12-11T09:41:41Z"),
                url_prefix: url,
            },
            Expected {
                id: "177810729W",
                title: "Devenez Chef de projet IA - Profil indus F/H",
                employer: "AGORIADE",
                commune: "72181",
                contract: ContractKind::Apprenticeship,
                published: Some("2025-12-17T12:26:39Z"),
                url_prefix: url,
            },
            // An arrondissement code (75101) is resolved to its commune.
            Expected {
                id: "177812004W",
                title: "SDR (Sales Development Representative) F/H",
                employer: "AROLLA",
                commune: "75056",
                contract: ContractKind::Apprenticeship,
                published: Some("2025-12-17T16:50:32Z"),
                url_prefix: url,
            },
            Expected {
                id: "177860843W",
                title: "Conseiller(e) clientèle - Groupe IGF F/H",
                employer: "IGF",
                commune: "94028",
                contract: ContractKind::Apprenticeship,
                published: Some("2025-12-29T11:58:56Z"),
                url_prefix: url,
            },
            Expected {
                id: "177861351W",
                title: "Assistant(e) Immobilier - - JMBK - IGF F/H",
                employer: "GROUPE IGF",
                commune: "93055",
                contract: ContractKind::Apprenticeship,
                published: Some("2025-12-29T15:25:45Z"),
                url_prefix: url,
            },
        ],
    );
    let paris = offers
        .iter()
        .find(|o| o.key.source_offer_id() == "177812004W")
        .unwrap();
    assert_eq!(
        paris.location.resolution,
        LocationResolution::ArrondissementCode
    );
    let salary = paris.salary.as_ref().unwrap();
    assert_eq!(
        (salary.min, salary.max, salary.period),
        (
            Some(18000.0),
            Some(22000.0),
            Some(relais_model::SalaryPeriod::Year)
        )
    );
    // A relative logo path is resolved against the offer's site.
    let ikos = offers
        .iter()
        .find(|o| o.key.source_offer_id() == "177777865W")
        .unwrap();
    assert_eq!(
        ikos.employer.logo_url.as_deref(),
        Some("https://www.apec.fr/media_entreprise/747572/logo_IKOS_RA_747572_1430127.png")
    );
    let html = ikos.description_html.as_deref().unwrap();
    assert!(html.contains("<ul><li>Coordination de projet de raccordement électrique"));
    assert!(ikos.description.contains("\n- Suivi des affaires"));
    // HTML entities of the CDATA become text.
    let agoriade = offers
        .iter()
        .find(|o| o.key.source_offer_id() == "177810729W")
        .unwrap();
    assert!(
        agoriade
            .description
            .contains("Pourquoi rejoindre cette opportunité ?")
    );
}

#[test]
fn jobteaser() {
    let offers = offers(
        "jobteaser",
        r#"{ type = "xml", preset = "jobteaser" }"#,
        "jobteaser.xml",
    );
    check(
        &offers,
        &[
            Expected {
                id: "ab3c7310-98eb-4541-9a91-438dafddfae3",
                title: "Alternance - webmarketing specialist - Bac+4/5 - (38 - Grenoble) - H/F",
                employer: "Schneider Electric",
                commune: "38185",
                contract: ContractKind::Apprenticeship,
                published: Some("2025-09-20T07:42:48Z"),
                url_prefix: "https://www.jobteaser.com/fr/job-offers/ab3c7310",
            },
            Expected {
                id: "d495551f-394a-462a-94e2-01ec47abfd37",
                title: "Alternance - Ingénieur R&D Commercial Véhicles 2025-2028",
                employer: "Valeo",
                commune: "80021",
                contract: ContractKind::Apprenticeship,
                published: Some("2025-09-19T21:27:00Z"),
                url_prefix: "https://www.jobteaser.com/fr/job-offers/d495551f",
            },
        ],
    );
    // A SIREN is not a SIRET: not stored, and not a fault either.
    assert_eq!(offers[0].employer.siret, None);
}

#[test]
fn pass_rss() {
    let offers = offers(
        "pass",
        r#"{ type = "rss", preset = "pass" }"#,
        "pass-fonction-publique.rss",
    );
    let cnc = "Centre national du cinéma et de l'image animée";
    let url = "https://www.pass.fonction-publique.gouv.fr/offre/";
    let a = ContractKind::Apprenticeship;
    check(
        &offers,
        &[
            Expected {
                id: "A-2025-159026",
                title: "Contrat d'Apprentissage - financements H/F",
                employer: cnc,
                commune: "75056",
                contract: a,
                published: Some("2025-02-26T15:40:27Z"),
                url_prefix: url,
            },
            Expected {
                id: "A-2025-159005",
                title: "APPRENTI(E) - Rédacteur en matière juridique et fiscal - équivalent attaché (cat. A) Pôle de contrôle revenus patrimoine de Cannes",
                employer: "Direction départementale des finances publiques des Alpes-Maritimes - Pôle de contrôle revenus patrimoine de Cannes",
                commune: "06088",
                contract: a,
                published: Some("2025-02-26T15:09:41Z"),
                url_prefix: url,
            },
            Expected {
                id: "A-2025-159002",
                title: "APPRENTI(E) - Rédacteur en matière domanial - équivalent attaché (cat. A) Division du Domaine – Service Local du Domaine",
                employer: "Direction départementale des finances publiques des Alpes-Maritimes - Pôle Ressources, Opérations de l’État, Domaines - Division du Domaine - Service local du Domaine",
                commune: "06088",
                contract: a,
                published: Some("2025-02-26T15:09:12Z"),
                url_prefix: url,
            },
            Expected {
                id: "A-2025-158999",
                title: "APPRENTI(E) - Rédacteur en matière domanial - équivalent attaché (cat. A) Division des Domaine – Service Gestion des patrimoines privés",
                employer: "Direction départementale des finances publiques des Alpes-Maritimes - Pôle Ressources, Opérations de l’État, Domaines - Division du Domaine - Service de gestion des patrimoines privés",
                commune: "06088",
                contract: a,
                published: Some("2025-02-26T15:08:58Z"),
                url_prefix: url,
            },
            Expected {
                id: "A-2025-158987",
                title: "Chargé(e) de projet - Formation/Communication",
                employer: "DGAC - DO - DOM1 - INS - LFBO",
                commune: "31555",
                contract: a,
                published: Some("2025-02-26T14:57:19Z"),
                url_prefix: url,
            },
            Expected {
                id: "A-2025-158990",
                title: "Contrat d'apprentissage - éducation aux images H/F",
                employer: cnc,
                commune: "75056",
                contract: a,
                published: Some("2025-02-26T14:47:42Z"),
                url_prefix: url,
            },
            Expected {
                id: "A-2025-158984",
                title: "Chargé(e) de projet - Formation/Communication",
                employer: "DGAC - DO - DOM1 - INS",
                commune: "91027",
                contract: a,
                published: Some("2025-02-26T14:43:07Z"),
                url_prefix: url,
            },
        ],
    );
    let nice = offers
        .iter()
        .find(|o| o.key.source_offer_id() == "A-2025-159005")
        .unwrap();
    assert_eq!(
        nice.location.resolution,
        LocationResolution::DepartementAndName
    );
}

#[test]
fn france_travail_partner_flux() {
    let offers = offers(
        "ftpartner",
        r#"{ type = "france_travail_partner" }"#,
        "france-travail-partner.csv",
    );
    let [offer] = &offers[..] else {
        panic!("{offers:?}")
    };
    assert_eq!(offer.key.source_offer_id(), "E2-68511e2a21cc165dc45d3c35");
    assert_eq!(
        offer.title,
        "Assistant / Assistante de gestion en ressources humaines"
    );
    assert_eq!(offer.employer.name.as_deref(), Some("PERFORM COIFFURES"));
    assert_eq!(
        offer.employer.siret.as_ref().map(|s| s.as_str()),
        Some("35306634300016")
    );
    // COM_cle (Montpellier) and DEP_cle (75) disagree: the commune code wins.
    assert_eq!(
        offer.location.commune.as_ref().map(|c| c.as_str()),
        Some("34172")
    );
    assert_eq!(
        offer.location.departement.as_ref().map(|d| d.as_str()),
        Some("34")
    );
    assert_eq!(offer.contract.kind, ContractKind::Apprenticeship);
    assert_eq!(
        offer.dates.created_at,
        Some("2025-06-16T22:00:00Z".parse().unwrap())
    );
    assert_eq!(
        offer.dates.updated_at,
        Some("2025-08-17T22:00:00Z".parse().unwrap())
    );
    // `01/01/2050` means "no end date".
    assert_eq!(offer.dates.expires_at, None);
    assert_eq!(offer.positions, Some(5));
    assert_eq!(
        offer.job.rome_code.as_ref().map(|r| r.as_str()),
        Some("M1501")
    );
    assert_eq!(
        offer.working_time.kind,
        relais_model::WorkingTimeKind::FullTime
    );
    assert!(
        offer
            .offer_url
            .as_deref()
            .unwrap()
            .starts_with("http://localhost:3000/emploi/offres_emploi_lba/")
    );
    assert!(offer.warnings.is_empty(), "{:?}", offer.warnings);
}

#[test]
fn rejected_records_do_not_stop_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.xml");
    std::fs::write(
        &path,
        "<jobs><job><job_id>1</job_id><title>Agent</title></job>\
         <job><job_id></job_id><title>Sans id</title></job>\
         <job><job_id>3</job_id><title>  </title></job>\
         <job><job_id>4</job_id><title>Jardinier</title><publication_date>1970-01-01 00:00:00</publication_date></job></jobs>",
    )
    .unwrap();
    let reader = FeedReader::new(&config(
        "hellowork",
        r#"{ type = "xml", preset = "hellowork" }"#,
    ))
    .unwrap();
    let (mut offers, mut rejected) = (Vec::new(), Vec::new());
    reader
        .read(&path, now(), &mut |item| {
            match item {
                ReadItem::Offer(offer, _) => offers.push(*offer),
                ReadItem::Rejected(reason) => rejected.push(reason),
                ReadItem::Notice(_) => {}
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(offers.len(), 2);
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    let gardener = &offers[1];
    assert_eq!(gardener.dates.created_at, None);
    assert!(
        gardener
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::InvalidDate)
    );
}

#[test]
fn the_documented_board_is_onboarded_by_configuration() {
    #[derive(serde::Deserialize)]
    struct Sources {
        sources: Vec<FeedSourceConfig>,
    }
    let docs =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/feeds.md"))
            .unwrap();
    let block = docs
        .split("<!-- example-board:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- example-board:end -->").next())
        .unwrap();
    let toml_text = block
        .trim()
        .trim_start_matches("```toml")
        .trim_end_matches("```");
    let mut sources: Sources = toml::from_str(toml_text).unwrap();
    let mut config = sources.sources.remove(0);
    config.validate().unwrap();
    config.url = fixture("example-board.xml").display().to_string();
    let reader = FeedReader::new(&config).unwrap();
    let mut offers = Vec::new();
    reader
        .read(
            &fixture("example-board.xml"),
            "2026-11-23T00:00:00Z".parse().unwrap(),
            &mut |item| {
                match item {
                    ReadItem::Offer(offer, _) => offers.push(*offer),
                    ReadItem::Rejected(reason) => panic!("{reason}"),
                    ReadItem::Notice(_) => {}
                }
                Ok(())
            },
        )
        .unwrap();
    let [gardener, secretary, animator] = &offers[..] else {
        panic!("{offers:?}")
    };
    assert_eq!(gardener.key.source_offer_id(), "EQ-2026-0412");
    assert_eq!(gardener.title, "Agent d'entretien des espaces verts (H/F)");
    assert_eq!(
        gardener.employer.name.as_deref(),
        Some("Commune de Pradines")
    );
    assert_eq!(
        gardener.employer.siret.as_ref().map(|s| s.as_str()),
        Some("21460219700011")
    );
    assert_eq!(
        gardener.location.commune.as_ref().map(|c| c.as_str()),
        Some("46224")
    );
    assert_eq!(gardener.contract.kind, ContractKind::FixedTerm);
    assert_eq!(
        gardener.working_time.kind,
        relais_model::WorkingTimeKind::FullTime
    );
    let salary = gardener.salary.as_ref().unwrap();
    assert_eq!(
        (salary.min, salary.max, salary.period),
        (
            Some(1850.0),
            Some(2100.0),
            Some(relais_model::SalaryPeriod::Month)
        )
    );
    assert_eq!(
        gardener.dates.created_at,
        Some("2026-11-16T23:00:00Z".parse().unwrap())
    );
    assert_eq!(
        gardener.dates.updated_at,
        Some("2026-11-17T23:00:00Z".parse().unwrap())
    );
    assert!(
        gardener.description.contains("Permis B exigé."),
        "{}",
        gardener.description
    );
    assert!(
        gardener
            .description_html
            .as_deref()
            .unwrap()
            .contains("<b>l'entretien des espaces verts</b>")
    );
    assert_eq!(
        secretary.location.commune.as_ref().map(|c| c.as_str()),
        Some("46148")
    );
    assert_eq!(secretary.contract.kind, ContractKind::Permanent);
    assert_eq!(
        secretary.working_time.kind,
        relais_model::WorkingTimeKind::PartTime
    );
    assert!(
        secretary
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::UnsafeContent)
    );
    assert!(
        !secretary
            .description_html
            .as_deref()
            .unwrap()
            .contains("script")
    );
    assert_eq!(
        animator.location.commune.as_ref().map(|c| c.as_str()),
        Some("46042")
    );
    assert_eq!(
        animator.offer_url.as_deref(),
        Some("https://emplois-quercy.example/annonces/EQ-2026-0418")
    );
}
