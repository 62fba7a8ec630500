//! Each rule of `docs/dedup.md` on a pair that differs only by what the rule looks at.

mod common;

use chrono::Duration;
use common::{JOB_TEXT, OTHER_TEXT, offer};
use relais_dedup::{Comparison, DedupConfig, Deduplicator, Outcome, Rule};
use relais_model::{
    ContractDuration, ContractKind, DurationUnit, InseeCode, Offer, Siret, WorkingTimeKind,
};

fn compare(a: &Offer, b: &Offer) -> Comparison {
    let dedup = Deduplicator::new(DedupConfig::default()).unwrap();
    dedup.compare(&dedup.extract(a, 50), &dedup.extract(b, 50))
}

fn base() -> (Offer, Offer) {
    (
        offer("francetravail", "1", JOB_TEXT),
        offer("hellowork", "a", JOB_TEXT),
    )
}

#[test]
fn copies_that_differ_only_in_form_are_the_same_job() {
    let (a, mut b) = base();
    b.title = "AGENT D’ENTRETIEN (F/H) - Cahors (46)".into();
    b.employer.name = Some("Ville de Cahors".into());
    b.description = format!(
        "<p>{}</p>",
        JOB_TEXT.replace(". ", ".</p><p>").replace('é', "&eacute;")
    );
    b.location.label = Some("46000 Cahors".into());
    b.dates.created_at = a.dates.created_at.map(|d| d + Duration::days(20));
    let comparison = compare(&a, &b);
    assert!(comparison.same_job(), "{comparison:?}");
    assert_eq!(comparison.failed_rule(), None);
    assert_eq!(comparison.employer, Outcome::Same);
}

#[test]
fn each_structural_rule_vetoes_on_its_own() {
    type Change = fn(&mut Offer);
    let cases: [(Rule, Change); 8] = [
        (Rule::Employer, |b| {
            b.employer.name = Some("Propreté Services Cahors".into())
        }),
        (Rule::Place, |b| {
            b.location.commune = Some(InseeCode::parse("46102").unwrap())
        }),
        (Rule::Contract, |b| {
            b.contract.kind = ContractKind::FixedTerm
        }),
        (Rule::WorkingTime, |b| {
            b.working_time.kind = WorkingTimeKind::PartTime
        }),
        (Rule::Grade, |b| {
            b.title = "Agent d'entretien - agent de maîtrise".into()
        }),
        (Rule::Dates, |b| {
            b.dates.created_at = b.dates.created_at.map(|d| d - Duration::days(61))
        }),
        (Rule::Title, |b| b.title = "Agent des espaces verts".into()),
        (Rule::Details, |b| {
            b.description = format!("{JOB_TEXT} {OTHER_TEXT}").replace("Jules Ferry", "Jean Jaurès")
        }),
    ];
    for (rule, change) in cases {
        let (mut a, mut b) = base();
        if rule == Rule::Grade {
            a.title = "Agent d'entretien - adjoint technique".into();
        }
        if rule == Rule::Details {
            // A longer ad, so that the texts stay near-identical and only the detail differs.
            a.description = format!("{JOB_TEXT} {OTHER_TEXT}");
        }
        change(&mut b);
        let comparison = compare(&a, &b);
        assert!(!comparison.same_job(), "{rule}: {comparison:?}");
        assert_eq!(comparison.failed_rule(), Some(rule), "{comparison:?}");
    }
}

#[test]
fn sirens_decide_over_names_and_durations_over_families() {
    let (mut a, mut b) = base();
    a.employer.siret = Some(Siret::parse("21460042700018").unwrap());
    b.employer.siret = Some(Siret::parse("21460042700026").unwrap());
    b.employer.name = Some("Services techniques".into());
    assert_eq!(
        compare(&a, &b).employer,
        Outcome::Same,
        "same SIREN, another establishment"
    );
    b.employer.siret = Some(Siret::parse("30000000000017").unwrap());
    assert_eq!(compare(&a, &b).employer, Outcome::Different);

    let (mut a, mut b) = base();
    for (offer, months) in [(&mut a, 3.0), (&mut b, 12.0)] {
        offer.contract.kind = ContractKind::FixedTerm;
        offer.contract.duration = Some(ContractDuration {
            value: months,
            unit: DurationUnit::Month,
        });
    }
    assert_eq!(
        compare(&a, &b).contract,
        Outcome::Different,
        "3 months vs a year"
    );
}

#[test]
fn unknown_fields_never_veto_but_ask_for_a_stronger_text() {
    let (a, mut b) = base();
    b.employer.name = None;
    b.location.commune = None;
    b.contract.kind = ContractKind::Other;
    b.working_time.kind = WorkingTimeKind::Unknown;
    let comparison = compare(&a, &b);
    assert!(comparison.same_job(), "{comparison:?}");
    assert_eq!(comparison.containment_needed, 0.95);

    // A teaser of the same text: contained, but with no employer stated it must reach 0.95.
    let mut teaser = b.clone();
    let cut = JOB_TEXT.find("municipal").unwrap();
    teaser.description = format!("{}…", &JOB_TEXT[..cut]);
    let comparison = compare(&a, &teaser);
    assert_eq!(comparison.text, Outcome::Same, "{comparison:?}");
    teaser.employer.name = Some("Mairie de Cahors".into());
    teaser.location.commune = a.location.commune.clone();
    assert!(compare(&a, &teaser).same_job());
}

#[test]
fn a_truncated_copy_with_a_board_footer_is_contained_in_the_full_ad() {
    let (a, mut b) = base();
    let footer = "Postulez en un clic sur notre site.";
    let cut = JOB_TEXT.find("du restaurant").unwrap();
    b.description = format!("{} [...]\n\n{footer}", &JOB_TEXT[..cut]);

    // Alone, the footer is text like any other: each side has words the other lacks.
    assert!(!compare(&a, &b).same_job());

    // Once the board's footer is seen in 40 of its offers, it is boilerplate.
    let mut dedup = Deduplicator::new(DedupConfig::default()).unwrap();
    for i in 0..40 {
        let other = offer(
            "hellowork",
            &format!("o{i}"),
            &format!("Offre numéro {i} du mois. {footer}"),
        );
        dedup.observe(&other);
    }
    let comparison = dedup.compare(&dedup.extract(&a, 50), &dedup.extract(&b, 50));
    assert!(comparison.containment >= 0.9, "{comparison:?}");
    assert!(comparison.jaccard < 0.8);
    assert!(comparison.same_job(), "{comparison:?}");
}

#[test]
fn a_town_named_at_the_end_of_a_title_is_not_part_of_the_job() {
    let (mut a, mut b) = base();
    a.title = "Policier municipal H/F".into();
    a.location.label = Some("17 - LA ROCHELLE".into());
    a.location.commune = Some(InseeCode::parse("17300").unwrap());
    a.location.departement = Some(relais_model::DepartementCode::parse("17").unwrap());
    // The copy is known only by its département: its label cannot say which words are a town.
    b.title = "POLICIER MUNICIPAL à La Rochelle (17)".into();
    b.location.label = Some("17 - Charente-Maritime".into());
    b.location.commune = None;
    b.location.departement = a.location.departement.clone();
    let comparison = compare(&a, &b);
    assert_eq!(comparison.title_similarity, 1.0, "{comparison:?}");
    b.title = "Policier municipal - Châlons-en-Champagne".into();
    assert_eq!(
        compare(&a, &b).title,
        Outcome::Different,
        "a town of another département stays"
    );
}

/// With no text to compare (none, or an empty wrapper), the structured fields decide, strictly:
/// the same title, and employer, commune, contract and dates stated on both sides and equal.
#[test]
fn copies_without_a_description_are_judged_by_every_structured_field() {
    let (mut a, mut b) = base();
    a.description = String::new();
    b.description = "<p></p>".into();
    let comparison = compare(&a, &b);
    assert!(comparison.same_job(), "{comparison:?}");
    assert_eq!(comparison.failed_rule(), None);

    // A full ad and a copy without its text: the same.
    let full = offer("francetravail", "2", JOB_TEXT);
    assert!(compare(&full, &b).same_job());

    // One field not stated is not enough any more: nothing in the text makes up for it.
    let mut unstated = b.clone();
    unstated.employer.name = None;
    let comparison = compare(&a, &unstated);
    assert_eq!(comparison.failed_rule(), Some(Rule::Text), "{comparison:?}");
    let mut other_title = b.clone();
    other_title.title = "Agent d'accueil (H/F)".into();
    assert!(!compare(&a, &other_title).same_job());
}

#[test]
fn a_copy_flattened_rewrapped_or_framed_by_a_board_is_the_same_job() {
    let (a, _) = base();
    let mut sections = a.clone();
    sections.description = format!(
        "Le poste\n- {}",
        JOB_TEXT.replace(". ", "\n- ").trim_end_matches('.')
    );
    let flattened = sections
        .description
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let rewrapped = format!(
        "<div>{}</div>",
        sections
            .description
            .replacen('\n', "<br>", 2)
            .replace('\n', " ")
    );
    let framed = format!(
        "Offre n° EM-482913 publiée par Emploi Local le 3 mars.\n{}\nRéférence de l'offre : EM-482913",
        sections.description
    );
    for text in [flattened, rewrapped, framed] {
        let mut b = offer("hellowork", "a", &text);
        b.title = a.title.clone();
        let comparison = compare(&sections, &b);
        assert!(comparison.same_job(), "{text}: {comparison:?}");
    }
}

#[test]
fn a_summary_with_its_header_is_the_same_job_and_another_site_is_not() {
    let (a, mut summary) = base();
    let last_sentence = JOB_TEXT.rfind(". ").unwrap() + 2;
    summary.description = format!(
        "En bref : Agent d'entretien à Cahors.\n{}.\n{}",
        JOB_TEXT.split(". ").next().unwrap(),
        &JOB_TEXT[last_sentence..]
    );
    let comparison = compare(&a, &summary);
    assert!(comparison.same_job(), "{comparison:?}");
    assert_eq!(comparison.detail_conflicts, 0);

    let mut other_site = a.clone();
    other_site.description = JOB_TEXT.replace("l'école Jules Ferry", "l'école Victor Hugo");
    let comparison = compare(&a, &other_site);
    assert_eq!(comparison.details, Outcome::Different, "{comparison:?}");
    assert!(!comparison.same_job());
}

/// An ad whose missions are a list without full stops, as France Travail and boards write them.
const LIST_TEXT: &str = "La commune de Cahors recrute un agent pour l'entretien de ses bâtiments communaux et de ses écoles.
Les missions seront les suivantes :
- Assurer le nettoyage quotidien des classes et des sanitaires de l'école Jules Ferry
- Entretenir les vitres et les sols de la mairie et de la médiathèque
- Gérer le stock des produits d'entretien et signaler les besoins au responsable
- Participer au service de restauration scolaire le midi
Horaires : du lundi au vendredi, de 6 h à 13 h.";

#[test]
fn a_summary_and_a_teaser_of_a_list_without_full_stops_are_the_same_job() {
    let (mut a, mut summary) = base();
    a.description = LIST_TEXT.into();
    // The summary keeps two items; the teaser cuts an item short.
    let lines: Vec<&str> = LIST_TEXT.lines().collect();
    summary.description = format!(
        "En bref : agent d'entretien à Cahors.\n{}\n{}\n{}\n{}",
        lines[0], lines[1], lines[2], lines[3]
    );
    let comparison = compare(&a, &summary);
    assert!(comparison.same_job(), "{comparison:?}");
    let mut teaser = summary.clone();
    teaser.description = format!("{} {} - Entretenir les vitres et…", lines[0], lines[1]);
    let comparison = compare(&a, &teaser);
    assert!(comparison.same_job(), "{comparison:?}");
    // Another school named in an item is still another job.
    let mut other_site = a.clone();
    other_site.description = LIST_TEXT.replace("Jules Ferry", "Victor Hugo");
    assert!(!compare(&a, &other_site).same_job());
}

#[test]
fn a_company_under_a_brand_variant_is_the_same_employer() {
    let (mut a, mut b) = base();
    a.employer.name = Some("Services Henry SARL".into());
    for variant in [
        "Groupe Services Henry",
        "Services Henry France",
        "SERVICES HENRY - Agence de Cahors",
    ] {
        b.employer.name = Some(variant.into());
        assert_eq!(compare(&a, &b).employer, Outcome::Same, "{variant}");
    }
    b.employer.name = Some("Services Martin".into());
    assert_eq!(compare(&a, &b).employer, Outcome::Different);
}
