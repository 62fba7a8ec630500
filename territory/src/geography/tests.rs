use super::*;

#[test]
fn codes_designate_their_current_commune() {
    let g = geography();
    let code_of = |code: &str| g.current_commune_of(code).map(|id| g.commune(id).code);
    assert_eq!(code_of("46042"), Some("46042"));
    assert_eq!(code_of("75114"), Some("75056"), "Paris 14e → Paris");
    assert_eq!(code_of("69387"), Some("69123"), "Lyon 7e → Lyon");
    assert_eq!(code_of("13201"), Some("13055"), "Marseille 1er → Marseille");
    assert_eq!(
        code_of("01340"),
        Some("01015"),
        "a former code → the commune nouvelle"
    );
    assert_eq!(code_of("2A004"), Some("2A004"));
    assert_eq!(code_of("97411"), Some("97411"));
    assert_eq!(code_of("99999"), None);
}

#[test]
fn a_delegated_commune_sharing_its_commune_nouvelle_code_is_not_counted_twice() {
    let g = geography();
    let rows: Vec<CommuneKind> = g.rows_with_code("01015").map(|c| c.kind).collect();
    assert!(
        rows.contains(&CommuneKind::Current) && rows.contains(&CommuneKind::Delegated),
        "{rows:?}"
    );
    assert_eq!(
        g.current_commune_of("01015").map(|id| g.commune(id).code),
        Some("01015")
    );
}

#[test]
fn postal_codes_and_names() {
    let g = geography();
    assert_eq!(g.communes_with_postal_code("46000").len(), 1);
    assert!(
        g.communes_with_postal_code("01400").len() > 1,
        "a postal code shared by several communes"
    );
    assert!(!g.communes_named("ST ETIENNE").is_empty());
    assert!(
        g.communes_named("Saint-Étienne")
            .iter()
            .any(|&id| g.commune(id).code == "42218")
    );
}

#[test]
fn every_departement_code_of_the_geography_is_a_departement_code_of_the_model() {
    use relais_model::{DepartementCode, InseeCode};
    let geography = geography();
    for code in geography.departement_codes() {
        assert!(DepartementCode::parse(code).is_ok(), "{code}");
    }
    // And a commune's département, read from its code as the model does, is the geography's.
    for id in 0..geography.commune_count() as u32 {
        let commune = geography.commune(id);
        let Ok(insee) = InseeCode::parse(commune.code) else {
            panic!("{} is not an INSEE code of the model", commune.code);
        };
        assert_eq!(
            DepartementCode::of_commune(&insee)
                .map(|d| d.to_string())
                .as_deref(),
            Some(commune.departement),
            "{}",
            commune.code
        );
    }
}
