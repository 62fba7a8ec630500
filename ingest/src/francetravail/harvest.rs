//! Reading the stock under the API's cap: creation-date windows, newest first.
//!
//! A query can only be read up to index 3 149. A window `[floor, max]` is read with `sort=1`
//! (creation date, newest first); when it holds more than 3 150 offers, the creation second `d`
//! of the last offer read becomes the next window's `max` (inclusive), and only the offers created
//! after `d` are kept from this window. Windows are therefore disjoint, cover the whole range, and
//! every call but the last of each window returns a full page: no call is spent on counting or on
//! bisecting. If more than 3 150 offers share one second, that second is split by `origineOffre`.
//!
//! Every page of a window must report the same total as its first page; otherwise the stock moved
//! under the pagination (an offer at a page boundary could be skipped) and the window is read
//! again with half as many pages ([`WindowReader`]), down to one page, a single call that cannot
//! disagree with itself: a sweep makes progress however fast the stock moves.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::client::FranceTravailClient;
use super::wire::{PAGE_SIZE, QUERY_CAP, SearchQuery};
use crate::IngestError;

/// One window read: the offers kept, and where the next window ends.
#[derive(Debug)]
pub(crate) struct WindowRead {
    /// Offers of the window, verbatim, newest first.
    pub offers: Vec<Box<RawValue>>,
    /// Total announced by the window's first page.
    pub total: u64,
    /// `max` of the next window, or `None` when this window reached the floor.
    pub next_max: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Stamp {
    #[serde(rename = "dateCreation")]
    date_creation: Option<String>,
}

/// The creation second of a raw offer.
pub(crate) fn creation_second(raw: &RawValue) -> Option<DateTime<Utc>> {
    let stamp: Stamp = serde_json::from_str(raw.get()).ok()?;
    let at = DateTime::parse_from_rfc3339(stamp.date_creation.as_deref()?)
        .ok()?
        .with_timezone(&Utc);
    at.duration_trunc(TimeDelta::seconds(1)).ok()
}

/// Why a window could not be read.
#[derive(Debug)]
pub(crate) enum WindowError {
    /// A call failed for good.
    Call(IngestError),
    /// The totals of its pages disagreed on every attempt.
    Unstable { attempts: u32 },
    /// More than 3 150 offers were created in one second, even split by origin.
    SecondOverCap { second: DateTime<Utc>, total: u64 },
}

impl From<IngestError> for WindowError {
    fn from(error: IngestError) -> Self {
        WindowError::Call(error)
    }
}

impl std::fmt::Display for WindowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindowError::Call(error) => write!(f, "{error}"),
            WindowError::Unstable { attempts } => {
                write!(f, "page totals kept changing over {attempts} attempts")
            }
            WindowError::SecondOverCap { second, total } => {
                write!(
                    f,
                    "{total} offers created in the second {second}, more than one query can read"
                )
            }
        }
    }
}

/// Most pages a window reads: the API's cap.
const MAX_WINDOW_PAGES: u64 = QUERY_CAP / PAGE_SIZE;

/// Reads windows one after the other, shrinking them while the stock moves under the pagination:
/// a window whose page totals disagree is read again with half as many pages, down to a single
/// page, which is one call and cannot disagree with itself; after a stable window the size grows
/// back. A quiet stock is read in full 21-page windows.
#[derive(Debug)]
pub(crate) struct WindowReader {
    pages: u64,
}

impl WindowReader {
    pub(crate) fn new() -> Self {
        Self {
            pages: MAX_WINDOW_PAGES,
        }
    }

    /// Reads the window `[base.min_creation, max]` of the query `base` (its filters are kept).
    pub(crate) async fn read(
        &mut self,
        client: &FranceTravailClient,
        base: &SearchQuery,
        max: DateTime<Utc>,
    ) -> Result<WindowRead, WindowError> {
        let query = SearchQuery {
            newest_first: true,
            max_creation: Some(max),
            ..base.clone()
        };
        loop {
            match read_pages(client, &query, self.pages * PAGE_SIZE).await? {
                Some(read) => {
                    self.pages = (self.pages * 2).min(MAX_WINDOW_PAGES);
                    return finish_window(client, &query, read).await;
                }
                None if self.pages > 1 => {
                    self.pages = (self.pages / 2).max(1);
                    tracing::warn!(max = %max, pages = self.pages, "the stock moved while paging a window; reading a smaller one");
                }
                None => return Err(WindowError::Unstable { attempts: 1 }),
            }
        }
    }
}

/// All readable pages of a query, or `None` when their totals disagree.
/// Reads at most `limit` results (never past the cap).
async fn read_pages(
    client: &FranceTravailClient,
    query: &SearchQuery,
    limit: u64,
) -> Result<Option<(Vec<Box<RawValue>>, u64)>, IngestError> {
    let first = client.search(&query.with_range(0, PAGE_SIZE - 1)).await?;
    let total = first.total;
    let readable = total.min(limit.clamp(PAGE_SIZE, QUERY_CAP));
    let starts: Vec<u64> = (1..readable.div_ceil(PAGE_SIZE))
        .map(|page| page * PAGE_SIZE)
        .collect();
    let concurrency = client.config().concurrency.max(1);
    let rest: Vec<_> = futures::stream::iter(starts)
        .map(|start| {
            let page = query.with_range(start, (start + PAGE_SIZE).min(readable) - 1);
            async move { client.search(&page).await }
        })
        .buffered(concurrency)
        .try_collect()
        .await?;
    if rest.iter().any(|page| page.total != total) {
        return Ok(None);
    }
    let mut offers = first.offers;
    offers.extend(rest.into_iter().flat_map(|page| page.offers));
    // An offer inserted above while paging shifts the pages: one offer shows on two pages even
    // when a removal kept the total unchanged.
    let mut ids = std::collections::HashSet::with_capacity(offers.len());
    if !offers.iter().all(|offer| ids.insert(offer_id(offer))) {
        return Ok(None);
    }
    Ok(Some((offers, total)))
}

async fn finish_window(
    client: &FranceTravailClient,
    query: &SearchQuery,
    (offers, total): (Vec<Box<RawValue>>, u64),
) -> Result<WindowRead, WindowError> {
    if offers.len() as u64 >= total {
        return Ok(WindowRead {
            offers,
            total,
            next_max: None,
        });
    }
    let Some(boundary) = offers.last().and_then(|o| creation_second(o)) else {
        return Err(IngestError::InvalidResponse {
            url: "search".into(),
            message: "the last offer of a full window has no dateCreation".into(),
        }
        .into());
    };
    let kept: Vec<_> = offers
        .into_iter()
        .filter(|o| creation_second(o).is_none_or(|second| second > boundary))
        .collect();
    if !kept.is_empty() {
        return Ok(WindowRead {
            offers: kept,
            total,
            next_max: Some(boundary),
        });
    }
    // Every offer read shares the boundary second: read that second by origin instead.
    let second = SearchQuery {
        min_creation: Some(boundary),
        max_creation: Some(boundary),
        ..query.clone()
    };
    let mut offers = Vec::new();
    for origin in [1, 2] {
        let by_origin = SearchQuery {
            origin: Some(origin),
            ..second.clone()
        };
        match read_pages(client, &by_origin, QUERY_CAP).await? {
            Some((_, count)) if count > QUERY_CAP => {
                return Err(WindowError::SecondOverCap {
                    second: boundary,
                    total: count,
                });
            }
            Some((part, _)) => offers.extend(part),
            None => return Err(WindowError::Unstable { attempts: 1 }),
        }
    }
    let next_max = boundary - TimeDelta::seconds(1);
    let floor = query.min_creation.unwrap_or(DateTime::<Utc>::MIN_UTC);
    Ok(WindowRead {
        offers,
        total,
        next_max: (next_max >= floor).then_some(next_max),
    })
}

/// The département codes the API knows, in groups of five (the most one query accepts).
pub(crate) fn departement_groups() -> Vec<Vec<String>> {
    let mut codes: Vec<String> = (1..=95)
        .filter(|n| *n != 20)
        .map(|n| format!("{n:02}"))
        .collect();
    codes.extend(
        [
            "2A", "2B", "971", "972", "973", "974", "975", "976", "977", "978",
        ]
        .map(String::from),
    );
    codes.chunks(5).map(<[String]>::to_vec).collect()
}

/// `at` truncated to the second, the API's date precision.
pub(crate) fn to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::seconds(1)).unwrap_or(at)
}

/// The id of a raw offer (empty when it has none).
pub(crate) fn offer_id(raw: &RawValue) -> String {
    #[derive(Deserialize)]
    struct Id {
        id: Option<String>,
    }
    serde_json::from_str::<Id>(raw.get())
        .ok()
        .and_then(|i| i.id)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use relais_model::DepartementCode;

    use super::*;

    #[test]
    fn departement_groups_cover_every_code_once_in_queries_of_at_most_five() {
        let groups = departement_groups();
        assert!(groups.iter().all(|g| !g.is_empty() && g.len() <= 5));
        let codes: Vec<&String> = groups.iter().flatten().collect();
        assert_eq!(codes.len(), 104);
        assert_eq!(
            codes.iter().collect::<std::collections::HashSet<_>>().len(),
            104
        );
        assert!(
            codes.iter().all(|c| DepartementCode::parse(c).is_ok()),
            "every code is a département the model accepts"
        );
    }

    #[test]
    fn creation_second_truncates_to_the_api_precision() {
        let raw =
            RawValue::from_string(r#"{"id":"1","dateCreation":"2024-07-08T10:35:59.445Z"}"#.into())
                .unwrap();
        assert_eq!(
            creation_second(&raw),
            Some("2024-07-08T10:35:59Z".parse().unwrap())
        );
        let none = RawValue::from_string(r#"{"id":"1"}"#.into()).unwrap();
        assert_eq!(creation_second(&none), None);
    }
}
