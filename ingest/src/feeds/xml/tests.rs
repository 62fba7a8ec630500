use super::*;
use crate::feeds::config::Paths;

fn read_all(spec: &XmlReaderSpec, xml: &str) -> (Vec<FeedRecord>, Result<(), FeedError>) {
    let mut records = Vec::new();
    let result = spec.read(&mut xml.as_bytes(), &mut |item| {
        if let ParsedItem::Record(record) = item {
            records.push(*record);
        }
        Ok(())
    });
    (records, result)
}

fn hellowork() -> XmlReaderSpec {
    XmlReaderSpec::from_format(&FeedFormat::Xml {
        preset: Some("hellowork".into()),
        mapping: None,
    })
    .unwrap()
}

#[test]
fn a_shape_never_seen_is_read_through_a_mapping_with_attributes() {
    let mapping: XmlMapping = toml::from_str(
        r#"
        record = "annonces/annonce"
        id = "@ref"
        title = "poste/intitule"
        description = ["poste/missions", "poste/profil"]
        employer = "employeur/@nom"
        insee = "lieu/@insee"
        "#,
    )
    .unwrap();
    assert_eq!(
        mapping.fields[&Field::Description],
        Paths::Many(vec!["poste/missions".into(), "poste/profil".into()])
    );
    let spec = XmlReaderSpec::new(mapping).unwrap();
    let (records, result) = read_all(
        &spec,
        r#"<?xml version="1.0"?><export><annonces>
            <annonce ref="A-1"><poste><intitule>Agent d&apos;entretien &amp; voirie</intitule>
              <missions>Entretien</missions><profil>Permis B</profil></poste>
              <employeur nom="Mairie de Cahors"/><lieu insee="46042"/></annonce>
            <annonce ref="A-2"><poste><intitule>Secrétaire de mairie</intitule></poste></annonce>
        </annonces></export>"#,
    );
    result.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].get(Field::Id), Some("A-1"));
    assert_eq!(
        records[0].get(Field::Title),
        Some("Agent d'entretien & voirie")
    );
    assert_eq!(
        records[0].get(Field::Description),
        Some("Entretien\n\nPermis B")
    );
    assert_eq!(records[0].get(Field::Employer), Some("Mairie de Cahors"));
    assert_eq!(records[0].get(Field::Insee), Some("46042"));
    assert!(records[0].raw_payload.starts_with(r#"<annonce ref="A-1">"#));
    assert!(records[0].raw_payload.ends_with("</annonce>"));
    assert_eq!(records[1].get(Field::Employer), None);
}

#[test]
fn a_truncated_feed_yields_its_complete_records_then_fails() {
    let feed = "<root><job><job_id>1</job_id><title>A</title></job><job><job_id>2</job_id><title>B</title></job><job><job_id>3</job_id><tit";
    let (records, result) = read_all(&hellowork(), feed);
    assert_eq!(records.len(), 2);
    assert!(matches!(result, Err(FeedError::Truncated(_))), "{result:?}");
    let cut_in_text =
        "<root><job><job_id>1</job_id><title>A</title></job><job><job_id>2</job_id><title>B";
    let (records, result) = read_all(&hellowork(), cut_in_text);
    assert_eq!(records.len(), 1);
    assert!(matches!(result, Err(FeedError::Truncated(_))), "{result:?}");
}

#[test]
fn mismatched_tags_are_malformed() {
    let (_, result) = read_all(&hellowork(), "<root><job><job_id>1</title></job></root>");
    assert!(matches!(result, Err(FeedError::Malformed(_))), "{result:?}");
}

#[test]
fn an_entity_bomb_is_not_expanded() {
    let mut feed =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE root [\n<!ENTITY lol \"lol\">\n");
    for level in 1..=9 {
        let previous = if level == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", level - 1)
        };
        feed.push_str(&format!(
            "<!ENTITY lol{level} \"{}\">\n",
            format!("&{previous};").repeat(10)
        ));
    }
    feed.push_str("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n<root><job><job_id>1</job_id><title>Agent &lol9; &xxe;</title></job></root>");
    let (records, result) = read_all(&hellowork(), &feed);
    result.unwrap();
    let [record] = &records[..] else { panic!() };
    assert_eq!(record.get(Field::Title), Some("Agent &lol9; &xxe;"));
    assert_eq!(record.warnings.len(), 2);
    assert!(
        record
            .warnings
            .iter()
            .all(|w| w.kind == WarningKind::MalformedMarkup)
    );
}

#[test]
fn nested_markup_gives_its_text_and_the_first_repeated_element_wins() {
    let rss = XmlReaderSpec::from_format(&FeedFormat::Rss {
        preset: None,
        mapping: None,
    })
    .unwrap();
    let (records, result) = read_all(
        &rss,
        r#"<rss><channel><title>Flux</title><item><title><a href="/o/1">Agent <b>H/F</b></a></title>
           <guid>g1</guid><guid>g2</guid><link>https://example.org/o/1</link></item></channel></rss>"#,
    );
    result.unwrap();
    assert_eq!(records[0].get(Field::Title), Some("Agent H/F"));
    assert_eq!(records[0].get(Field::Id), Some("g1"));
}

#[test]
fn mappings_are_checked() {
    let no_id: XmlMapping = toml::from_str("record = \"job\"\ntitle = \"t\"").unwrap();
    assert!(XmlReaderSpec::new(no_id).unwrap_err().contains("`id`"));
    assert!(toml::from_str::<XmlMapping>("record = \"job\"\ntitel = \"t\"").is_err());
    let bad_family: XmlMapping = toml::from_str(
        "record = \"job\"\nid = \"i\"\ntitle = \"t\"\n[contract_values]\nCDI = \"forever\"",
    )
    .unwrap();
    assert!(
        XmlReaderSpec::new(bad_family)
            .unwrap_err()
            .contains("forever")
    );
}

#[test]
fn a_field_given_several_times_keeps_every_value_the_model_can_hold() {
    let mapping: XmlMapping = toml::from_str(
        r#"
        record = "job"
        id = "id"
        title = "title"
        contract = "contract"
        city = "city"
        postal_code = "postal_code"
        "#,
    )
    .unwrap();
    let spec = XmlReaderSpec::new(mapping).unwrap();
    let (records, result) = read_all(
        &spec,
        r#"<jobs><job><id>1</id><title>Comptable</title>
             <contract>CDI</contract><contract>Alternance / Apprentissage</contract>
             <city>Cahors</city><city>Figeac</city><postal_code>46000</postal_code></job></jobs>"#,
    );
    result.unwrap();
    let record = records.into_iter().next().unwrap();
    assert_eq!(record.get(Field::Contract), Some("CDI"));
    assert_eq!(
        record.others(Field::Contract).collect::<Vec<_>>(),
        ["Alternance / Apprentissage"]
    );
    let options = crate::feeds::normalise::NormaliseOptions::new(
        relais_model::SourceId::parse("board").unwrap(),
    );
    let (offer, _) =
        crate::feeds::normalise::normalise_record(record, &options, chrono::Utc::now()).unwrap();
    // The apprenticeship is not lost: a permanent contract, in work-study.
    assert_eq!(offer.contract.kind, relais_model::ContractKind::Permanent);
    assert!(offer.contract.work_study);
    assert_eq!(
        offer.contract.label.as_deref(),
        Some("CDI / Alternance / Apprentissage")
    );
    // One place is kept; the other is said.
    assert_eq!(
        offer.location.commune.as_ref().map(|c| c.as_str()),
        Some("46042")
    );
    assert!(
        offer
            .warnings
            .iter()
            .any(|w| w.message.contains("several places") && w.message.contains("Figeac")),
        "{:?}",
        offer.warnings
    );
}

#[test]
fn a_constant_fills_every_record_and_a_path_that_matches_nothing_is_said() {
    let mapping: XmlMapping = toml::from_str(
        r#"
        record = "job"
        id = "id"
        title = "title"
        salary_min = "pay"
        salary_period = { constant = "year" }
        employer = ["company/name", "employer"]
        "#,
    )
    .unwrap();
    assert_eq!(
        mapping.fields[&Field::SalaryPeriod],
        Paths::Constant {
            constant: "year".into()
        }
    );
    let spec = XmlReaderSpec::new(mapping).unwrap();
    let mut records = Vec::new();
    let mut notices = Vec::new();
    spec.read(
        &mut r#"<jobs><job><id>1</id><title>Comptable</title><pay>32000</pay><employer>Cabinet</employer></job>
               <job><id>2</id><title>Juriste</title></job></jobs>"#
            .as_bytes(),
        &mut |item| {
            match item {
                ParsedItem::Record(record) => records.push(*record),
                ParsedItem::Notice { message } => notices.push(message),
                ParsedItem::Skipped { reason } => panic!("{reason}"),
            }
            Ok(())
        },
    )
    .unwrap();
    assert!(
        records
            .iter()
            .all(|r| r.get(Field::SalaryPeriod) == Some("year"))
    );
    assert_eq!(records[0].get(Field::Employer), Some("Cabinet"));
    assert_eq!(
        notices,
        ["the path `company/name` of `employer` matched none of the 2 records"]
    );
    let empty: XmlMapping = toml::from_str(
        "record = \"job\"\nid = \"id\"\ntitle = \"t\"\nsalary_period = { constant = \" \" }",
    )
    .unwrap();
    assert!(XmlReaderSpec::new(empty).is_err());
}
