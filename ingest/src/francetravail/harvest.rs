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
//!
//! Windows are read ahead so that the API's latency costs nothing: a window's last page is asked
//! first, and its last offer gives the next window's `max` and, counted back, its total; the
//! next window's pages are then sent while this window's are still answering. Every page of every
//! window is sent at once and the client's rate limiter paces them, so the calls in flight are
//! the rate times the latency, whatever the latency.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

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

/// Windows read ahead at most: enough for the latency of a window's slowest page.
const WINDOWS_AHEAD: usize = 3;

/// Reads windows one after the other, shrinking them while the stock moves under the pagination:
/// a window whose page totals disagree is read again with half as many pages, down to a single
/// page, which is one call and cannot disagree with itself; after a stable window the size grows
/// back. A quiet stock is read in full 21-page windows, each sent as soon as the window before
/// has named it, while that one's pages are still answering.
#[derive(Debug)]
pub(crate) struct WindowReader {
    client: Arc<FranceTravailClient>,
    /// Told when the pages of what should be the last window have asked for their turn.
    last_window: Option<Arc<Notify>>,
    pages: u64,
    /// Windows being read, in order: the first is the one asked next.
    windows: VecDeque<PendingWindow>,
    /// The last window's announcement of the one after it, while awaited.
    announcement: Option<oneshot::Receiver<NextWindow>>,
}

/// What a window's last page says of the next window before the window's other pages are in.
#[derive(Debug, Clone, Copy)]
struct NextWindow {
    max: DateTime<Utc>,
    /// Offers the next window holds, if the stock does not move.
    total: u64,
}

/// Pages of one window, read by a task of their own.
#[derive(Debug)]
struct PendingWindow {
    query: SearchQuery,
    /// What its last page said of the next window, once it said it.
    announced: Option<NextWindow>,
    /// Aborted when dropped: a window read ahead for nothing stops calling.
    task: JoinSet<Result<Option<Pages>, IngestError>>,
}

/// The offers of a window's pages in order, and the total they all reported.
type Pages = (Vec<Box<RawValue>>, u64);

impl WindowReader {
    pub(crate) fn new(client: Arc<FranceTravailClient>) -> Self {
        Self {
            client,
            last_window: None,
            pages: MAX_WINDOW_PAGES,
            windows: VecDeque::new(),
            announcement: None,
        }
    }

    /// Tells `last_window` when the pages of a window expected to be the last are sent.
    pub(crate) fn signalling(self, last_window: Arc<Notify>) -> Self {
        Self {
            last_window: Some(last_window),
            ..self
        }
    }

    /// Reads the window `[base.min_creation, max]` of the query `base` (its filters are kept).
    pub(crate) async fn read(
        &mut self,
        base: &SearchQuery,
        max: DateTime<Utc>,
    ) -> Result<WindowRead, WindowError> {
        let query = SearchQuery {
            newest_first: true,
            max_creation: Some(max),
            ..base.clone()
        };
        if self
            .windows
            .front()
            .is_none_or(|window| window.query != query)
        {
            self.restart(query.clone());
        }
        loop {
            let read = self.next_pages().await?;
            match read {
                Some(pages) => {
                    self.pages = (self.pages * 2).min(MAX_WINDOW_PAGES);
                    let total = pages.1;
                    let announced = self.windows.pop_front().and_then(|w| w.announced);
                    let window = finish_window(&self.client, &query, pages).await?;
                    // The windows read ahead follow only if this one ends where its last page
                    // said.
                    let followed = window.next_max.zip(announced).is_some_and(|(max, next)| {
                        max == next.max && total - window.offers.len() as u64 == next.total
                    });
                    if !followed {
                        self.windows.clear();
                        self.announcement = None;
                    }
                    tracing::debug!(%max, offers = window.offers.len(), followed, "window read");
                    return Ok(window);
                }
                None if self.pages > 1 => {
                    self.pages = (self.pages / 2).max(1);
                    tracing::warn!(max = %max, pages = self.pages, "the stock moved while paging a window; reading a smaller one");
                    self.restart(query.clone());
                }
                None => return Err(WindowError::Unstable { attempts: 1 }),
            }
        }
    }

    /// The pages of the first window, starting the windows after it as they are named.
    async fn next_pages(&mut self) -> Result<Option<Pages>, IngestError> {
        loop {
            let can_start = self.windows.len() <= WINDOWS_AHEAD;
            let head = self.windows.front_mut().expect("a window is being read");
            // An announcement first: the window it names goes out before this one is handed on.
            tokio::select! {
                biased;
                next = async { self.announcement.as_mut().expect("guarded").await },
                    if can_start && self.announcement.is_some() =>
                {
                    self.announcement = None;
                    if let Ok(next) = next {
                        let last = self.windows.back_mut().expect("a window is being read");
                        last.announced = Some(next);
                        let query = SearchQuery {
                            max_creation: Some(next.max),
                            ..last.query.clone()
                        };
                        self.start(query, Some(next.total));
                    }
                }
                done = head.task.join_next() => match done {
                    Some(Ok(read)) => return read,
                    Some(Err(error)) if error.is_panic() => {
                        std::panic::resume_unwind(error.into_panic())
                    }
                    _ => unreachable!("a window's task is never aborted while awaited"),
                },
            }
        }
    }

    /// Drops every window being read and starts `query`'s.
    fn restart(&mut self, query: SearchQuery) {
        self.windows.clear();
        self.start(query, None);
    }

    /// Starts reading the pages of `query`'s window after the others; `total` is what the
    /// window is expected to hold, when the window before said it.
    fn start(&mut self, query: SearchQuery, total: Option<u64>) {
        let (announce, announcement) = oneshot::channel();
        let mut task = JoinSet::new();
        let client = Arc::clone(&self.client);
        let limit = self.pages * PAGE_SIZE;
        let last_window = self
            .last_window
            .clone()
            .filter(|_| total.is_some_and(|total| total <= limit));
        let window = query.clone();
        task.spawn(async move {
            let read =
                read_pages(&client, &window, limit, total, Some(announce), last_window).await;
            match read {
                // A page asked past a total that shrank: the API may refuse its range.
                Err(IngestError::BadRequest { .. }) if total.is_some() => Ok(None),
                read => read,
            }
        });
        self.announcement = Some(announcement);
        self.windows.push_back(PendingWindow {
            query,
            announced: None,
            task,
        });
    }
}

/// All readable pages of a query, or `None` when their totals disagree. Reads at most `limit`
/// results (never past the cap). With `expected` (the total the window should hold), every page
/// is sent at once; without, the first page tells the total first. The last page is asked first:
/// once in, `announce` receives the next window (unless this window is the last). `queued` is
/// told once every page has asked the client for its turn.
async fn read_pages(
    client: &FranceTravailClient,
    query: &SearchQuery,
    limit: u64,
    expected: Option<u64>,
    mut announce: Option<oneshot::Sender<NextWindow>>,
    queued: Option<Arc<Notify>>,
) -> Result<Option<Pages>, IngestError> {
    let page_of = |start: u64, readable: u64| {
        query.with_range(start, (start + PAGE_SIZE).min(readable.max(start + 1)) - 1)
    };
    let mut pages = BTreeMap::new();
    let planned = match expected {
        Some(total) => total,
        None => {
            let first = client.search(&page_of(0, PAGE_SIZE)).await?;
            let total = first.total;
            pages.insert(0, first);
            total
        }
    };
    let readable = planned.min(limit.clamp(PAGE_SIZE, QUERY_CAP)).max(1);
    let mut starts: Vec<u64> = (0..readable.div_ceil(PAGE_SIZE))
        .map(|page| page * PAGE_SIZE)
        .filter(|start| !pages.contains_key(start))
        .collect();
    let last = (readable - 1) / PAGE_SIZE * PAGE_SIZE;
    starts.sort_by_key(|start| *start != last);
    let mut answers = futures::stream::iter(starts)
        .map(|start| {
            let page = page_of(start, readable);
            async move { (start, client.search(&page).await) }
        })
        .buffer_unordered(MAX_WINDOW_PAGES as usize + 1);
    let mut total = pages
        .values()
        .next()
        .map(|page: &super::wire::SearchPage| page.total);
    // One poll makes every page ask for its turn, in order.
    let mut polled = futures::poll!(answers.next());
    if let Some(queued) = queued {
        queued.notify_one();
    }
    loop {
        let answer = match polled {
            std::task::Poll::Ready(answer) => answer,
            std::task::Poll::Pending => answers.next().await,
        };
        polled = std::task::Poll::Pending;
        let Some((start, page)) = answer else {
            break;
        };
        let page = page?;
        if *total.get_or_insert(page.total) != page.total {
            return Ok(None);
        }
        if start == last
            && let Some(next) = next_window(&page.offers, start, page.total, readable)
            && let Some(announce) = announce.take()
        {
            let _ = announce.send(next);
        }
        pages.insert(start, page);
    }
    let total = total.unwrap_or(0);
    let offers: Vec<Box<RawValue>> = pages.into_values().flat_map(|page| page.offers).collect();
    // An offer inserted above while paging shifts the pages: one offer shows on two pages even
    // when a removal kept the total unchanged.
    let mut ids = std::collections::HashSet::with_capacity(offers.len());
    if !offers.iter().all(|offer| ids.insert(offer_id(offer))) {
        return Ok(None);
    }
    Ok(Some((offers, total)))
}

/// The next window, told by the last page of a window that is not the last: its `max` is the
/// creation second of the page's last offer (as [`finish_window`] finds it), and it holds the
/// window's total less the offers created after that second. `None` when that count cannot be
/// read from the page alone (the whole page shares the second, or dates are missing).
fn next_window(
    offers: &[Box<RawValue>],
    start: u64,
    total: u64,
    readable: u64,
) -> Option<NextWindow> {
    if start + offers.len() as u64 >= total || start + (offers.len() as u64) < readable {
        return None;
    }
    let seconds: Vec<Option<DateTime<Utc>>> = offers.iter().map(|o| creation_second(o)).collect();
    let boundary = (*seconds.last()?)?;
    let first_at_boundary = seconds.iter().position(|s| *s == Some(boundary))?;
    let ordered = seconds[..first_at_boundary]
        .iter()
        .all(|s| s.is_some_and(|s| s > boundary))
        && seconds[first_at_boundary..]
            .iter()
            .all(|s| *s == Some(boundary));
    (first_at_boundary > 0 && ordered).then(|| NextWindow {
        max: boundary,
        total: total - (start + first_at_boundary as u64),
    })
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
        match read_pages(client, &by_origin, QUERY_CAP, None, None, None).await? {
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
