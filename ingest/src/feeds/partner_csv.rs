//! France Travail's partner flux: the pipe-delimited UTF-8 CSV (usually zipped) whose columns are
//! those of its XSD (`Par_ref_offre`, `Libelle_metier_OGR`, `COM_cle`…), header row first.
//! Fields are not quoted (the format forbids `|` inside a value).

use std::io::BufRead;

use super::config::Field;
use super::record::{FeedError, FeedRecord, ParsedItem, RecordReader};

/// Column → field, in order of preference for fields named twice.
const COLUMNS: &[(&str, Field)] = &[
    ("Par_ref_offre", Field::Id),
    ("Libelle_metier_OGR", Field::Title),
    ("Description", Field::Description),
    ("Off_etab_enseigne", Field::Employer),
    ("Libelle_etab", Field::Employer),
    ("Off_etab_siret", Field::Siret),
    ("Description_entreprise", Field::EmployerDescription),
    ("COM_cle", Field::Insee),
    ("COM_libelle", Field::City),
    ("CPO_cle", Field::PostalCode),
    ("DEP_cle", Field::Departement),
    ("Coordonnee_geo_loc_1", Field::Latitude),
    ("Coordonnee_geo_loc_2", Field::Longitude),
    ("TCO_cle", Field::Contract),
    ("Off_salaire_min", Field::SalaryMin),
    ("Off_salaire_max", Field::SalaryMax),
    ("Off_salaire_cpt_commentaire", Field::Salary),
    ("Off_date_creation", Field::PublishedAt),
    ("Off_date_modification", Field::UpdatedAt),
    ("Off_date_fin_publication", Field::ExpiresAt),
    ("Par_URL_offre", Field::Url),
    ("Code_rome", Field::RomeCode),
    ("OST_poste_restant_nb", Field::Positions),
    ("SCN_libelle", Field::Sector),
    ("Exp_libelle", Field::Experience),
];

/// Date format of the flux.
pub const DATE_FORMAT: &str = "%d/%m/%Y";

/// The France Travail partner flux family.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartnerCsvReader;

impl RecordReader for PartnerCsvReader {
    fn read_records(
        &self,
        input: &mut dyn BufRead,
        emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
    ) -> Result<(), FeedError> {
        read(input, emit)
    }
}

/// Reads the rows of `input`. A row with the wrong number of columns is skipped; one at the very
/// end means the file was cut, and fails the snapshot.
pub fn read(
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'|')
        .quoting(false)
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| FeedError::Malformed(format!("header row: {e}")))?
        .clone();
    if headers.len() < 2 || !headers.iter().any(|h| h == "Par_ref_offre") {
        return Err(FeedError::Malformed(
            "the header row has no `Par_ref_offre` column: not a France Travail partner flux"
                .into(),
        ));
    }
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let mapped: Vec<(usize, Field)> = COLUMNS
        .iter()
        .filter_map(|(name, field)| Some((column(name)?, *field)))
        .collect();
    let movement = column("Type_mouvement");
    let nature = column("NTC_cle");
    let hours = column("Off_travail_hebdo_nb_hh");
    let mut pending_error: Option<String> = None;
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                if let Some(error) = pending_error.take() {
                    emit(ParsedItem::Skipped { reason: error })?;
                }
                if movement.and_then(|m| row.get(m)).map(str::trim) == Some("S") {
                    // A deletion movement: the offer is not part of the snapshot.
                    continue;
                }
                let mut record = FeedRecord::default();
                for &(index, field) in &mapped {
                    if let Some(value) = row
                        .get(index)
                        .map(str::trim)
                        .filter(|v| !v.is_empty() && *v != "null")
                    {
                        record.offer(field, value);
                    }
                }
                // Nature E2 (apprentissage) and FS (professionnalisation) are work-study contracts.
                if let Some(code) = nature.and_then(|n| row.get(n)).map(str::trim)
                    && matches!(code, "E2" | "FS")
                {
                    let label = format!(
                        "{} apprentissage",
                        record.get(Field::Contract).unwrap_or("CDD")
                    );
                    record.set(Field::Contract, label);
                }
                if let Some(h) = hours
                    .and_then(|h| row.get(h))
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                {
                    let label = if h.parse::<f32>().is_ok_and(|h| h >= 35.0) {
                        format!("{h}H temps plein")
                    } else {
                        format!("{h}H temps partiel")
                    };
                    record.set(Field::WorkingTime, label);
                }
                record.raw_payload = row.iter().collect::<Vec<_>>().join("|");
                emit(ParsedItem::Record(Box::new(record)))?;
            }
            Err(error) => {
                if let csv::ErrorKind::Io(io) = error.kind() {
                    return Err(FeedError::Io(std::io::Error::new(
                        io.kind(),
                        io.to_string(),
                    )));
                }
                if let Some(previous) = pending_error.replace(format!("malformed row: {error}")) {
                    emit(ParsedItem::Skipped { reason: previous })?;
                }
            }
        }
    }
    match pending_error {
        Some(error) => Err(FeedError::Truncated(format!(
            "the last row is cut: {error}"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Par_ref_offre|Libelle_metier_OGR|Description|Off_etab_enseigne|COM_cle|DEP_cle|TCO_cle|NTC_cle|Off_travail_hebdo_nb_hh|Off_date_creation|Type_mouvement";

    fn read_all(text: &str) -> (Vec<FeedRecord>, Vec<String>, Result<(), FeedError>) {
        let mut records = Vec::new();
        let mut skipped = Vec::new();
        let result = read(&mut text.as_bytes(), &mut |item| {
            match item {
                ParsedItem::Record(r) => records.push(*r),
                ParsedItem::Skipped { reason } => skipped.push(reason),
                ParsedItem::Notice { .. } => {}
            }
            Ok(())
        });
        (records, skipped, result)
    }

    #[test]
    fn rows_become_records_and_deletions_are_left_out() {
        let text = format!(
            "{HEADER}\nE2-1|Assistant RH|Gestion du personnel|PERFORM|34172|34|CDD|E2|35|17/06/2025|C\n\
             E2-2|Coiffeur|Coupe|SALON|46042|46|CDI|E1|20|18/06/2025|S\n\
             E2-3|Serveur|Service en salle|BISTROT|46042|46|CDI|E1|20|18/06/2025|M\n"
        );
        let (records, skipped, result) = read_all(&text);
        result.unwrap();
        assert!(skipped.is_empty());
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].get(Field::Contract), Some("CDD apprentissage"));
        assert_eq!(records[0].get(Field::WorkingTime), Some("35H temps plein"));
        assert_eq!(
            records[1].get(Field::WorkingTime),
            Some("20H temps partiel")
        );
        assert_eq!(records[1].get(Field::Insee), Some("46042"));
        assert!(records[0].raw_payload.starts_with("E2-1|Assistant RH|"));
    }

    #[test]
    fn a_bad_row_is_skipped_and_a_cut_last_row_fails_the_snapshot() {
        let text = format!(
            "{HEADER}\nE2-1|Assistant RH|x|P|34172|34|CDD|E2|35|17/06/2025|C\nE2-2|broken\n\
             E2-3|Serveur|y|B|46042|46|CDI|E1|20|18/06/2025|C\nE2-4|Cuisinier|z|B"
        );
        let (records, skipped, result) = read_all(&text);
        assert_eq!(records.len(), 2);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(matches!(result, Err(FeedError::Truncated(_))), "{result:?}");
    }
}
