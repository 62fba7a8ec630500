//! Offers for the tests: one job of the commune of Cahors, and another text.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use relais_model::{
    ContractKind, DepartementCode, InseeCode, Offer, OfferKey, SourceId, WorkingTimeKind,
};

pub const JOB_TEXT: &str = "La commune de Cahors recrute un agent pour l'entretien des bâtiments de l'école Jules Ferry. \
Vous assurez le nettoyage des salles de classe et du restaurant scolaire chaque soir après seize heures. \
Vous signalez les réparations nécessaires au centre technique municipal et gérez le stock des produits.";

pub const OTHER_TEXT: &str = "Au sein du groupe scolaire, vous accompagnez les enfants pendant la pause méridienne. \
Vous animez des ateliers de lecture le mercredi matin et participez aux projets de la bibliothèque municipale. \
Une expérience auprès d'enfants de trois à six ans est demandée pour ce poste en équipe.";

pub fn now() -> DateTime<Utc> {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

pub fn offer(source: &str, id: &str, description: &str) -> Offer {
    let key = OfferKey::new(SourceId::parse(source).unwrap(), id).unwrap();
    let mut offer = Offer::new(key, "Agent d'entretien (H/F)", description, now());
    offer.employer.name = Some("Mairie de Cahors".into());
    offer.location.label = Some("46 - CAHORS".into());
    offer.location.commune = Some(InseeCode::parse("46042").unwrap());
    offer.location.departement = Some(DepartementCode::parse("46").unwrap());
    offer.contract.kind = ContractKind::Permanent;
    offer.working_time.kind = WorkingTimeKind::FullTime;
    offer.dates.created_at = Some(now() - Duration::days(3));
    offer.offer_url = Some(format!("https://{source}.example/{id}"));
    offer
}
