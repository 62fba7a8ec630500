//! XML and RSS feeds, read as a stream of records through a declarative mapping.
//!
//! The reader keeps only the record being read: the elements of the record that the mapping
//! names collect their text (descendants' text included, so `<title><a>…</a></title>` gives the
//! link's text), and the record's events are written back as its raw payload. Nothing of a DTD
//! is used: no external entity is fetched and no declared entity is expanded (an unknown
//! `&name;` stays as written, with a warning), so an entity bomb is inert text.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;
use relais_model::WarningKind;

use super::config::{FeedFormat, Field, XmlMapping, preset};
use super::record::{FeedError, FeedRecord, ParsedItem, RecordReader};

/// A resolved mapping, ready to read records.
#[derive(Debug, Clone)]
pub struct XmlReaderSpec {
    /// The mapping as resolved (preset and overrides).
    pub mapping: XmlMapping,
    record_path: Vec<String>,
    /// Element paths (relative to the record) whose text is wanted, with their slot.
    element_slots: HashMap<String, usize>,
    /// `(element path, attribute)` pairs wanted, with their slot.
    attribute_slots: HashMap<(String, String), usize>,
    /// For each field, its slots in order of preference.
    field_slots: Vec<(Field, Vec<usize>)>,
    slot_count: usize,
    /// Fields given as constants.
    constants: Vec<(Field, String)>,
    /// Each slot's path as the mapping writes it, with its field (for the notices of paths
    /// that matched nothing).
    slot_paths: Vec<(Field, String)>,
}

impl XmlReaderSpec {
    /// The spec of an `xml` or `rss` format.
    pub fn from_format(format: &FeedFormat) -> Result<Self, String> {
        let mapping = match format {
            FeedFormat::Xml {
                preset: name,
                mapping,
            } => {
                let base = match name {
                    Some(name) => preset(name).map_err(|e| e.to_string())?,
                    None => XmlMapping::default(),
                };
                match mapping {
                    Some(overrides) => base.overlaid(overrides),
                    None if name.is_none() => {
                        return Err("an xml source needs a `preset` or a `mapping`".into());
                    }
                    None => base,
                }
            }
            FeedFormat::Rss {
                preset: name,
                mapping,
            } => {
                let mut base = preset("rss").map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    base = base.overlaid(&preset(name).map_err(|e| e.to_string())?);
                }
                match mapping {
                    Some(overrides) => base.overlaid(overrides),
                    None => base,
                }
            }
            _ => return Err("not an xml format".into()),
        };
        Self::new(mapping)
    }

    /// The spec of a mapping.
    pub fn new(mapping: XmlMapping) -> Result<Self, String> {
        let record = mapping
            .record
            .as_deref()
            .filter(|r| !r.trim().is_empty())
            .ok_or("the mapping has no `record` element")?;
        for required in [Field::Id, Field::Title] {
            if !mapping.fields.contains_key(&required) {
                return Err(format!("the mapping has no `{}` path", required.name()));
            }
        }
        if let Some(values) = &mapping.contract_values {
            for (label, family) in values {
                if super::normalise::contract_kind_named(family).is_none() {
                    return Err(format!(
                        "contract value `{label}`: unknown family `{family}`"
                    ));
                }
            }
        }
        if let Some(family) = &mapping.default_contract
            && super::normalise::contract_kind_named(family).is_none()
        {
            return Err(format!("default_contract: unknown family `{family}`"));
        }
        if let Some(zone) = &mapping.timezone {
            zone.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("unknown time zone `{zone}`"))?;
        }
        for format in mapping.date_formats.iter().flatten() {
            super::normalise::check_date_format(format)?;
        }
        let mut spec = Self {
            record_path: record.split('/').map(str::to_owned).collect(),
            element_slots: HashMap::new(),
            attribute_slots: HashMap::new(),
            field_slots: Vec::new(),
            slot_count: 0,
            constants: Vec::new(),
            slot_paths: Vec::new(),
            mapping: mapping.clone(),
        };
        for (field, paths) in &mapping.fields {
            if let Some(constant) = paths.constant() {
                if constant.trim().is_empty() {
                    return Err(format!("`{}` has an empty constant", field.name()));
                }
                spec.constants.push((*field, constant.to_owned()));
                continue;
            }
            let mut slots = Vec::new();
            for path in paths.as_slice() {
                let path = path.trim().trim_matches('/');
                let slot = match path.rsplit_once('@') {
                    Some((element, attribute)) => {
                        let key = (
                            element.trim_end_matches('/').to_owned(),
                            attribute.to_owned(),
                        );
                        let next = spec.slot_count;
                        *spec.attribute_slots.entry(key).or_insert(next)
                    }
                    None if path.is_empty() => {
                        return Err(format!("`{}` has an empty path", field.name()));
                    }
                    None => {
                        let next = spec.slot_count;
                        *spec.element_slots.entry(path.to_owned()).or_insert(next)
                    }
                };
                if slot == spec.slot_count {
                    spec.slot_count += 1;
                    spec.slot_paths.push((*field, path.to_owned()));
                }
                slots.push(slot);
            }
            spec.field_slots.push((*field, slots));
        }
        Ok(spec)
    }

    /// Reads every record of `input`, handing each to `emit`. Fails on malformed or truncated XML,
    /// after the records before the fault were handed over.
    pub fn read(
        &self,
        input: &mut dyn BufRead,
        emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
    ) -> Result<(), FeedError> {
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = true;
        let mut buf = Vec::with_capacity(64 * 1024);
        // Names of the open elements, from the root.
        let mut stack: Vec<String> = Vec::new();
        let mut current: Option<RecordInProgress> = None;
        // Which slots gave a value to at least one record.
        let mut matched = vec![false; self.slot_count];
        let mut records = 0_u64;
        loop {
            let position = reader.buffer_position();
            let event = reader.read_event_into(&mut buf).map_err(|e| {
                if stack.is_empty() {
                    FeedError::Malformed(format!("at byte {position}: {e}"))
                } else if matches!(e, quick_xml::Error::Syntax(_)) {
                    FeedError::Truncated(format!("at byte {position}: {e}"))
                } else {
                    FeedError::Malformed(format!("at byte {position}: {e}"))
                }
            })?;
            match event {
                Event::Start(start) => {
                    let name = start.name().as_ref().to_owned();
                    stack.push(name);
                    match &mut current {
                        Some(record) => {
                            record.open(self, &stack, &start);
                            record.write(Event::Start(start));
                        }
                        None if self.is_record(&stack) => {
                            let mut record = RecordInProgress::new(self, stack.len());
                            record.open(self, &stack, &start);
                            record.write(Event::Start(start));
                            current = Some(record);
                        }
                        None => {}
                    }
                }
                Event::Empty(start) => {
                    let name = start.name().as_ref().to_owned();
                    stack.push(name);
                    if let Some(record) = &mut current {
                        record.open(self, &stack, &start);
                        record.close();
                        record.write(Event::Empty(start));
                    }
                    stack.pop();
                }
                Event::End(end) => {
                    if let Some(record) = &mut current {
                        record.write(Event::End(end));
                        if stack.len() == record.depth {
                            let record = current.take().expect("a record is open");
                            for (slot, value) in record.values.iter().enumerate() {
                                if value.as_deref().is_some_and(|v| !v.trim().is_empty()) {
                                    matched[slot] = true;
                                }
                            }
                            records += 1;
                            emit(ParsedItem::Record(Box::new(record.finish(self))))?;
                        } else {
                            record.close();
                        }
                    }
                    stack.pop();
                }
                Event::Text(text) => {
                    if let Some(record) = &mut current {
                        record.append(&text.xml10_content());
                        record.write(Event::Text(text));
                    }
                }
                Event::CData(data) => {
                    if let Some(record) = &mut current {
                        record.append(&data.xml10_content());
                        record.write(Event::CData(data));
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some(record) = &mut current {
                        let name = reference.xml10_content();
                        match resolve_reference(&name) {
                            Some(resolved) => record.append(&resolved),
                            None => {
                                record.append(&format!("&{name};"));
                                record.record.warn(
                                    WarningKind::MalformedMarkup,
                                    "xml",
                                    format!("entity `&{name};` is not expanded"),
                                );
                            }
                        }
                        record.write(Event::GeneralRef(reference));
                    }
                }
                Event::Eof => {
                    if !stack.is_empty() {
                        return Err(FeedError::Truncated(format!(
                            "the document ends inside <{}>",
                            stack.join("/")
                        )));
                    }
                    // A mapped path that matched nothing in a whole feed is a mapping to check:
                    // said once per feed, every such path in one notice.
                    let unmatched: Vec<String> = self
                        .slot_paths
                        .iter()
                        .zip(&matched)
                        .filter(|(_, matched)| !**matched)
                        .map(|((field, path), _)| format!("`{path}` of `{}`", field.name()))
                        .collect();
                    if records > 0 && !unmatched.is_empty() {
                        let paths = if unmatched.len() == 1 {
                            "path"
                        } else {
                            "paths"
                        };
                        emit(ParsedItem::Notice {
                            message: format!(
                                "the {paths} {} matched none of the {records} records",
                                unmatched.join(", ")
                            ),
                        })?;
                    }
                    return Ok(());
                }
                // Declarations, processing instructions, comments and the DTD carry no offer.
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
            buf.clear();
        }
    }

    fn is_record(&self, stack: &[String]) -> bool {
        stack.len() >= self.record_path.len() && stack.ends_with(&self.record_path)
    }
}

impl RecordReader for XmlReaderSpec {
    fn read_records(
        &self,
        input: &mut dyn BufRead,
        emit: &mut dyn FnMut(ParsedItem) -> Result<(), FeedError>,
    ) -> Result<(), FeedError> {
        self.read(input, emit)
    }
}

/// `&#233;`, `&amp;`, `&eacute;`: characters and the predefined (XML and HTML5) entities.
fn resolve_reference(name: &str) -> Option<String> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code)
            .filter(|c| *c != '\0')
            .map(String::from);
    }
    quick_xml::escape::resolve_predefined_entity(name).map(str::to_owned)
}

/// The record being read.
struct RecordInProgress {
    /// Depth of the record element in the document.
    depth: usize,
    /// Path of each open element below the record, with where its text goes.
    open: Vec<(String, Target)>,
    values: Vec<Option<String>>,
    /// Further occurrences of mapped elements: `(slot, text)`.
    repeats: Vec<(usize, String)>,
    raw: quick_xml::Writer<Vec<u8>>,
    record: FeedRecord,
}

/// Where an open element's text goes.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The first occurrence of a mapped element: its field's value.
    Slot(usize),
    /// A further occurrence: one of the field's further values.
    Repeat(usize),
    /// Not mapped.
    None,
}

impl RecordInProgress {
    fn new(spec: &XmlReaderSpec, depth: usize) -> Self {
        Self {
            depth,
            open: Vec::new(),
            values: vec![None; spec.slot_count],
            repeats: Vec::new(),
            raw: quick_xml::Writer::new(Vec::with_capacity(4096)),
            record: FeedRecord::default(),
        }
    }

    /// An element opens at the top of `stack`.
    fn open(
        &mut self,
        spec: &XmlReaderSpec,
        stack: &[String],
        start: &quick_xml::events::BytesStart<'_>,
    ) {
        let relative = stack[self.depth..].join("/");
        if !spec.attribute_slots.is_empty() {
            for attribute in start.attributes().flatten() {
                let key = (relative.clone(), attribute.key.as_ref().to_owned());
                if let Some(&slot) = spec.attribute_slots.get(&key)
                    && self.values[slot].is_none()
                {
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_else(|_| attribute.value.clone().into_owned());
                    self.values[slot] = Some(value);
                }
            }
        }
        if stack.len() > self.depth {
            // The first occurrence of a repeated element is the field's value; the next ones are
            // kept as its further values.
            let target = match spec.element_slots.get(&relative).copied() {
                Some(slot) if self.values[slot].is_none() => {
                    self.values[slot] = Some(String::new());
                    Target::Slot(slot)
                }
                Some(slot) => {
                    self.repeats.push((slot, String::new()));
                    Target::Repeat(self.repeats.len() - 1)
                }
                None => Target::None,
            };
            self.open.push((relative, target));
        }
    }

    fn close(&mut self) {
        self.open.pop();
    }

    fn append(&mut self, text: &str) {
        for (_, target) in &self.open {
            match *target {
                Target::Slot(slot) => {
                    if let Some(value) = &mut self.values[slot] {
                        value.push_str(text);
                    }
                }
                Target::Repeat(index) => self.repeats[index].1.push_str(text),
                Target::None => {}
            }
        }
    }

    fn write(&mut self, event: Event<'_>) {
        // Writing to a Vec cannot fail.
        let _ = self.raw.write_event(event);
    }

    fn finish(mut self, spec: &XmlReaderSpec) -> FeedRecord {
        for (field, slots) in &spec.field_slots {
            let values = slots
                .iter()
                .filter_map(|&slot| self.values[slot].as_deref())
                .map(str::trim)
                .filter(|v| !v.is_empty());
            if *field == Field::Description {
                let joined: Vec<&str> = values.collect();
                if !joined.is_empty() {
                    self.record.set(*field, joined.join("\n\n"));
                }
            } else if let Some(first) = values.into_iter().next() {
                self.record.set(*field, first);
            }
            for (slot, value) in &self.repeats {
                if slots.contains(slot) {
                    self.record.add_other(*field, value.as_str());
                }
            }
        }
        for (field, constant) in &spec.constants {
            self.record.set(*field, constant.as_str());
        }
        self.record.raw_payload = String::from_utf8_lossy(&self.raw.into_inner()).into_owned();
        self.record
    }
}

#[cfg(test)]
mod tests;
