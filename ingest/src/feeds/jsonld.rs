//! schema.org `JobPosting` in JSON-LD: a JSON document (one posting, an array of them, an
//! `ItemList`, a `@graph`) or an HTML page that embeds `<script type="application/ld+json">`.
//!
//! A top-level JSON array is streamed element by element, so a large JSON feed keeps one posting
//! in memory at a time.

use std::fmt;
use std::io::{BufRead, Read};

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::Value;

use super::config::Field;
use super::record::{FeedError, FeedRecord, ParsedItem, RecordReader};

/// Largest HTML page read, in bytes (pages are small; a feed of postings is JSON).
const MAX_PAGE_BYTES: u64 = 32 * 1024 * 1024;

/// The JSON-LD family.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLdReader;

impl RecordReader for JsonLdReader {
    fn read_records(
        &self,
        input: &mut dyn BufRead,
        emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
    ) -> Result<(), FeedError> {
        read(input, emit)
    }
}

/// Reads the postings of `input`.
pub fn read(
    input: &mut dyn BufRead,
    emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    let first = loop {
        let head = input.fill_buf()?;
        match head.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => {
                let byte = head[at];
                input.consume(at);
                break Some(byte);
            }
            None if head.is_empty() => break None,
            None => {
                let n = head.len();
                input.consume(n);
            }
        }
    };
    match first {
        None => Err(FeedError::Truncated("the document is empty".into())),
        Some(b'[') => {
            let mut deserializer = serde_json::Deserializer::from_reader(input);
            let mut error = None;
            let seed = StreamArray {
                emit,
                error: &mut error,
            };
            let result = seed.deserialize(&mut deserializer);
            if let Some(stopped) = error {
                return Err(stopped);
            }
            result.map_err(json_error)?;
            deserializer.end().map_err(json_error)
        }
        Some(b'{') => {
            let value: Value = serde_json::from_reader(input).map_err(json_error)?;
            walk(&value, emit)
        }
        Some(_) => {
            let mut page = String::new();
            std::io::Read::take(input, MAX_PAGE_BYTES).read_to_string(&mut page)?;
            let scripts = embedded_json_ld(&page);
            if scripts.is_empty() {
                return Err(FeedError::Malformed(
                    "the page embeds no application/ld+json script".into(),
                ));
            }
            for script in scripts {
                match serde_json::from_str::<Value>(script.trim()) {
                    Ok(value) => walk(&value, emit)?,
                    Err(e) => emit(ParsedItem::Skipped {
                        reason: format!("a JSON-LD script of the page is not JSON: {e}"),
                    })?,
                }
            }
            Ok(())
        }
    }
}

fn json_error(error: serde_json::Error) -> FeedError {
    if error.is_eof() {
        FeedError::Truncated(error.to_string())
    } else if error.is_io() {
        FeedError::Io(std::io::Error::other(error.to_string()))
    } else {
        FeedError::Malformed(error.to_string())
    }
}

/// Streams the elements of a top-level array.
struct StreamArray<'a> {
    emit: &'a mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
    error: &'a mut Option<FeedError>,
}

impl<'de> DeserializeSeed<'de> for StreamArray<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for StreamArray<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of JSON-LD objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            if let Err(error) = walk(&value, self.emit) {
                *self.error = Some(error);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Finds the postings in a JSON-LD value.
fn walk(
    value: &Value,
    emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
) -> Result<(), FeedError> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| walk(item, emit)),
        Value::Object(object) => {
            if let Some(graph) = object.get("@graph") {
                return walk(graph, emit);
            }
            if has_type(value, "ItemList") {
                let items = object.get("itemListElement").and_then(Value::as_array);
                for element in items.into_iter().flatten() {
                    walk(element.get("item").unwrap_or(element), emit)?;
                }
                return Ok(());
            }
            if has_type(value, "JobPosting") {
                return emit(ParsedItem::Record(Box::new(posting(value))));
            }
            // Pages describe their organisation, breadcrumbs and so on: not offers, not faults.
            tracing::debug!(r#type = ?value.get("@type"), "JSON-LD object ignored");
            Ok(())
        }
        _ => Ok(()),
    }
}

fn has_type(value: &Value, wanted: &str) -> bool {
    let matches = |t: &Value| {
        t.as_str()
            .is_some_and(|t| t == wanted || t.ends_with(&format!("/{wanted}")))
    };
    match value.get("@type") {
        Some(Value::Array(types)) => types.iter().any(matches),
        Some(t) => matches(t),
        None => false,
    }
}

/// Text of a JSON-LD value: a string, a number, or the `name`/`@value`/`value` of an object.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => items.iter().find_map(|v| text(Some(v))),
        Value::Object(o) => text(o.get("name").or(o.get("@value")).or(o.get("value"))),
        _ => None,
    }
}

fn posting(value: &Value) -> FeedRecord {
    let mut record = FeedRecord::default();
    let get = |path: &[&str]| {
        path.iter().try_fold(value, |v, key| match v {
            Value::Array(items) => items.first()?.get(key),
            _ => v.get(key),
        })
    };
    let mut put = |field: Field, found: Option<String>| {
        if let Some(found) = found {
            record.offer(field, found);
        }
    };
    put(Field::Id, text(get(&["identifier", "value"])));
    put(Field::Id, text(get(&["identifier"])));
    put(Field::Id, text(get(&["@id"])));
    put(Field::Id, text(get(&["url"])));
    put(Field::Title, text(get(&["title"])));
    put(Field::Description, text(get(&["description"])));
    put(Field::Employer, text(get(&["hiringOrganization", "name"])));
    put(
        Field::EmployerLogo,
        text(get(&["hiringOrganization", "logo"])),
    );
    put(
        Field::EmployerUrl,
        text(get(&["hiringOrganization", "sameAs"])),
    );
    put(
        Field::Siret,
        text(get(&["hiringOrganization", "identifier"])),
    );
    let address = ["jobLocation", "address"];
    let field_of = |key: &str| {
        let mut path = address.to_vec();
        path.push(key);
        text(get(&path))
    };
    put(Field::City, field_of("addressLocality"));
    put(Field::PostalCode, field_of("postalCode"));
    put(Field::Region, field_of("addressRegion"));
    put(Field::Country, field_of("addressCountry"));
    put(Field::Location, field_of("streetAddress"));
    put(
        Field::Latitude,
        text(get(&["jobLocation", "geo", "latitude"])),
    );
    put(
        Field::Longitude,
        text(get(&["jobLocation", "geo", "longitude"])),
    );
    let employment = match get(&["employmentType"]) {
        Some(Value::Array(types)) => {
            let types: Vec<String> = types.iter().filter_map(|t| text(Some(t))).collect();
            Some(types.join(", "))
        }
        other => text(other),
    };
    let first_type = match get(&["employmentType"]) {
        Some(Value::Array(types)) => types.iter().find_map(|t| text(Some(t))),
        other => text(other),
    };
    put(Field::Contract, first_type);
    put(Field::WorkingTime, employment);
    put(
        Field::SalaryMin,
        text(get(&["baseSalary", "value", "minValue"])),
    );
    put(
        Field::SalaryMax,
        text(get(&["baseSalary", "value", "maxValue"])),
    );
    put(
        Field::SalaryMin,
        text(get(&["baseSalary", "value", "value"])),
    );
    put(
        Field::SalaryPeriod,
        text(get(&["baseSalary", "value", "unitText"])),
    );
    put(Field::PublishedAt, text(get(&["datePosted"])));
    put(Field::ExpiresAt, text(get(&["validThrough"])));
    put(Field::Url, text(get(&["url"])));
    put(Field::Positions, text(get(&["totalJobOpenings"])));
    put(Field::Qualification, text(get(&["qualifications"])));
    put(Field::Experience, text(get(&["experienceRequirements"])));
    put(Field::Sector, text(get(&["industry"])));
    // Each employment type is one of the contract's values (`["FULL_TIME", "CONTRACTOR"]`).
    if let Some(Value::Array(types)) = get(&["employmentType"]) {
        for kind in types.iter().skip(1).filter_map(|t| text(Some(t))) {
            record.add_other(Field::Contract, kind);
        }
    }
    // Further places of work: recorded, and said, since only one is kept.
    if let Some(Value::Array(places)) = value.get("jobLocation") {
        for place in places.iter().skip(1) {
            let locality = ["address", "addressLocality"]
                .iter()
                .try_fold(place, |v, key| v.get(key));
            if let Some(locality) = text(locality) {
                record.add_other(Field::City, locality);
            }
        }
    }
    record.raw_payload = value.to_string();
    record
}

/// The contents of the `<script type="application/ld+json">` elements of an HTML page.
fn embedded_json_ld(page: &str) -> Vec<&str> {
    let lower = page.to_ascii_lowercase();
    let mut scripts = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<script") {
        let tag_start = from + start;
        let Some(tag_len) = lower[tag_start..].find('>') else {
            break;
        };
        let tag = &lower[tag_start..tag_start + tag_len];
        let body_start = tag_start + tag_len + 1;
        let Some(body_len) = lower[body_start..].find("</script") else {
            break;
        };
        if tag.contains("application/ld+json") {
            scripts.push(&page[body_start..body_start + body_len]);
        }
        from = body_start + body_len;
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &str) -> (Vec<FeedRecord>, Vec<String>, Result<(), FeedError>) {
        let mut records = Vec::new();
        let mut skipped = Vec::new();
        let result = read(&mut input.as_bytes(), &mut |item| {
            match item {
                ParsedItem::Record(r) => records.push(*r),
                ParsedItem::Skipped { reason } => skipped.push(reason),
                ParsedItem::Notice { .. } => {}
            }
            Ok(())
        });
        (records, skipped, result)
    }

    const POSTING: &str = r#"{"@context":"https://schema.org","@type":"JobPosting","title":"Agent d'accueil H/F",
        "description":"<p>Accueil du public</p>","identifier":{"@type":"PropertyValue","name":"Mairie","value":"RH-2026-14"},
        "datePosted":"2026-11-02","validThrough":"2026-12-31T00:00","employmentType":["FULL_TIME","TEMPORARY"],
        "hiringOrganization":{"@type":"Organization","name":"Mairie de Cahors","sameAs":"https://www.cahors.fr"},
        "jobLocation":{"@type":"Place","address":{"@type":"PostalAddress","addressLocality":"Cahors","postalCode":"46000","addressCountry":"FR"}},
        "baseSalary":{"@type":"MonetaryAmount","currency":"EUR","value":{"@type":"QuantitativeValue","minValue":1900,"maxValue":2100,"unitText":"MONTH"}}}"#;

    #[test]
    fn a_page_embedding_a_posting_is_read() {
        let page = format!(
            "<!doctype html><html><head><script type=\"application/ld+json\">{POSTING}</script>\
             <script>var x = 1;</script></head><body>Offre</body></html>"
        );
        let (records, _, result) = records(&page);
        result.unwrap();
        let [record] = &records[..] else {
            panic!("{records:?}")
        };
        assert_eq!(record.get(Field::Id), Some("RH-2026-14"));
        assert_eq!(record.get(Field::Employer), Some("Mairie de Cahors"));
        assert_eq!(record.get(Field::PostalCode), Some("46000"));
        assert_eq!(record.get(Field::SalaryMin), Some("1900"));
        assert_eq!(record.get(Field::Contract), Some("FULL_TIME"));
        assert_eq!(
            record.others(Field::Contract).collect::<Vec<_>>(),
            ["TEMPORARY"]
        );
    }

    #[test]
    fn arrays_graphs_and_item_lists_are_walked() {
        let array =
            format!("[{POSTING}, {{\"@type\":\"Organization\",\"name\":\"x\"}}, {POSTING}]");
        let (records, skipped, result) = records(&array);
        result.unwrap();
        assert_eq!((records.len(), skipped.len()), (2, 0));
        let list = format!(
            "{{\"@type\":\"ItemList\",\"itemListElement\":[{{\"@type\":\"ListItem\",\"item\":{POSTING}}}]}}"
        );
        assert_eq!(self::records(&list).0.len(), 1);
        let graph = format!("{{\"@context\":\"https://schema.org\",\"@graph\":[{POSTING}]}}");
        assert_eq!(self::records(&graph).0.len(), 1);
    }

    #[test]
    fn a_truncated_array_is_reported_after_its_complete_postings() {
        let array = format!("[{POSTING}, {POSTING}, {}", &POSTING[..100]);
        let (records, _, result) = records(&array);
        assert_eq!(records.len(), 2);
        assert!(matches!(result, Err(FeedError::Truncated(_))), "{result:?}");
    }
}
