//! A partner feed tried without a run (`relais check`): fetched and read as a run reads it, up to
//! a number of offers, and nothing written anywhere.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::fetch::{Fetched, Validators, fetch, shown_url};
use super::{FeedError, FeedReader, FeedSourceConfig, ReadItem};
use crate::IngestError;

/// What reading the start of a feed found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedProbe {
    /// Bytes downloaded (compressed).
    pub bytes: u64,
    /// Offers read (at most the number asked).
    pub offers: u64,
    /// Records that could not be offers, among those read.
    pub rejected: u64,
    /// Why the first of them was refused.
    pub first_rejection: Option<String>,
    /// The feed was read to its end (it holds fewer offers than asked).
    pub read_whole: bool,
}

/// Downloads the feed of `config` into `work_dir` and reads up to `max_offers` offers of it
/// with its mapping, writing nothing.
pub async fn probe_feed(
    config: &FeedSourceConfig,
    work_dir: &Path,
    max_offers: u64,
) -> Result<FeedProbe, IngestError> {
    let reader = FeedReader::new(config)?;
    let limits = &config.limits;
    // No validators: a fetch is never "not modified".
    let Fetched::Feed(feed) = fetch(
        &config.url,
        &Validators::default(),
        work_dir,
        Duration::from_secs(limits.timeout_seconds),
        limits.max_download_mb * 1024 * 1024,
    )
    .await?
    else {
        return Err(IngestError::Fetch {
            url: shown_url(&config.url),
            message: "answered `not modified` to a request without validators".into(),
        });
    };
    let url = shown_url(&config.url);
    tokio::task::spawn_blocking(move || {
        let mut probe = FeedProbe {
            bytes: feed.bytes,
            ..FeedProbe::default()
        };
        let read = reader.read(&feed.path, Utc::now(), &mut |item| {
            match item {
                ReadItem::Offer(..) => {
                    probe.offers += 1;
                    if probe.offers >= max_offers {
                        return Err(FeedError::Stopped);
                    }
                }
                ReadItem::Rejected(why) => {
                    probe.rejected += 1;
                    probe.first_rejection.get_or_insert(why);
                }
                ReadItem::Notice(_) => {}
            }
            Ok(())
        });
        match read {
            Ok(()) => probe.read_whole = true,
            Err(FeedError::Stopped) => {}
            Err(error) => {
                return Err(IngestError::Unreadable {
                    url,
                    message: error.to_string(),
                });
            }
        }
        Ok(probe)
    })
    .await
    .map_err(|error| IngestError::Client(format!("the feed's reader stopped: {error}")))?
}
