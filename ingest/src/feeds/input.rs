//! From a downloaded file to a stream of UTF-8: gzip and zip are recognised by their magic bytes,
//! the size once decompressed is bounded, and the text is transcoded from the encoding the
//! configuration names, the byte-order mark, or the XML declaration (UTF-8 otherwise). Invalid
//! bytes become U+FFFD instead of failing the feed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use encoding_rs::Encoding;

use super::record::FeedError;

/// Bytes read ahead to find the XML declaration.
const SNIFF_BYTES: usize = 1024;

/// Opens `path`, decompresses and transcodes it, and hands the UTF-8 stream to `read`.
pub fn with_feed_reader<T>(
    path: &Path,
    encoding: Option<&'static Encoding>,
    max_bytes: u64,
    read: impl FnOnce(&mut dyn BufRead) -> Result<T, FeedError>,
) -> Result<T, FeedError> {
    let mut file = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let magic = file.fill_buf()?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        let gunzip = flate2::bufread::MultiGzDecoder::new(file);
        return decoded(Limited::new(gunzip, max_bytes), encoding, read);
    }
    if magic.starts_with(b"PK\x03\x04") {
        drop(file);
        let mut archive = zip::ZipArchive::new(File::open(path)?)
            .map_err(|e| FeedError::Malformed(format!("zip archive: {e}")))?;
        // The feed is the largest file of the archive (archives sometimes carry a readme).
        let mut largest = None;
        for index in 0..archive.len() {
            let entry = archive
                .by_index(index)
                .map_err(|e| FeedError::Malformed(format!("zip archive: {e}")))?;
            if entry.is_file() && largest.is_none_or(|(_, size)| entry.size() > size) {
                largest = Some((index, entry.size()));
            }
        }
        let (index, _) =
            largest.ok_or_else(|| FeedError::Malformed("the zip archive holds no file".into()))?;
        let entry = archive
            .by_index(index)
            .map_err(|e| FeedError::Malformed(format!("zip archive: {e}")))?;
        return decoded(Limited::new(entry, max_bytes), encoding, read);
    }
    decoded(Limited::new(file, max_bytes), encoding, read)
}

fn decoded<T>(
    raw: impl Read,
    configured: Option<&'static Encoding>,
    read: impl FnOnce(&mut dyn BufRead) -> Result<T, FeedError>,
) -> Result<T, FeedError> {
    let mut raw = BufReader::with_capacity(256 * 1024, raw);
    let head = raw.fill_buf()?;
    let encoding = configured
        .or_else(|| declared_encoding(&head[..head.len().min(SNIFF_BYTES)]))
        .unwrap_or(encoding_rs::UTF_8);
    let transcoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .build(raw);
    let mut reader = BufReader::with_capacity(256 * 1024, transcoded);
    read(&mut reader)
}

/// The `encoding` of an XML declaration (`<?xml version="1.0" encoding="ISO-8859-1"?>`).
pub fn declared_encoding(head: &[u8]) -> Option<&'static Encoding> {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let (_, after) = declaration.split_once("encoding")?;
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let label = after[1..].split(quote).next()?;
    let encoding = Encoding::for_label(label.trim().as_bytes())?;
    // UTF-16 text could not hold an ASCII declaration: the label is wrong, keep the default.
    (encoding != encoding_rs::UTF_16LE && encoding != encoding_rs::UTF_16BE).then_some(encoding)
}

/// A reader that fails once more than `limit` bytes came through it.
#[derive(Debug)]
struct Limited<R> {
    inner: R,
    remaining: u64,
    limit: u64,
}

impl<R> Limited<R> {
    fn new(inner: R, limit: u64) -> Self {
        Self {
            inner,
            remaining: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.remaining {
            return Err(io::Error::other(format!(
                "the feed exceeds the limit of {} MB once decompressed",
                self.limit / (1024 * 1024)
            )));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(
        path: &Path,
        encoding: Option<&'static Encoding>,
        max: u64,
    ) -> Result<String, FeedError> {
        with_feed_reader(path, encoding, max, |reader| {
            let mut text = String::new();
            reader.read_to_string(&mut text)?;
            Ok(text)
        })
    }

    #[test]
    fn windows_1252_declared_in_the_prolog_is_transcoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><jobs><job><title>Agent d'entretien \x96 ".to_vec();
        bytes.extend_from_slice(b"r\xe9gie \x80</title></job></jobs>");
        std::fs::write(&path, bytes).unwrap();
        let text = read_all(&path, None, 1 << 20).unwrap();
        assert!(text.contains("Agent d'entretien – régie €"), "{text}");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        std::fs::write(&path, b"<jobs><job><title>Caf\xe9</title></job></jobs>").unwrap();
        assert!(
            read_all(&path, None, 1 << 20)
                .unwrap()
                .contains("Caf\u{fffd}")
        );
        let latin1 = Encoding::for_label(b"iso-8859-1");
        assert!(read_all(&path, latin1, 1 << 20).unwrap().contains("Café"));
    }

    #[test]
    fn gzip_and_zip_are_opened_and_the_size_limit_holds() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let feed = "<jobs>".to_owned() + &"<job><title>x</title></job>".repeat(10_000) + "</jobs>";
        let gz = dir.path().join("feed.xml.gz");
        let mut encoder =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        encoder.write_all(feed.as_bytes()).unwrap();
        encoder.finish().unwrap();
        assert_eq!(read_all(&gz, None, 1 << 20).unwrap(), feed);
        let error = read_all(&gz, None, 100_000).unwrap_err();
        assert!(error.to_string().contains("exceeds the limit"), "{error}");

        let zipped = dir.path().join("feed.zip");
        let mut writer = zip::ZipWriter::new(File::create(&zipped).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("LISEZMOI.txt", options).unwrap();
        writer.write_all(b"flux des offres").unwrap();
        writer.start_file("offres.xml", options).unwrap();
        writer.write_all(feed.as_bytes()).unwrap();
        writer.finish().unwrap();
        assert_eq!(read_all(&zipped, None, 1 << 20).unwrap(), feed);
    }
}
