use std::collections::BTreeSet;

use crate::{ApiError, parameter_names};

fn document() -> serde_json::Value {
    serde_json::to_value(super::document()).unwrap()
}

#[test]
fn the_document_is_openapi_3_1_and_lists_every_search_parameter() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let documented: BTreeSet<String> = document["paths"]["/v1/offers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    let accepted: BTreeSet<String> = parameter_names().map(str::to_owned).collect();
    assert_eq!(documented, accepted);
    for route in [
        "/v1/offers",
        "/v1/offers/{key}",
        "/v1/feeds",
        "/v1/feeds/{feed}/offers",
        "/healthz",
        "/readyz",
        "/openapi.json",
    ] {
        assert!(
            document["paths"][route]["get"].is_object(),
            "{route} missing"
        );
    }
}

#[test]
fn the_error_codes_of_the_document_are_those_of_the_api() {
    let document = document();
    let documented: BTreeSet<String> = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let codes: BTreeSet<String> = ApiError::CODES.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(documented, codes);
    // Each status an error can have is documented on the routes that answer it.
    let search = &document["paths"]["/v1/offers"]["get"]["responses"];
    for status in ["200", "400", "500"] {
        assert!(search[status].is_object(), "/v1/offers {status}");
    }
    let detail = &document["paths"]["/v1/offers/{key}"]["get"]["responses"];
    for status in ["200", "404", "410", "500"] {
        assert!(detail[status].is_object(), "/v1/offers/{{key}} {status}");
    }
}
