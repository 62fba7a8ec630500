//! JSON-LD documents and HTML pages, with normalisation. Any input may be refused; none may panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use relais_ingest::feeds::{FeedReader, FeedSourceConfig};

static READER: LazyLock<FeedReader> = LazyLock::new(|| {
    let config: FeedSourceConfig =
        toml::from_str(r#"id = "fuzz"
url = "-"
format = { type = "json_ld" }
"#).expect("config");
    FeedReader::new(&config).expect("reader")
});

fuzz_target!(|data: &[u8]| {
    let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("date");
    let _ = READER.read_stream(&mut &data[..], now, &mut |_| Ok(()));
});
