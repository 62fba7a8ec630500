//! The simulator follows the documented contract: statuses, headers, messages, filters.

use relais_tests::simulator;
use reqwest::StatusCode;
use serde_json::Value;

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

async fn api(sim: &relais_fixtures::SimulatorHandle) -> Api {
    let http = reqwest::Client::new();
    let (id, secret) = sim.credentials();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", &secret),
        ("scope", "api_offresdemploiv2 o2dsoffre"),
    ];
    let token: Value = http
        .post(sim.token_url())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 1499);
    Api {
        http,
        base: sim.api_url(),
        token: token["access_token"].as_str().unwrap().to_owned(),
    }
}

impl Api {
    async fn search(&self, query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/v2/offres/search?{query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn message(&self, query: &str) -> String {
        let response = self.search(query).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        response.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn statuses_and_content_range_follow_the_contract() {
    let sim = simulator(400, 21, |_| {}).await;
    let api = api(&sim).await;
    let partial = api.search("range=0-149").await;
    assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&partial, "content-range"), "offres 0-149/400");
    assert_eq!(header(&partial, "accept-range"), "offres 150");
    let body: Value = partial.json().await.unwrap();
    assert_eq!(body["resultats"].as_array().unwrap().len(), 150);
    assert!(
        body["filtresPossibles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["filtre"] == "typeContrat")
    );

    let last = api.search("range=300-449").await;
    assert_eq!(last.status(), StatusCode::OK);
    assert_eq!(header(&last, "content-range"), "offres 300-399/400");

    let none = api.search("motsCles=astronaute").await;
    assert_eq!(none.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&none, "content-range"), "offres */0");
}

#[tokio::test]
async fn invalid_parameters_get_the_api_messages() {
    let sim = simulator(10, 22, |_| {}).await;
    let api = api(&sim).await;
    assert_eq!(
        api.message("range=3001-3100").await,
        "La position de début doit être inférieure ou égale à 3000."
    );
    assert_eq!(
        api.message("range=3000-3150").await,
        "La position de fin doit être inférieure ou égale à 3149."
    );
    assert!(api.message("range=0-150").await.contains("150"));
    assert!(
        api.message("departement=01,02,03,04,05,06")
            .await
            .contains("5")
    );
    assert!(
        api.message("minCreationDate=2026-01-01")
            .await
            .contains("minCreationDate")
    );
    assert!(
        api.message("publieeDepuis=2")
            .await
            .contains("publieeDepuis")
    );
    assert!(api.message("motsCles=a").await.contains("2 caractères"));
}

#[tokio::test]
async fn filters_select_the_right_offers() {
    let sim = simulator(3_000, 23, |_| {}).await;
    let api = api(&sim).await;
    let count = |response: reqwest::Response| {
        let range = header(&response, "content-range");
        range.rsplit('/').next().unwrap().parse::<u64>().unwrap()
    };
    let all = count(api.search("range=0-0").await);
    let paris = count(api.search("range=0-0&departement=75").await);
    let not_paris_or_lot = count(api.search("range=0-0&departement=46,31").await);
    let origin_1 = count(api.search("range=0-0&origineOffre=1").await);
    let origin_2 = count(api.search("range=0-0&origineOffre=2").await);
    assert_eq!(all, 3_000);
    assert!(paris > 300 && not_paris_or_lot > 0);
    assert_eq!(origin_1 + origin_2, all);
    let body: Value = api
        .search("departement=75&sort=1&typeContrat=CDI")
        .await
        .json()
        .await
        .unwrap();
    let offers = body["resultats"].as_array().unwrap();
    assert!(offers.iter().all(|o| {
        o["typeContrat"] == "CDI"
            && o["lieuTravail"]["libelle"]
                .as_str()
                .unwrap()
                .starts_with("75 - ")
    }));
    let dates: Vec<&str> = offers
        .iter()
        .map(|o| o["dateCreation"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let keyword: Value = api.search("motsCles=infirmier").await.json().await.unwrap();
    assert!(keyword["resultats"].as_array().unwrap().iter().all(|o| {
        o["intitule"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("infirmi")
            || o["romeLibelle"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("infirmi")
    }));
}

#[tokio::test]
async fn tokens_are_checked() {
    let sim = simulator(10, 24, |_| {}).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v2/offres/search", sim.api_url());
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        http.get(&url)
            .bearer_auth("forged")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let bad = http
        .post(sim.token_url())
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let no_realm = http
        .post(sim.token_url().replace("?realm=%2Fpartenaire", ""))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_realm.status(), StatusCode::BAD_REQUEST);
}

/// A token of `sim`, asked as a client does.
async fn token_of(sim: &relais_fixtures::SimulatorHandle) -> String {
    let (client_id, secret) = sim.credentials();
    let answer: Value = reqwest::Client::new()
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", "api_offresdemploiv2 o2dsoffre"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn two_simulators_of_one_seed_never_issue_the_same_token() {
    let first = simulator(10, 24, |_| {}).await;
    let second = simulator(10, 24, |_| {}).await;
    let (a, b) = (token_of(&first).await, token_of(&second).await);
    assert_ne!(a, b, "tokens come from the OS, not the seed");
    assert_ne!(token_of(&first).await, a, "each token is new");
    let refused = reqwest::Client::new()
        .get(format!("{}/v2/offres/search", second.api_url()))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

/// Every referential path of the OpenAPI answers with its shape and its count (a third-party
/// client calls them), and the codes the simulated offers carry are found in them.
#[tokio::test]
async fn every_referential_of_the_openapi_answers_and_holds_the_offers_codes() {
    let sim = simulator(300, 22, |_| {}).await;
    let api = api(&sim).await;
    // The paths of the OpenAPI (`/v2/referentiel/...`), written here as the document lists them.
    let names = [
        "appellations",
        "nafs",
        "communes",
        "continents",
        "departements",
        "domaines",
        "langues",
        "metiers",
        "naturesContrats",
        "niveauxFormations",
        "pays",
        "permis",
        "regions",
        "secteursActivites",
        "themes",
        "typesContrats",
    ];
    let mut codes = std::collections::HashMap::new();
    for name in names {
        let url = format!("{}/v2/referentiel/{name}", api.base);
        let anonymous = api.http.get(&url).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{name}");
        let response = api
            .http
            .get(&url)
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let range = header(&response, "content-range");
        let items: Vec<Value> = response.json().await.unwrap();
        assert_eq!(range, format!("{name} */{}", items.len()));
        let known: std::collections::HashSet<String> = items
            .iter()
            .map(|item| {
                assert!(item["libelle"].is_string(), "{name}: {item}");
                item["code"].as_str().unwrap().to_owned()
            })
            .collect();
        codes.insert(name, known);
    }
    assert!(codes["departements"].contains("2A") && codes["regions"].contains("76"));

    let offers: Value = api.search("range=0-149").await.json().await.unwrap();
    for offer in offers["resultats"].as_array().unwrap() {
        let has = |referential: &str, field: &Value| {
            field
                .as_str()
                .is_none_or(|code| codes[referential].contains(code))
        };
        assert!(has("typesContrats", &offer["typeContrat"]), "{offer}");
        assert!(has("metiers", &offer["romeCode"]), "{}", offer["romeCode"]);
        assert!(has("communes", &offer["lieuTravail"]["commune"]), "{offer}");
        assert!(has("nafs", &offer["codeNAF"]), "{offer}");
        assert!(
            has("secteursActivites", &offer["secteurActivite"]),
            "{offer}"
        );
    }
}
