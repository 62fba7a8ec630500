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
fn weekly_hours_alone_give_the_working_time() {
    let of = |label: &str| {
        let time = working_time(Some(label));
        (time.kind, time.weekly_hours)
    };
    use WorkingTimeKind::*;
    assert_eq!(of("35"), (FullTime, Some(35.0)));
    assert_eq!(of("39h/semaine"), (FullTime, Some(39.0)));
    assert_eq!(of("24,5"), (PartTime, Some(24.5)));
    assert_eq!(of("28 heures"), (PartTime, Some(28.0)));
    assert_eq!(of("35H30"), (FullTime, Some(35.5)));
    assert_eq!(of("Temps partiel 24h"), (PartTime, Some(24.0)));
    assert_eq!(of("Temps plein"), (FullTime, None));
    assert_eq!(of("Temps plein 35 h"), (FullTime, Some(35.0)));
    // Not hours: left unknown.
    assert_eq!(of("2 postes"), (Unknown, None));
    assert_eq!(of("350"), (Unknown, None));
    assert_eq!(of("Horaires variables"), (Unknown, None));
}

#[test]
fn a_zone_written_in_the_text_decides_the_zone() {
    let mut options = NormaliseOptions::new(SourceId::parse("test").unwrap());
    options.date_formats = vec!["%Y-%m-%d %H:%M:%S UTC".into(), "%d/%m/%Y %H:%M".into()];
    let at = |s: &str| parse_date(s, &options).map(|d| d.to_rfc3339());
    // The format's literal zone, honoured (it was read in Paris time: one hour off).
    assert_eq!(
        at("2024-01-30 23:21:39 UTC").as_deref(),
        Some("2024-01-30T23:21:39+00:00")
    );
    // A designator the format does not name, after a format's time.
    assert_eq!(
        at("30/01/2024 23:21 +01:00").as_deref(),
        Some("2024-01-30T22:21:00+00:00")
    );
    assert_eq!(
        at("30/01/2024 23:21 GMT").as_deref(),
        Some("2024-01-30T23:21:00+00:00")
    );
    // Without formats, the ISO shapes with a designator.
    options.date_formats.clear();
    let at = |s: &str| parse_date(s, &options).map(|d| d.to_rfc3339());
    for (raw, utc) in [
        ("2024-01-30 23:21:39 UTC", "2024-01-30T23:21:39+00:00"),
        ("2024-01-30 23:21:39Z", "2024-01-30T23:21:39+00:00"),
        ("2024-01-30 23:21:39 +0100", "2024-01-30T22:21:39+00:00"),
        ("2024-01-30T23:21:39-05:00", "2024-01-31T04:21:39+00:00"),
        // No designator: Paris time, as before.
        ("2024-01-30 23:21:39", "2024-01-30T22:21:39+00:00"),
        ("2024-01-30", "2024-01-29T23:00:00+00:00"),
    ] {
        assert_eq!(at(raw).as_deref(), Some(utc), "{raw}");
    }
}

#[test]
fn a_format_that_reads_a_zone_name_it_would_ignore_is_refused() {
    assert!(check_date_format("%Y-%m-%d %H:%M:%S UTC").is_ok());
    assert!(check_date_format("%d/%m/%Y %H:%M:%S %z").is_ok());
    for bad in [
        "%Y-%m-%d %H:%M:%S %Z",
        "%d/%m/%Y %H:%M CET",
        "%d/%m/%Y %H:%M CEST",
    ] {
        let refused = check_date_format(bad).unwrap_err();
        assert!(refused.contains(bad), "{refused}");
    }
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

#[test]
fn a_salary_implausible_for_its_period_is_left_out_with_a_warning() {
    let options = NormaliseOptions::new(SourceId::parse("test").unwrap());
    let salary = |label: &str| {
        let mut record = FeedRecord::default();
        record.set(Field::Id, "1");
        record.set(Field::Title, "Agent");
        record.set(Field::Salary, label);
        let (offer, _) = normalise_record(record, &options, Utc::now()).unwrap();
        let salary = offer.salary.unwrap();
        let warned = offer
            .warnings
            .iter()
            .any(|w| w.message.contains("not plausible"));
        (salary.min, salary.period, warned, salary.label)
    };
    // An hourly wage written as yearly: the figure is left out, the label kept, and said.
    let (min, period, warned, label) = salary("11,88 € par an");
    assert_eq!(
        (min, period, warned),
        (None, Some(SalaryPeriod::Year), true)
    );
    assert_eq!(label.as_deref(), Some("11,88 € par an"));
    assert_eq!(salary("11,88 € de l'heure").0, Some(11.88));
    assert_eq!(salary("1 900 € par mois").0, Some(1900.0));
    assert_eq!(
        salary("32 000 € par an"),
        (
            Some(32000.0),
            Some(SalaryPeriod::Year),
            false,
            Some("32 000 € par an".into())
        )
    );
    // A monthly 19 000 € is possible, 190 000 is not.
    assert!(!salary("19 000 € par mois").2);
    assert!(salary("190 000 € par mois").2);
}

#[test]
fn a_contract_duration_is_read_from_its_own_field() {
    let options = NormaliseOptions::new(SourceId::parse("test").unwrap());
    let duration = |text: &str| {
        let mut record = FeedRecord::default();
        record.set(Field::Id, "1");
        record.set(Field::Title, "Agent");
        record.set(Field::Contract, "CDD");
        record.set(Field::ContractDuration, text);
        let (offer, _) = normalise_record(record, &options, Utc::now()).unwrap();
        offer.contract.duration.map(|d| (d.value, d.unit))
    };
    use relais_model::DurationUnit::*;
    assert_eq!(duration("12 mois"), Some((12.0, Month)));
    assert_eq!(duration("6"), Some((6.0, Month)));
    assert_eq!(duration("3 semaines"), Some((3.0, Week)));
    assert_eq!(duration("15 jours"), Some((15.0, Day)));
    assert_eq!(duration("1,5 mois"), Some((1.5, Month)));
    assert_eq!(duration("2 ans"), Some((2.0, Year)));
    assert_eq!(
        duration("du 01/03/2025 au 31/08/2025"),
        None,
        "no date format: unread"
    );
    let mut french = NormaliseOptions::new(SourceId::parse("test").unwrap());
    french.date_formats = vec!["%d/%m/%Y".into()];
    let mut record = FeedRecord::default();
    record.set(Field::Id, "1");
    record.set(Field::Title, "Agent");
    record.set(Field::ContractDuration, "du 01/03/2025 au 31/08/2025");
    let (offer, _) = normalise_record(record, &french, Utc::now()).unwrap();
    let period = offer.contract.duration.unwrap();
    assert_eq!((period.value, period.unit), (6.0, Month));
    assert_eq!(duration("selon profil"), None);
}
