//! Place names compared after normalisation: accents, case, punctuation, `ST`/`SAINT`, `CEDEX`.

/// Uppercase ASCII words separated by single spaces; `ST`/`STE` become `SAINT`/`SAINTE`;
/// `CEDEX` and what follows it are dropped. `Saint-Étienne CEDEX 2` → `SAINT ETIENNE`.
pub fn normalise_place_name(name: &str) -> String {
    let ascii = deunicode::deunicode(name).to_uppercase();
    let mut words = Vec::new();
    for word in ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        match word {
            "CEDEX" => break,
            "ST" => words.push("SAINT"),
            "STE" => words.push("SAINTE"),
            other => words.push(other),
        }
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::normalise_place_name as n;

    #[test]
    fn variants_of_one_name_normalise_alike() {
        assert_eq!(n("Saint-Étienne"), "SAINT ETIENNE");
        assert_eq!(n("ST ETIENNE CEDEX 2"), "SAINT ETIENNE");
        assert_eq!(n("L'Abergement-Clémenciat"), "L ABERGEMENT CLEMENCIAT");
        assert_eq!(n("  Marcq en Barœul "), "MARCQ EN BAROEUL");
        assert_eq!(n("Sainte-Marie-la-Mer"), n("STE MARIE LA MER"));
    }
}
