//! `/metrics` read by Prometheus's own client library: PyPI `prometheus-client`'s OpenMetrics
//! parser, strict about the format (types, units, `# EOF`), as a scraper would read it.

use std::process::Command;

use serde_json::Value;

use crate::cli::serve;

/// Reads the OpenMetrics text of the file given and prints, as JSON, each family's name and
/// type and each sample's name, labels and value.
const PARSE_METRICS: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
families = []
for family in text_string_to_metric_families(text):
    families.append({
        "name": family.name,
        "type": family.type,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
    })
print(json.dumps(families))
"#;

#[test]
fn metrics_parse_as_openmetrics_and_say_what_the_store_and_the_server_did() {
    let dir = tempfile::tempdir().unwrap();
    let config = relais_tests::offline_config(
        dir.path(),
        &format!(
            "[[sources]]\nid = \"hellowork\"\nname = \"HelloWork\"\nurl = {:?}\nformat = {{ type = \"xml\", preset = \"hellowork\" }}\n\n[[feeds]]\nname = \"lot\"\ntitle = \"Lot\"\nterritory = \"dep:46\"\n",
            relais_tests::feed_fixture("hellowork.xml")
                .display()
                .to_string()
        ),
    );
    let (code, stdout, stderr) =
        relais_tests::relais_with_config(&config, &["sync", "hellowork", "--json"]);
    assert_eq!(code, 0, "{stdout} {stderr}");
    let synced: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let (_serve, base) = serve(&config);
    let http = reqwest::blocking::Client::new();
    assert_eq!(
        http.get(format!("{base}/v1/feeds/lot/offers"))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/offres/hellowork:no-such-offer"))
            .send()
            .unwrap()
            .status(),
        404
    );
    let response = http.get(format!("{base}/metrics")).send().unwrap();
    assert_eq!(response.status(), 200);
    let path = dir.path().join("metrics.txt");
    std::fs::write(&path, response.bytes().unwrap()).unwrap();

    let python = relais_tests::python_with(&["prometheus-client==0.26.0"]);
    let output = Command::new(python)
        .arg("-c")
        .arg(PARSE_METRICS)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the parser refused /metrics: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(&path).unwrap()
    );
    let families: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let family = |name: &str| {
        families
            .iter()
            .find(|family| family["name"] == name)
            .unwrap_or_else(|| {
                let names: Vec<_> = families.iter().map(|family| &family["name"]).collect();
                panic!("no family {name} among {names:?}")
            })
    };
    let sample = |family_name: &str, sample_name: &str, labels: &[(&str, &str)]| {
        family(family_name)["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|sample| {
                sample["name"] == sample_name
                    && labels
                        .iter()
                        .all(|(key, value)| sample["labels"][*key] == *value)
            })
            .map(|sample| sample["value"].as_f64().unwrap())
            .unwrap_or_else(|| panic!("no sample {sample_name} {labels:?}"))
    };
    // No request was refused for a key's limits: that family has no sample, and the parser
    // leaves a family without samples out; when present, it is a counter.
    if let Some(rejections) = families
        .iter()
        .find(|family| family["name"] == "relais_api_rejections")
    {
        assert_eq!(rejections["type"], "counter");
    }
    for (name, kind) in [
        ("relais_http_request_duration_seconds", "histogram"),
        ("relais_source_offers", "gauge"),
        ("relais_sync_runs", "gauge"),
        ("relais_source_last_complete_run_age_seconds", "gauge"),
        ("relais_source_freshness_alarm", "gauge"),
        ("relais_source_withheld", "gauge"),
        ("relais_index_lag_changes", "gauge"),
        ("relais_index_ready", "gauge"),
    ] {
        assert_eq!(family(name)["type"], kind, "{name}");
    }
    assert_eq!(
        sample(
            "relais_source_offers",
            "relais_source_offers",
            &[("source", "hellowork"), ("status", "active")]
        ),
        synced["new"].as_f64().unwrap()
    );
    assert_eq!(
        sample(
            "relais_sync_runs",
            "relais_sync_runs",
            &[("source", "hellowork"), ("outcome", "complete")]
        ),
        1.0
    );
    assert_eq!(sample("relais_index_ready", "relais_index_ready", &[]), 1.0);
    // The two requests, by route template: the offer's key is no label.
    assert!(
        sample(
            "relais_http_request_duration_seconds",
            "relais_http_request_duration_seconds_count",
            &[("route", "/v1/feeds/{feed}/offers"), ("status", "2xx")]
        ) >= 1.0
    );
    assert!(
        sample(
            "relais_http_request_duration_seconds",
            "relais_http_request_duration_seconds_count",
            &[("route", "/offres/{key}"), ("status", "4xx")]
        ) >= 1.0
    );
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("no-such-offer")
    );
}
