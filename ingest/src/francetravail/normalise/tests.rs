use chrono::Utc;
use relais_model::*;
use serde_json::json;

use super::*;

fn normalise(value: serde_json::Value) -> Offer {
    normalise_offer(
        &SourceId::parse("francetravail").unwrap(),
        &value.to_string(),
        Utc::now(),
    )
    .unwrap()
}

fn salary_of(label: &str) -> Salary {
    normalise(json!({"id": "100AAAA", "intitule": "x", "description": "y", "salaire": {"libelle": label}})).salary.unwrap()
}

#[test]
fn salary_labels_of_both_eras_are_parsed() {
    let check = |label: &str, period, min, max: Option<f64>, months: Option<f32>| {
        let salary = salary_of(label);
        assert_eq!(
            (salary.period, salary.min, salary.max, salary.months),
            (Some(period), Some(min), max, months),
            "{label}"
        );
    };
    check(
        "Annuel de 20148,00 Euros à 25000,00 Euros sur 12 mois",
        SalaryPeriod::Year,
        20148.0,
        Some(25000.0),
        Some(12.0),
    );
    check(
        "Mensuel de 2275.0 Euros à 3033.0 Euros sur 12.0 mois",
        SalaryPeriod::Month,
        2275.0,
        Some(3033.0),
        Some(12.0),
    );
    check(
        "Horaire de 11.65 Euros sur 12.0 mois",
        SalaryPeriod::Hour,
        11.65,
        None,
        Some(12.0),
    );
    check(
        "Mensuel de 2000.0 Euros sur 13.0 mois",
        SalaryPeriod::Month,
        2000.0,
        None,
        Some(13.0),
    );
    check(
        "Mensuel de 1790.00 Euros sur 12 mois",
        SalaryPeriod::Month,
        1790.0,
        None,
        Some(12.0),
    );
}

#[test]
fn an_unparseable_salary_is_kept_verbatim_with_a_warning() {
    let offer = normalise(
        json!({"id": "100AAAA", "intitule": "x", "description": "y", "salaire": {"libelle": "Selon grille FPT"}}),
    );
    assert_eq!(
        offer.salary.unwrap().label.as_deref(),
        Some("Selon grille FPT")
    );
    assert!(
        offer
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::UnparsedLabel && w.field == "salaire.libelle")
    );
}

#[test]
fn contract_labels_of_both_eras_give_kind_and_duration() {
    let check = |code: &str, label: &str, kind, duration: Option<(f32, DurationUnit)>| {
        let offer = normalise(
            json!({"id": "100AAAA", "intitule": "x", "description": "y", "typeContrat": code, "typeContratLibelle": label}),
        );
        assert_eq!(offer.contract.kind, kind, "{label}");
        assert_eq!(
            offer.contract.duration.map(|d| (d.value, d.unit)),
            duration,
            "{label}"
        );
    };
    check(
        "MIS",
        "Mission intérimaire - 6 Mois",
        ContractKind::Temporary,
        Some((6.0, DurationUnit::Month)),
    );
    check(
        "MIS",
        "Intérim - 5 Jour(s)",
        ContractKind::Temporary,
        Some((5.0, DurationUnit::Day)),
    );
    check(
        "CDD",
        "CDD - 4 Mois",
        ContractKind::FixedTerm,
        Some((4.0, DurationUnit::Month)),
    );
    check("CDI", "CDI", ContractKind::Permanent, None);
    check(
        "SAI",
        "Contrat travail saisonnier - 3 Mois",
        ContractKind::Seasonal,
        Some((3.0, DurationUnit::Month)),
    );
}

#[test]
fn locations_by_commune_by_departement_label_and_none() {
    let with_commune = normalise(json!({"id": "100AAAA", "intitule": "x", "description": "y",
        "lieuTravail": {"libelle": "75 - Paris 14e Arrondissement", "latitude": 48.83, "longitude": 2.32, "codePostal": "75014", "commune": "75114"}}));
    assert_eq!(
        with_commune
            .location
            .commune
            .as_ref()
            .map(InseeCode::as_str),
        Some("75056"),
        "an arrondissement is located in its commune; the label keeps the detail"
    );
    assert_eq!(
        with_commune
            .location
            .departement
            .as_ref()
            .map(DepartementCode::as_str),
        Some("75")
    );
    assert_eq!(
        with_commune.location.resolution,
        LocationResolution::ArrondissementCode
    );
    assert_eq!(with_commune.location.region.as_deref(), Some("11"));

    let departement_only = normalise(
        json!({"id": "100AAAA", "intitule": "x", "description": "y", "lieuTravail": {"libelle": "38 - Isère"}}),
    );
    assert_eq!(
        departement_only
            .location
            .departement
            .as_ref()
            .map(DepartementCode::as_str),
        Some("38")
    );
    assert_eq!(
        departement_only.location.resolution,
        LocationResolution::Departement
    );
    assert!(departement_only.location.commune.is_none());

    let corsica = normalise(
        json!({"id": "100AAAA", "intitule": "x", "description": "y", "lieuTravail": {"libelle": "2A - AJACCIO", "commune": "2A004"}}),
    );
    assert_eq!(
        corsica
            .location
            .departement
            .as_ref()
            .map(DepartementCode::as_str),
        Some("2A")
    );

    // The Pacific collectivités: a département-level code of the geography like any other.
    let papeete = normalise(
        json!({"id": "100AAAA", "intitule": "x", "description": "y", "lieuTravail": {"libelle": "987 - PAPEETE", "commune": "98735"}}),
    );
    assert_eq!(
        papeete
            .location
            .departement
            .as_ref()
            .map(DepartementCode::as_str),
        Some("987"),
        "{:?}",
        papeete.location
    );
    let noumea = normalise(
        json!({"id": "100AAAA", "intitule": "x", "description": "y", "lieuTravail": {"libelle": "988 - Nouvelle-Calédonie"}}),
    );
    assert_eq!(
        noumea
            .location
            .departement
            .as_ref()
            .map(DepartementCode::as_str),
        Some("988"),
        "{:?}",
        noumea.location
    );

    let abroad = normalise(
        json!({"id": "100AAAA", "intitule": "x", "description": "y", "lieuTravail": {"libelle": "Belgique"}}),
    );
    assert_eq!(abroad.location.resolution, LocationResolution::Unresolved);
    assert!(
        abroad
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::UnresolvedLocation)
    );
}

#[test]
fn bad_fields_are_warnings_and_only_a_missing_id_rejects() {
    let offer = normalise(
        json!({"id": "100AAAA", "dateCreation": "hier", "dateActualisation": "1970-01-01T00:00:00Z",
        "romeCode": "cuisine", "lieuTravail": {"commune": "999"}, "nombrePostes": "beaucoup", "salaire": 12}),
    );
    let kinds: Vec<WarningKind> = offer.warnings.iter().map(|w| w.kind).collect();
    assert!(kinds.contains(&WarningKind::MissingField));
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == WarningKind::InvalidDate)
            .count(),
        2
    );
    assert!(kinds.contains(&WarningKind::InvalidCode));
    assert!(
        offer.dates.created_at.is_none()
            && offer.job.rome_code.is_none()
            && offer.positions.is_none()
    );
    let source = SourceId::parse("francetravail").unwrap();
    assert!(normalise_offer(&source, r#"{"intitule": "sans id"}"#, Utc::now()).is_err());
    assert!(normalise_offer(&source, "not json", Utc::now()).is_err());
}

#[test]
fn every_field_of_a_generated_offer_lands_somewhere() {
    let generator = relais_fixtures::OfferGenerator::new(7, Utc::now());
    for index in 0..3_000 {
        let raw = generator.offer(index);
        let offer = normalise(raw.clone());
        assert_eq!(offer.key.source_offer_id(), raw["id"].as_str().unwrap());
        assert_eq!(offer.title, raw["intitule"].as_str().unwrap());
        assert!(offer.dates.created_at.is_some());
        assert_eq!(
            offer.offer_url.as_deref(),
            raw["origineOffre"]["urlOrigine"].as_str()
        );
        assert_eq!(
            offer.job.rome_code.as_ref().map(RomeCode::as_str),
            raw["romeCode"].as_str()
        );
        assert_eq!(
            offer.employer.name.as_deref(),
            raw["entreprise"]["nom"].as_str()
        );
        assert!(
            offer.contract.kind != ContractKind::Other
                || raw["typeContrat"] == "FRA"
                || raw["typeContrat"] == "LIB"
        );
        assert_ne!(offer.working_time.kind, WorkingTimeKind::Unknown);
        if let Some(label) = raw["salaire"]["libelle"].as_str() {
            let salary = offer.salary.as_ref().unwrap();
            assert!(salary.min.is_some(), "{label}");
        }
        let listed = [
            "competences",
            "langues",
            "permis",
            "formations",
            "qualitesProfessionnelles",
            "outilsBureautiques",
        ]
        .iter()
        .map(|f| raw[*f].as_array().map_or(0, Vec::len))
        .sum::<usize>();
        assert_eq!(offer.requirements.len(), listed);
        let unresolved = offer
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::UnresolvedLocation);
        let location = &offer.location;
        assert_eq!(
            unresolved,
            location.commune.is_none()
                && location.departement.is_none()
                && location.region.is_none()
        );
        if let Some(code) = raw["lieuTravail"]["commune"].as_str() {
            let commune = location
                .commune
                .as_ref()
                .expect("every generated commune code is in the COG");
            assert_eq!(&code[..2], &commune.as_str()[..2]);
            assert!(
                offer
                    .warnings
                    .iter()
                    .all(|w| w.kind != WarningKind::InvalidCode),
                "{:?}",
                offer.warnings
            );
        }
    }
}
