//! The France Travail client against the simulator: tokens, errors, rate limit, time-outs.

use std::sync::atomic::Ordering;
use std::time::Duration;

use relais_ingest::IngestError;
use relais_ingest::francetravail::{FranceTravailClient, FranceTravailConfig, SearchQuery};
use relais_tests::{client_config, simulator};

fn first_page() -> SearchQuery {
    SearchQuery {
        range: (0, 149),
        ..SearchQuery::default()
    }
}

#[tokio::test]
async fn a_revoked_token_is_refreshed_once_and_the_call_succeeds() {
    let sim = simulator(300, 11, |_| {}).await;
    let client = FranceTravailClient::new(client_config(&sim, 100)).unwrap();
    assert_eq!(client.search(&first_page()).await.unwrap().total, 300);
    assert_eq!(sim.token_calls(), 1);
    assert_eq!(
        client.search(&first_page()).await.unwrap().offers.len(),
        150
    );
    assert_eq!(sim.token_calls(), 1, "the cached token is reused");
    sim.revoke_tokens();
    assert_eq!(client.search(&first_page()).await.unwrap().total, 300);
    assert_eq!(sim.token_calls(), 2);
    // Calls in flight together when the token is refused refresh it once between them.
    sim.revoke_tokens();
    let query = first_page();
    let (a, b, c, d) = tokio::join!(
        client.search(&query),
        client.search(&query),
        client.search(&query),
        client.search(&query)
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok() && d.is_ok());
    assert_eq!(sim.token_calls(), 3);
}

#[tokio::test]
async fn bad_credentials_are_an_authentication_error_that_does_not_quote_the_secret() {
    let sim = simulator(10, 12, |_| {}).await;
    let config = FranceTravailConfig {
        client_secret: "not-the-secret-42".to_owned().into(),
        ..client_config(&sim, 100)
    };
    let error = FranceTravailClient::new(config)
        .unwrap()
        .search(&first_page())
        .await
        .unwrap_err();
    assert!(
        matches!(error, IngestError::Authentication { .. }),
        "{error:?}"
    );
    let text = format!("{error} {error:?}");
    assert!(text.contains("Client authentication failed"), "{text}");
    assert!(!text.contains("not-the-secret-42"));
}

#[tokio::test]
async fn a_400_is_surfaced_with_the_api_message_and_not_retried() {
    let sim = simulator(10, 13, |_| {}).await;
    let client = FranceTravailClient::new(client_config(&sim, 100)).unwrap();
    let error = client
        .search(&SearchQuery {
            range: (3_001, 3_100),
            ..SearchQuery::default()
        })
        .await
        .unwrap_err();
    match error {
        IngestError::BadRequest { message } => assert_eq!(
            message,
            "La position de début doit être inférieure ou égale à 3000."
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(client.stats.requests.load(Ordering::Relaxed), 1);
    assert_eq!(client.stats.retries.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_client_faster_than_the_api_allows_waits_retry_after_and_loses_nothing() {
    let sim = simulator(3_000, 14, |c| c.rate_per_second = 4).await;
    let client = FranceTravailClient::new(client_config(&sim, 40)).unwrap();
    for page in 0..12 {
        let query = SearchQuery {
            range: (page * 150, page * 150 + 149),
            ..SearchQuery::default()
        };
        assert_eq!(client.search(&query).await.unwrap().offers.len(), 150);
    }
    assert!(
        sim.rate_limited_calls() > 0,
        "the simulator refused some calls"
    );
    assert!(client.stats.retries.load(Ordering::Relaxed) > 0);
    assert_eq!(
        sim.early_retries(),
        0,
        "a call came before the Retry-After of a 429 had elapsed"
    );
}

#[tokio::test]
async fn hung_calls_time_out_and_are_retried() {
    let sim = simulator(500, 15, |c| {
        c.timeout_rate = 0.3;
        c.hang = Duration::from_secs(5);
    })
    .await;
    let config = FranceTravailConfig {
        request_timeout: Duration::from_millis(300),
        max_retries: 12,
        ..client_config(&sim, 200)
    };
    let client = FranceTravailClient::new(config).unwrap();
    for _ in 0..10 {
        assert_eq!(client.search(&first_page()).await.unwrap().total, 500);
    }
    assert!(client.stats.retries.load(Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn the_detail_endpoint_answers_the_offer_then_204_once_withdrawn() {
    let sim = simulator(50, 16, |_| {}).await;
    let client = FranceTravailClient::new(client_config(&sim, 100)).unwrap();
    let id = sim.active_ids()[0].clone();
    let offer = client.offer_detail(&id).await.unwrap().expect("present");
    assert!(offer.get().contains(&id));
    sim.withdraw(50);
    assert!(client.offer_detail(&id).await.unwrap().is_none());
}
