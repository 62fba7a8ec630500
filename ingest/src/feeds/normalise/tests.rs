use super::*;

#[test]
fn contract_labels_in_french_and_english() {
    for (label, kind) in [
        ("CDI", ContractKind::Permanent),
        ("CDD - 6 mois", ContractKind::FixedTerm),
        ("Intérim", ContractKind::Temporary),
        ("CDI intérimaire", ContractKind::Temporary),
        ("Alternance", ContractKind::Apprenticeship),
        (
            "CDD - Alternance - Contrat de professionnalisation",
            ContractKind::Apprenticeship,
        ),
        ("Saisonnier", ContractKind::Seasonal),
        ("Freelance", ContractKind::SelfEmployed),
        ("Stage", ContractKind::Other),
        ("FULL_TIME, TEMPORARY", ContractKind::Temporary),
        ("Permanent contract", ContractKind::Permanent),
        ("Fixed-term contract", ContractKind::FixedTerm),
        ("Contractuel", ContractKind::FixedTerm),
        ("CDD (remplacement d'un titulaire)", ContractKind::FixedTerm),
    ] {
        assert_eq!(classify_contract(label), kind, "{label}");
    }
}

#[test]
fn amounts_in_french_and_english_notation() {
    assert_eq!(amount("1 823,00"), Some(1823.0));
    assert_eq!(amount("33000.000"), Some(33000.0));
    assert_eq!(amount("35\u{a0}000 €"), Some(35000.0));
    assert_eq!(amount("1,823.50"), Some(1823.5));
    assert_eq!(amount("1.823,50"), Some(1823.5));
    assert_eq!(amount("A négocier"), None);
}

#[test]
fn dates_in_the_formats_boards_use() {
    let mut options = NormaliseOptions::new(SourceId::parse("test").unwrap());
    options.date_formats = vec!["%d/%m/%Y %H:%M:%S".into(), "%d/%m/%Y".into()];
    let at = |s: &str| parse_date(s, &options).map(|d| d.to_rfc3339());
    // Naive dates are Paris time: winter +01:00, summer +02:00.
    assert_eq!(
        at("11/12/2025 10:41:41").as_deref(),
        Some("2025-12-11T09:41:41+00:00")
    );
    assert_eq!(
        at("17/06/2025").as_deref(),
        Some("2025-06-16T22:00:00+00:00")
    );
    assert_eq!(
        at("Wed, 26 Feb 2025 16:40:27 +0100").as_deref(),
        Some("2025-02-26T15:40:27+00:00")
    );
    assert_eq!(
        at("2025-09-09 00:00:00").as_deref(),
        Some("2025-09-08T22:00:00+00:00")
    );
    assert_eq!(at("demain"), None);
}

#[test]
fn hostile_urls_are_dropped() {
    let mut record = FeedRecord::default();
    record.set(Field::Id, "1");
    record.set(
        Field::Title,
        "<b>Agent</b> <script>alert(1)</script>d'accueil",
    );
    record.set(Field::Url, "javascript:alert(1)");
    record.set(Field::ApplyUrl, "/postuler/1");
    let options = NormaliseOptions::new(SourceId::parse("test").unwrap());
    let (offer, _) = normalise_record(record, &options, Utc::now()).unwrap();
    assert_eq!(offer.title, "Agent d'accueil");
    assert_eq!(offer.offer_url, None);
    assert_eq!(offer.apply_url, None);
    assert!(
        offer
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::InvalidCode && w.field == "url")
    );
}
