use super::*;

fn check(
    text: &str,
    postal_code: Option<&str>,
    insee: Option<&str>,
    commune: Option<&str>,
    departement: Option<&str>,
    method: ResolutionMethod,
) {
    let found = resolve_location(LocationQuery {
        text: Some(text),
        postal_code,
        insee,
    });
    assert_eq!(
        (found.commune, found.departement, found.method),
        (commune, departement, method),
        "{text:?} {postal_code:?} {insee:?}"
    );
}

fn text(text: &str, commune: Option<&str>, departement: Option<&str>, method: ResolutionMethod) {
    check(text, None, None, commune, departement, method);
}

use ResolutionMethod::*;

#[test]
fn insee_codes_of_every_kind() {
    check(
        "",
        None,
        Some("46042"),
        Some("46042"),
        Some("46"),
        InseeCode,
    );
    check(
        "",
        None,
        Some("75114"),
        Some("75056"),
        Some("75"),
        ArrondissementCode,
    );
    check(
        "",
        None,
        Some("69387"),
        Some("69123"),
        Some("69"),
        ArrondissementCode,
    );
    check(
        "",
        None,
        Some("13201"),
        Some("13055"),
        Some("13"),
        ArrondissementCode,
    );
    check(
        "",
        None,
        Some("01340"),
        Some("01015"),
        Some("01"),
        FormerOrDelegatedCode,
    );
    // The COG lists the pre-1976 Corsican codes as former codes.
    check(
        "",
        None,
        Some("20004"),
        Some("2A004"),
        Some("2A"),
        FormerOrDelegatedCode,
    );
    check(
        "",
        None,
        Some("97411"),
        Some("97411"),
        Some("974"),
        InseeCode,
    );
}

#[test]
fn france_travail_labels() {
    text(
        "59 - MARCQ EN BAROEUL",
        Some("59378"),
        Some("59"),
        DepartementAndName,
    );
    text("38 - Isère", None, Some("38"), Departement);
    text("46 - CAHORS", Some("46042"), Some("46"), DepartementAndName);
}

#[test]
fn arrondissements_in_text() {
    text(
        "PARIS 14ème arrondissement",
        Some("75056"),
        Some("75"),
        ArrondissementName,
    );
    text("Paris 02", Some("75056"), Some("75"), ArrondissementName);
    text("Lyon 7e", Some("69123"), Some("69"), ArrondissementName);
    text(
        "Marseille 1er",
        Some("13055"),
        Some("13"),
        ArrondissementName,
    );
}

#[test]
fn postal_codes_alone_shared_and_across_a_border() {
    text("46000 Cahors", Some("46042"), Some("46"), PostalCode);
    check(
        "Cahors",
        Some("46000"),
        None,
        Some("46042"),
        Some("46"),
        PostalCode,
    );
    // 01400 is shared by several communes of the Ain: the name tells them apart.
    check(
        "L'Abergement-Clémenciat",
        Some("01400"),
        None,
        Some("01001"),
        Some("01"),
        PostalCodeAndName,
    );
    check("", Some("01400"), None, None, Some("01"), Departement);
    // 05110 serves communes of the Hautes-Alpes and of the Alpes-de-Haute-Provence.
    let shared = geography().communes_with_postal_code("05110");
    let departements: std::collections::BTreeSet<&str> = shared
        .iter()
        .map(|&id| geography().commune(id).departement)
        .collect();
    assert!(
        departements.len() > 1,
        "05110 crosses a département border: {departements:?}"
    );
    let resolved = resolve_location(LocationQuery {
        postal_code: Some("05110"),
        ..LocationQuery::default()
    });
    assert_eq!(resolved.method, Unresolved);
}

#[test]
fn a_renamed_and_merged_commune() {
    // Évry became Évry-Courcouronnes (91228) when it absorbed Courcouronnes (91182).
    check(
        "91 - EVRY",
        None,
        Some("91228"),
        Some("91228"),
        Some("91"),
        InseeCode,
    );
    check(
        "",
        None,
        Some("91182"),
        Some("91228"),
        Some("91"),
        FormerOrDelegatedCode,
    );
    check(
        "91 - EVRY",
        Some("91000"),
        None,
        Some("91228"),
        Some("91"),
        PostalCode,
    );
    text("Évry-Courcouronnes", Some("91228"), Some("91"), UniqueName);
    // The old name alone is in no row of the current COG, but in earlier vintages'.
    text("91 - EVRY", Some("91228"), Some("91"), DepartementAndName);
}

#[test]
fn a_town_followed_by_its_departement_name() {
    text(
        "Grenoble, Isere",
        Some("38185"),
        Some("38"),
        DepartementAndName,
    );
    text(
        "Puteaux, Hauts-de-Seine",
        Some("92062"),
        Some("92"),
        DepartementAndName,
    );
    // Saint-Denis alone is ambiguous; with its département it is not.
    text(
        "Saint-Denis, Seine-Saint-Denis",
        Some("93066"),
        Some("93"),
        DepartementAndName,
    );
    text(
        "Saint-Denis, La Réunion",
        Some("97411"),
        Some("974"),
        DepartementAndName,
    );
}

#[test]
fn names_departements_regions_and_nothing() {
    text("Cahors", Some("46042"), Some("46"), UniqueName);
    text("Lot (46)", None, Some("46"), Departement);
    // The commune Doubs (25204) is not what `25 - Doubs` means; Paris is commune and département.
    text("25 - Doubs", None, Some("25"), Departement);
    text("Doubs (25)", None, Some("25"), Departement);
    text("75 - Paris", Some("75056"), Some("75"), DepartementAndName);
    text("Lot", None, Some("46"), Departement);
    let occitanie = resolve_location(LocationQuery {
        text: Some("Occitanie"),
        ..LocationQuery::default()
    });
    assert_eq!((occitanie.region, occitanie.method), (Some("76"), Region));
    text("Saint-Denis", None, None, Unresolved);
    text("France", None, None, Unresolved);
    text("", None, None, Unresolved);
}

/// Offers still name communes that merged into a commune nouvelle: the name of a delegated
/// commune resolves to the commune it belongs to, by a shared postal code or in its département,
/// and never before a current commune of that name.
#[test]
fn a_former_commune_s_name_resolves_to_its_commune_nouvelle() {
    check(
        "BELLEGARDE SUR VALSERINE",
        Some("01200"),
        None,
        Some("01033"),
        Some("01"),
        PostalCodeAndName,
    );
    text("01 - Béon", Some("01138"), Some("01"), DepartementAndName);
    text("Brénaz", Some("01453"), Some("01"), UniqueName);
    text("46 - Cahors", Some("46042"), Some("46"), DepartementAndName);
}

#[test]
fn a_name_from_an_earlier_vintage_resolves_to_the_commune_it_is_part_of_now() {
    // Rignat: a commune déléguée of Bohas-Meyriat-Rignat until 2026, in no current row.
    text("01 - RIGNAT", Some("01245"), Some("01"), DepartementAndName);
    // Songieu: merged into Haut Valromey (2016), its commune déléguée removed since.
    text("SONGIEU", Some("01187"), Some("01"), UniqueName);
    // Pargny-Filain: renamed Pargny-et-Filain; its postal code narrows the search.
    check(
        "Pargny-Filain",
        Some("02000"),
        None,
        Some("02589"),
        Some("02"),
        PostalCodeAndName,
    );
    // A current commune's name still wins: Filain (Haute-Saône) is not the former Filain (Aisne).
    text("FILAIN", Some("70234"), Some("70"), UniqueName);
}
