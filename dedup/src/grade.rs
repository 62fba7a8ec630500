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

/// Words skipped when reading grades (`agent de maîtrise`, `adjoint d'animation`).
fn is_filler(word: &str) -> bool {
    matches!(word, "d" | "de" | "des" | "du" | "l" | "la" | "le" | "les")
}

/// The grades and categories stated in `words` (folded), as a bit set; 0 when none.
pub fn grades_in<S: AsRef<str>>(words: &[S]) -> GradeSet {
    let words: Vec<&str> = words
        .iter()
        .map(AsRef::as_ref)
        .filter(|w| !is_filler(w))
        .collect();
    grade_mentions(&words)
        .iter()
        .fold(0, |set, m| set | m.grade)
}

/// The grades stated in a description's `words` (folded), not counting the title repeated in it:
/// `En bref : Animateur périscolaire à Paris` names the job, not a grade. A mention is the
/// title's when it starts the title's first two words.
pub fn grades_in_description<S: AsRef<str>>(words: &[S], title: &str) -> GradeSet {
    let words: Vec<&str> = words
        .iter()
        .map(AsRef::as_ref)
        .filter(|w| !is_filler(w))
        .collect();
    let folded = crate::normalise::words(title);
    let role: Vec<&str> = folded
        .iter()
        .map(String::as_str)
        .filter(|w| !is_filler(w) && !crate::normalise::is_gender_word(w))
        .take(2)
        .collect();
    grade_mentions(&words)
        .iter()
        .filter(|m| role.len() < 2 || words[m.start..].get(..2) != Some(&role[..]))
        .fold(0, |set, m| set | m.grade)
}

/// The title's words without the grades stated after its first word (`Agent de restauration -
/// adjoint technique` → `agent restauration`): the grade rule compares those, not the title rule.
pub fn without_trailing_grades(title_words: &str) -> String {
    let words: Vec<&str> = title_words.split(' ').filter(|w| !w.is_empty()).collect();
    let mentions = grade_mentions(&words);
    let mut kept = Vec::with_capacity(words.len());
    for (i, word) in words.iter().enumerate() {
        let in_grade = mentions
            .iter()
            .any(|m| m.start > 0 && (m.start..m.end).contains(&i));
        if !in_grade {
            kept.push(*word);
        }
    }
    kept.join(" ")
}

/// The grades a title states after its first word (`Secrétaire de mairie (rédacteur)`).
pub fn trailing_grades_in_title(title: &str) -> GradeSet {
    let folded = crate::normalise::words(title);
    let words: Vec<&str> = folded
        .iter()
        .map(String::as_str)
        .filter(|w| !is_filler(w))
        .collect();
    grade_mentions(&words)
        .iter()
        .filter(|m| m.start > 0)
        .fold(0, |set, m| set | m.grade)
}

/// A grade or category stated by `words[start..end]`.
struct GradeMention {
    start: usize,
    end: usize,
    grade: GradeSet,
}

/// The grades and categories stated in content words (fillers removed), in order.
fn grade_mentions(words: &[&str]) -> Vec<GradeMention> {
    let mut mentions = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if (word == "categorie" || word == "cat")
            && let Some(letter) = words.get(i + 1)
        {
            let bit = match *letter {
                "a" => 1,
                "b" => 2,
                "c" => 4,
                _ => 0,
            };
            if bit != 0 {
                mentions.push(GradeMention {
                    start: i,
                    end: i + 2,
                    grade: bit,
                });
                i += 2;
                continue;
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
                .position(|w| matches!(*w, "principal" | "principaux" | "principale"));
            let bit =
                CATEGORY_BITS as usize + index + if principal.is_some() { GRADES.len() } else { 0 };
            let end = i + grade.len() + principal.map_or(0, |p| p + 1);
            mentions.push(GradeMention {
                start: i,
                end,
                grade: 1 << bit,
            });
            i = end;
            continue;
        }
        i += 1;
    }
    mentions
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
        assert_eq!(
            grade_names(grades_in(&words("Agent de maîtrise territorial"))),
            ["agent maitrise"]
        );
        assert_eq!(
            without_trailing_grades("agent restauration scolaire adjoint technique principal"),
            "agent restauration scolaire"
        );
        assert_eq!(
            without_trailing_grades("infirmier ehpad"),
            "infirmier ehpad"
        );
        assert_eq!(
            without_trailing_grades("secretaire mairie categorie b"),
            "secretaire mairie"
        );
    }

    #[test]
    fn a_description_repeating_the_title_states_no_grade_by_it() {
        let title = "Animateur périscolaire (H/F)";
        let summary = words("En bref : Animateur périscolaire à Paris.");
        assert_eq!(grades_in(&summary), grades_in(&words("animateur")));
        assert_eq!(grades_in_description(&summary, title), 0);
        let stated = words("En bref : Animateur périscolaire. Grade : animateur territorial.");
        assert_eq!(
            grade_names(grades_in_description(&stated, title)),
            ["animateur"]
        );
    }
}
