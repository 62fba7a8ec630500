//! Every location of the real partner-feed samples and of the France Travail sample resolves to
//! the right commune. The locations are taken from the samples of `mission-apprentissage/labonnealternance`
//! (MIT licence, commit b632524b96420e754068a3dd46900d76cf90f338, `server/src/jobs/offre-partenaire/*`)
//! and from a France Travail search response (2024-07-08); only the location fields are kept here,
//! and the expected communes were checked by hand against the COG. Where a sample splits a
//! location over several fields, the text is what its connector will compose: PASS items join
//! `dc:description` (département) and `dc:coverage` (town) as `DD - TOWN`; Jooble keeps the town
//! and the `(DD)` of its `state`; JobTeaser joins the town and its `location_sub_state`.

use relais_territory::{LocationQuery, resolve_location};

/// A sample, the location text, its postal code, its INSEE code, the expected current commune.
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const CASES: &[Case] = &[
    ("hellowork", "VINCENNES", Some("94300"), None, "94080"),
    ("hellowork", "LAVAL", Some("53000"), None, "53130"),
    ("hellowork", "TINQUEUX", Some("51430"), None, "51573"),
    ("hellowork", "LILLE", Some("59160"), None, "59350"),
    ("hellowork", "ECHIROLLES", Some("38130"), None, "38151"),
    (
        "buddi",
        "La Chapelle-d'Armentières",
        Some("59930"),
        None,
        "59143",
    ),
    ("buddi", "Leers", Some("59115"), None, "59339"),
    ("buddi", "Marcq-en-Barœul", Some("59700"), None, "59378"),
    ("jooble", "Puteaux (92)", None, None, "92062"),
    ("jooble", "Cahors (46)", None, None, "46042"),
    ("apec", "ROUEN", None, Some("76540"), "76540"),
    ("apec", "LE MANS", None, Some("72181"), "72181"),
    ("apec", "PARIS 01", None, Some("75101"), "75056"),
    ("apec", "CRETEIL", None, Some("94028"), "94028"),
    ("apec", "PANTIN", None, Some("93055"), "93055"),
    (
        "pass",
        "75 - PARIS 14ème arrondissement",
        None,
        None,
        "75056",
    ),
    ("pass", "06 - NICE", None, None, "06088"),
    ("pass", "06 - NICE", None, None, "06088"),
    ("pass", "06 - NICE", None, None, "06088"),
    ("pass", "31 - TOULOUSE", None, None, "31555"),
    (
        "pass",
        "75 - PARIS 14ème arrondissement",
        None,
        None,
        "75056",
    ),
    ("pass", "91 - ATHIS MONS", None, None, "91027"),
    ("ft-partner", "", None, Some("34172"), "34172"),
    (
        "ft-api",
        "59 - MARCQ EN BAROEUL",
        Some("59700"),
        Some("59378"),
        "59378",
    ),
    (
        "ft-api",
        "69 - Vaulx-en-Velin",
        Some("69120"),
        Some("69256"),
        "69256",
    ),
    (
        "ft-api",
        "30 - LA CALMETTE",
        Some("30190"),
        Some("30061"),
        "30061",
    ),
    (
        "ft-api",
        "92 - ANTONY",
        Some("92160"),
        Some("92002"),
        "92002",
    ),
    (
        "ft-api",
        "71 - AUTUN",
        Some("71400"),
        Some("71014"),
        "71014",
    ),
    ("ft-api", "57 - Metz", Some("57000"), Some("57463"), "57463"),
    ("jobteaser", "Grenoble, Isere", None, None, "38185"),
    ("jobteaser", "Amiens, Somme", None, None, "80021"),
];

#[test]
fn every_real_location_resolves_to_the_right_commune() {
    let mut wrong = Vec::new();
    for &(sample, text, postal_code, insee, expected) in CASES {
        let found = resolve_location(LocationQuery {
            text: Some(text),
            postal_code,
            insee,
        });
        if found.commune != Some(expected) {
            wrong.push(format!(
                "{sample}: {text:?} {postal_code:?} {insee:?} → {:?} by {:?}, expected {expected}",
                found.commune, found.method
            ));
        }
    }
    assert_eq!(CASES.len(), 31);
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}
