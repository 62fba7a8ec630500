//! Public-service grades and categories stated in an offer (`adjoint technique`, `rédacteur
//! principal`, `catégorie B`): two offers that state different ones are two jobs.

/// Known grades (French territorial and hospital civil service), as folded word sequences.
/// A `principal` grade is a different grade from its base one.
const GRADES: &[&[&str]] = &[
    &["adjoint", "administratif"],
    &["adjoint", "technique"],
    &["adjoint", "animation"],
    &["adjoint", "patrimoine"],
    &["agent", "maitrise"],
    &["technicien"],
    &["redacteur"],
    &["attache"],
    &["ingenieur"],
    &["educateur", "jeunes", "enfants"],
    &["auxiliaire", "puericulture"],
    &["atsem"],
    &["assistant", "socio", "educatif"],
    &["animateur"],
    &["infirmier"],
    &["aide", "soignant"],
    &["conseiller", "socio", "educatif"],
    &["puericultrice"],
    &["bibliothecaire"],
    &["assistant", "conservation"],
    &["brigadier"],
    &["gardien", "brigadier"],
    &["administrateur"],
];

/// Bits 0–2: categories A, B, C; bits 3..: a grade; bit 3 + GRADES.len() + i: grade i `principal`.
pub type GradeSet = u64;

const CATEGORY_BITS: u32 = 3;

/// The grades and categories stated in `words` (folded), as a bit set; 0 when none.
pub fn grades_in(words: &[String]) -> GradeSet {
    let mut set = 0;
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        if (word == "categorie" || word == "cat")
            && let Some(letter) = words.get(i + 1)
        {
            match letter.as_str() {
                "a" => set |= 1,
                "b" => set |= 2,
                "c" => set |= 4,
                _ => {}
            }
        }
        if let Some((index, grade)) = GRADES.iter().enumerate().find(|(_, grade)| {
            grade.len() <= words.len() - i
                && grade.iter().zip(&words[i..]).all(|(g, w)| {
                    w == g
                        || (w.len() == g.len() + 1 && w.starts_with(g) && w.ends_with(['s', 'e']))
                })
        }) {
            let after = &words[i + grade.len()..];
            let principal = after
                .iter()
                .take(2)
                .any(|w| w == "principal" || w == "principaux" || w == "principale");
            let bit = CATEGORY_BITS as usize + index + if principal { GRADES.len() } else { 0 };
            set |= 1 << bit;
            i += grade.len();
            continue;
        }
        i += 1;
    }
    set
}

/// Readable names of the grades in `set`, for explanations.
pub fn grade_names(set: GradeSet) -> Vec<String> {
    let mut names = Vec::new();
    for (bit, letter) in ["A", "B", "C"].iter().enumerate() {
        if set & (1 << bit) != 0 {
            names.push(format!("catégorie {letter}"));
        }
    }
    for (index, grade) in GRADES.iter().enumerate() {
        let base = CATEGORY_BITS as usize + index;
        if set & (1 << base) != 0 {
            names.push(grade.join(" "));
        }
        if set & (1 << (base + GRADES.len())) != 0 {
            names.push(format!("{} principal", grade.join(" ")));
        }
    }
    names
}

const _: () = assert!(CATEGORY_BITS as usize + 2 * GRADES.len() <= 64);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::words;

    #[test]
    fn grades_and_categories_are_read_and_principal_is_another_grade() {
        let a = grades_in(&words("Adjoint technique territorial - catégorie C"));
        let b = grades_in(&words("Adjoints techniques principaux de 2e classe"));
        let c = grades_in(&words("Agent d'entretien"));
        assert_eq!(grade_names(a), ["catégorie C", "adjoint technique"]);
        assert_eq!(grade_names(b), ["adjoint technique principal"]);
        assert_eq!(c, 0);
        assert_eq!(a & b, 0);
    }
}
