//! RSS 2.0 and Atom 1.0 bodies of a list of licensed offers (a configured feed or a search):
//! each item links to the offer's page and carries a summary, its dates, its contract as a
//! category and its employer; the channel carries the credit of the sources.

use chrono::{DateTime, FixedOffset, Utc};
use relais_licence::{ChannelCredit, Credit};

/// What a feed item shows of an offer.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub key: String,
    pub title: String,
    pub employer: Option<String>,
    pub place: Option<String>,
    /// Contract family (`permanent`…).
    pub contract: String,
    pub created_at: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub credit: Credit,
}

/// What a channel says of itself.
#[derive(Debug, Clone)]
pub(crate) struct Channel<'a> {
    pub title: &'a str,
    /// The channel's own URL (Atom's `id` and `self` link).
    pub self_url: &'a str,
    /// A page showing the same offers.
    pub link: &'a str,
    /// Where offer pages live (`https://host`).
    pub base_url: &'a str,
    pub credit: &'a ChannelCredit,
    /// The feed or collectivité the links count their traffic for (`?via=`).
    pub via: Option<&'a str>,
}

/// Most characters of an item's summary.
const SUMMARY_CHARS: usize = 400;

/// The French name of a contract family, as job seekers read it.
pub(crate) fn contract_name(family: &str) -> &'static str {
    match family {
        "permanent" => "CDI",
        "fixed_term" => "CDD",
        "temporary" => "Intérim",
        "seasonal" => "Saisonnier",
        "self_employed" => "Indépendant",
        "apprenticeship" => "Alternance",
        _ => "Autre contrat",
    }
}

fn summary(item: &Item) -> String {
    let mut text: String = item
        .description
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > SUMMARY_CHARS {
        text = text.chars().take(SUMMARY_CHARS).collect::<String>();
        if let Some(cut) = text.rfind(' ') {
            text.truncate(cut);
        }
        text.push('…');
    }
    let mut lines = Vec::new();
    let heading: Vec<&str> = [item.employer.as_deref(), item.place.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !heading.is_empty() {
        lines.push(format!(
            "{} — {}",
            heading.join(", "),
            contract_name(&item.contract)
        ));
    }
    if !text.is_empty() {
        lines.push(text);
    }
    lines.push(credit_line(&item.credit));
    lines.join("\n\n")
}

/// `Offre France Travail, mise à jour le 02/12/2026. Licence : URL`.
pub(crate) fn credit_line(credit: &Credit) -> String {
    let mut line = credit.source.text.clone();
    if let Some(updated) = credit.updated_at {
        line.push_str(&format!(", mise à jour le {}", updated.format("%d/%m/%Y")));
    }
    line.push('.');
    match &credit.source.licence_url {
        Some(url) => line.push_str(&format!(" {} : {url}", credit.source.licence)),
        None => line.push_str(&format!(" {}.", credit.source.licence)),
    }
    line
}

/// The channel's credit: each source with its licence, and the method page.
fn channel_rights(channel: &Channel<'_>) -> String {
    let mut parts: Vec<String> = channel
        .credit
        .sources
        .iter()
        .map(|source| match &source.licence_url {
            Some(url) => format!("{} ({} : {url})", source.name, source.licence),
            None => format!("{} ({})", source.name, source.licence),
        })
        .collect();
    if parts.is_empty() {
        parts.push("aucune source".to_owned());
    }
    format!(
        "Offres reprises de : {}. Méthode : {}{}",
        parts.join(", "),
        channel.base_url,
        channel.credit.method_url
    )
}

/// The page of the offer `key` (`{base_url}/offres/{key}`): its canonical URL.
pub(crate) fn offer_url(base_url: &str, key: &str) -> String {
    format!("{base_url}/offres/{}", crate::path_segment(key))
}

/// The page of the offer `key` as linked from a feed or a widget: `?via=` names the feed (or
/// the collectivité) whose traffic the visit counts for.
pub(crate) fn offer_link(base_url: &str, key: &str, via: Option<&str>) -> String {
    let url = offer_url(base_url, key);
    match via {
        Some(via) => format!("{url}?via={}", urlencoding_component(via)),
        None => url,
    }
}

fn urlencoding_component(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The channel's date: its offers' last update, else the Unix epoch (a body must not change
/// with the clock, its `ETag` is its hash).
fn channel_updated(channel: &Channel<'_>) -> DateTime<Utc> {
    channel.credit.updated_at.unwrap_or(DateTime::UNIX_EPOCH)
}

/// An RSS 2.0 body.
pub(crate) fn rss(channel: &Channel<'_>, items: &[Item]) -> String {
    let rights = channel_rights(channel);
    let rss_items = items
        .iter()
        .map(|item| {
            let link = offer_url(channel.base_url, &item.key);
            rss::Item {
                title: Some(item.title.clone()),
                link: Some(offer_link(channel.base_url, &item.key, channel.via)),
                description: Some(summary(item)),
                categories: vec![rss::Category {
                    name: contract_name(&item.contract).to_owned(),
                    domain: Some(format!("{}/v1/offers?contract=", channel.base_url)),
                }],
                guid: Some(rss::Guid {
                    value: link,
                    permalink: true,
                }),
                pub_date: item.created_at.map(|d| d.to_rfc2822()),
                dublin_core_ext: item.employer.as_ref().map(|employer| {
                    rss::extension::dublincore::DublinCoreExtension {
                        creators: vec![employer.clone()],
                        ..Default::default()
                    }
                }),
                ..Default::default()
            }
        })
        .collect();
    let updated = channel_updated(channel).to_rfc2822();
    let body = rss::Channel {
        title: channel.title.to_owned(),
        link: channel.link.to_owned(),
        description: rights.clone(),
        language: Some("fr".to_owned()),
        copyright: Some(rights),
        last_build_date: Some(updated.clone()),
        pub_date: Some(updated),
        generator: Some("relais".to_owned()),
        items: rss_items,
        ..Default::default()
    };
    body.to_string()
}

fn fixed(date: DateTime<Utc>) -> DateTime<FixedOffset> {
    date.fixed_offset()
}

/// An Atom 1.0 body.
pub(crate) fn atom(channel: &Channel<'_>, items: &[Item]) -> String {
    use atom_syndication::{Category, Entry, Feed, Link, Person, Text};
    let updated = channel_updated(channel);
    let entries = items
        .iter()
        .map(|item| {
            let link = offer_url(channel.base_url, &item.key);
            let entry_updated = item
                .credit
                .updated_at
                .or(item.created_at)
                .unwrap_or(updated);
            Entry {
                title: Text::plain(item.title.clone()),
                id: link.clone(),
                updated: fixed(entry_updated),
                authors: vec![Person {
                    name: item
                        .employer
                        .clone()
                        .unwrap_or_else(|| item.credit.source.name.clone()),
                    ..Default::default()
                }],
                categories: vec![Category {
                    term: item.contract.clone(),
                    scheme: Some(format!("{}/v1/offers?contract=", channel.base_url)),
                    label: Some(contract_name(&item.contract).to_owned()),
                }],
                links: vec![Link {
                    href: offer_link(channel.base_url, &item.key, channel.via),
                    rel: "alternate".to_owned(),
                    mime_type: Some("text/html".to_owned()),
                    ..Default::default()
                }],
                published: item.created_at.map(fixed),
                rights: Some(Text::plain(credit_line(&item.credit))),
                summary: Some(Text::plain(summary(item))),
                ..Default::default()
            }
        })
        .collect();
    let feed = Feed {
        title: Text::plain(channel.title),
        id: channel.self_url.to_owned(),
        updated: fixed(updated),
        authors: vec![Person {
            name: "relais".to_owned(),
            ..Default::default()
        }],
        links: vec![
            Link {
                href: channel.self_url.to_owned(),
                rel: "self".to_owned(),
                mime_type: Some("application/atom+xml".to_owned()),
                ..Default::default()
            },
            Link {
                href: channel.link.to_owned(),
                rel: "alternate".to_owned(),
                ..Default::default()
            },
        ],
        rights: Some(Text::plain(channel_rights(channel))),
        lang: Some("fr".to_owned()),
        entries,
        ..Default::default()
    };
    feed.to_string()
}
