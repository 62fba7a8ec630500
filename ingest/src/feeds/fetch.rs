//! Getting a feed: HTTP(S) with conditional requests (an unchanged feed answers 304 and costs
//! nothing), a time-out and a size limit, streamed to a file; or a local file, unchanged when its
//! size and modification time are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::IngestError;

/// What tells whether a feed changed since it was last read completely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// HTTP `ETag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// HTTP `Last-Modified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// A local file's size and modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// A feed ready to be read.
#[derive(Debug)]
pub struct FetchedFeed {
    /// The file to read.
    pub path: PathBuf,
    /// Removes the download when dropped (`None` for a local file).
    _download: Option<tempfile::TempPath>,
    /// Validators of this version.
    pub validators: Validators,
    /// Bytes fetched (compressed size).
    pub bytes: u64,
}

/// The outcome of a fetch.
#[derive(Debug)]
pub enum Fetched {
    /// Same version as the last complete read.
    NotModified,
    /// A new version.
    Feed(FetchedFeed),
}

/// `url` as it may be shown in reports and logs: boards put API keys in the query string or the
/// user info, so both are dropped.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            let hidden = parsed.query().is_some();
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            let mut shown = parsed.to_string();
            if hidden {
                shown.push_str("?…");
            }
            shown
        }
        _ => url.split('?').next().unwrap_or_default().to_owned(),
    }
}

/// Fetches `url` into `work_dir`, conditionally on `previous`.
pub async fn fetch(
    url: &str,
    previous: &Validators,
    work_dir: &Path,
    timeout: Duration,
    max_bytes: u64,
) -> Result<Fetched, IngestError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        return tokio::time::timeout(timeout, fetch_http(url, previous, work_dir, max_bytes))
            .await
            .map_err(|_| IngestError::Fetch {
                url: shown_url(url),
                message: format!("no complete answer within {} s", timeout.as_secs()),
            })?;
    }
    let path = PathBuf::from(url.strip_prefix("file://").unwrap_or(url));
    let metadata = tokio::fs::metadata(&path)
        .await
        .map_err(|e| IngestError::Fetch {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    let modified = metadata
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let validators = Validators {
        file: Some(format!("{}:{modified}", metadata.len())),
        ..Validators::default()
    };
    if previous.file.is_some() && *previous == validators {
        return Ok(Fetched::NotModified);
    }
    Ok(Fetched::Feed(FetchedFeed {
        path,
        _download: None,
        validators,
        bytes: metadata.len(),
    }))
}

async fn fetch_http(
    url: &str,
    previous: &Validators,
    work_dir: &Path,
    max_bytes: u64,
) -> Result<Fetched, IngestError> {
    let failure = |message: String| IngestError::Fetch {
        url: shown_url(url),
        message,
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| IngestError::Client(e.to_string()))?;
    // Compressed transfer is asked for; the reader recognises gzip by its magic bytes.
    let mut request = client.get(url).header("Accept-Encoding", "gzip");
    if let Some(etag) = &previous.etag {
        request = request.header("If-None-Match", etag);
    }
    if let Some(modified) = &previous.last_modified {
        request = request.header("If-Modified-Since", modified);
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| failure(e.without_url().to_string()))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(IngestError::UnexpectedStatus {
            status: status.as_u16(),
            url: shown_url(url),
        });
    }
    if let Some(length) = response.content_length()
        && length > max_bytes
    {
        return Err(failure(format!(
            "announces {length} bytes, more than the limit of {max_bytes}"
        )));
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header("etag"),
        last_modified: header("last-modified"),
        file: None,
    };
    tokio::fs::create_dir_all(work_dir)
        .await
        .map_err(|e| failure(format!("cannot create `{}`: {e}", work_dir.display())))?;
    let download = tempfile::Builder::new()
        .prefix("feed-")
        .tempfile_in(work_dir)
        .map_err(|e| failure(format!("cannot create a download file: {e}")))?;
    let (file, path) = download.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    let mut bytes = 0_u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failure(e.without_url().to_string()))?
    {
        bytes += chunk.len() as u64;
        if bytes > max_bytes {
            return Err(failure(format!("more than the limit of {max_bytes} bytes")));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| failure(format!("cannot write the download: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| failure(format!("cannot write the download: {e}")))?;
    Ok(Fetched::Feed(FetchedFeed {
        path: path.to_path_buf(),
        _download: Some(path),
        validators,
        bytes,
    }))
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn keys_in_urls_are_not_shown() {
        assert_eq!(
            shown_url("https://user:s3cret@feeds.example/jobs.xml?key=s3cret&country=fr"),
            "https://feeds.example/jobs.xml?…"
        );
        assert_eq!(
            shown_url("https://feeds.example/jobs.xml"),
            "https://feeds.example/jobs.xml"
        );
        assert_eq!(shown_url("/var/feeds/jobs.xml"), "/var/feeds/jobs.xml");
    }
}
