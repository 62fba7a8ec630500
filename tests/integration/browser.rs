//! The widget in real headless Chromium (Debian's chromium and chromium-driver, over WebDriver),
//! against the demo on loopback: a host page on another origin, whose CSS and scripts are
//! hostile, embeds both forms; the web component shows the offers, searches, filters,
//! paginates and opens an offer page, with its empty and error states; the iframe does the
//! same without script and fits its content; offers whose description carried `<script>` or
//! `onerror=` run nothing.

use std::net::SocketAddr;

use fantoccini::Locator;
use fantoccini::elements::ShadowRoot;
use fantoccini::key::Key;
use relais_tests::browser::Browser;
use reqwest::Client;
use serde_json::Value;

use crate::syndication::{demo, url};

/// A site that is not relais: its CSS targets everything with `!important`, and its own
/// script replaces `fetch` once the widget is loaded.
const HOST_PAGE: &str = r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Site hôte de test</title>
<style>
* { color: rgb(255, 0, 0) !important; font-family: "Comic Sans MS", cursive !important; letter-spacing: 3px !important; }
li, h3, p, ul { display: none !important; }
button, input, select { visibility: hidden !important; }
relais-offres { --relais-couleur-accent: #aa3300; }
</style></head>
<body><main><h1>Site hôte</h1>
<relais-offres feed="haute-garonne"></relais-offres>
<iframe src="RELAIS/widget/haute-garonne" title="Offres (iframe)" style="width: 100%; border: 0; height: 200px"></iframe>
</main>
<script src="RELAIS/widget.js"></script>
<script>
window.fetch = function () { return Promise.reject(new Error("le fetch de l'hôte")); };
</script>
</body></html>"#;

/// Serves `page` at `/` on a free loopback port: another origin than relais.
pub(crate) async fn host_site(page: String) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://localhost:{}/", address.port())
}

/// The widget's shadow root, in a script.
const SHADOW: &str = "const w = document.querySelector('relais-offres').shadowRoot;";

/// The page's cards as `[href, title]`.
async fn cards(browser: &Browser) -> Vec<(String, String)> {
    let value = browser
        .js(&format!(
            "{SHADOW} return [...w.querySelectorAll('li.offre h3 a')].map(a => [a.href, a.textContent]);"
        ))
        .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits until the widget is done loading and shows `count` cards.
async fn wait_for_cards(browser: &Browser, count: usize, what: &str) {
    browser
        .wait_until(
            what,
            &format!(
                "{SHADOW} const list = w.querySelector('ul');
                 return !list.hasAttribute('aria-busy') && w.querySelectorAll('li.offre').length === {count};"
            ),
        )
        .await;
}

/// Clicks the element of the widget's shadow tree that `css` finds.
async fn click_in(shadow: &ShadowRoot, css: &str) {
    let element = shadow.find(Locator::Css(css)).await.unwrap();
    element.click().await.unwrap();
}

/// Chooses `value` in the widget's `<select>` that `css` finds.
async fn choose_in(shadow: &ShadowRoot, css: &str, value: &str) {
    let select = shadow.find(Locator::Css(css)).await.unwrap();
    select.select_by_value(value).await.unwrap();
}

/// What the widget's JSON says for `query` (the same view the component shows).
async fn view(http: &Client, relais: &str, query: &[(&str, &str)]) -> Value {
    http.get(format!("{relais}/widget/haute-garonne/offres"))
        .query(query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn keys_of(view: &Value) -> Vec<String> {
    view["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["page_url"].as_str().unwrap().to_owned())
        .collect()
}

async fn status_text(browser: &Browser) -> String {
    browser
        .js(&format!(
            "{SHADOW} return w.querySelector('[role=status]').textContent;"
        ))
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_searches_filters_and_paginates_in_headless_chromium_inside_a_hostile_page() {
    let (_demo, dir, urls) = tokio::task::spawn_blocking(demo).await.unwrap();
    let relais = url(&urls, "method").trim_end_matches("/methode").to_owned();
    let host = host_site(HOST_PAGE.replace("RELAIS", &relais)).await;
    let http = Client::new();
    let browser = Browser::start(1280, 1000).await;
    let client = &browser.client;
    client.goto(&host).await.unwrap();

    // The offers of the feed, as the server gives them, drawn in the shadow DOM.
    let first = view(&http, &relais, &[]).await;
    let total = first["total"].as_u64().unwrap();
    assert!(total > 10, "the demo's feed has more than a page: {total}");
    wait_for_cards(&browser, 10, "the first page of the web component").await;
    let shown: Vec<String> = cards(&browser).await.into_iter().map(|(h, _)| h).collect();
    assert_eq!(
        shown,
        keys_of(&first),
        "the component shows the feed's first page"
    );
    // Each offer credited to its source with its dates; the list's sources and the method.
    let credits = browser
        .js(&format!(
            "{SHADOW} return [w.querySelector('li.offre .discret').textContent,
               [...w.querySelectorAll('.credits a')].map(a => [a.textContent, a.href])];"
        ))
        .await;
    let card_credit = credits[0].as_str().unwrap();
    assert!(
        card_credit.starts_with("Publiée le ") && card_credit.contains("Offre France Travail"),
        "{credits}"
    );
    let links = credits[1].as_array().unwrap();
    assert!(
        links.iter().any(|l| l[0] == "France Travail"
            && l[1]
                .as_str()
                .unwrap()
                .starts_with("https://francetravail.io/")),
        "{credits}"
    );
    assert!(
        links
            .iter()
            .any(|l| l[0] == "Méthode et licences" && l[1] == format!("{relais}/methode")),
        "{credits}"
    );
    let count = status_text(&browser).await;
    assert!(
        count.starts_with(&format!("{total} offres")),
        "the count is announced: {count}"
    );

    // The host's CSS does not reach inside; the theme's custom property does.
    let styles = browser
        .js(&format!(
            "{SHADOW} const li = w.querySelector('li.offre'), p = li.querySelector('p'),
               button = w.querySelector('button[type=submit]');
             return [getComputedStyle(li).display, getComputedStyle(p).color,
               getComputedStyle(p).fontFamily, getComputedStyle(p).letterSpacing,
               getComputedStyle(button).visibility, getComputedStyle(button).backgroundColor];"
        ))
        .await;
    assert_eq!(styles[0], "list-item", "{styles}");
    assert_ne!(styles[1], "rgb(255, 0, 0)", "{styles}");
    assert!(!styles[2].as_str().unwrap().contains("Comic"), "{styles}");
    assert_eq!(styles[3], "normal", "{styles}");
    assert_eq!(styles[4], "visible", "{styles}");
    assert_eq!(
        styles[5], "rgb(170, 51, 0)",
        "the accent is themeable: {styles}"
    );

    // Keyboard: the first Tab reaches the search box, with a visible focus.
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    let focus = browser
        .js(&format!(
            "{SHADOW} const f = w.activeElement;
             return [document.activeElement.tagName, f && f.id, f && getComputedStyle(f).outlineStyle];"
        ))
        .await;
    assert_eq!(focus[0], "RELAIS-OFFRES", "{focus}");
    assert_eq!(focus[1], "q", "{focus}");
    assert_eq!(focus[2], "solid", "the focus is visible: {focus}");

    // A search typed and sent with Enter shows what the server finds for it.
    let word = first["offers"][0]["title"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let host_element = client.find(Locator::Css("relais-offres")).await.unwrap();
    let shadow = host_element.shadow_root().await.unwrap();
    let search = shadow.find(Locator::Css("#q")).await.unwrap();
    search
        .send_keys(&format!("{word}{}", Key::Enter))
        .await
        .unwrap();
    let searched = view(&http, &relais, &[("q", &word)]).await;
    let expected = keys_of(&searched);
    browser
        .wait_until(
            "the search's results",
            &format!(
                "{SHADOW} return !w.querySelector('ul').hasAttribute('aria-busy')
                   && JSON.stringify([...w.querySelectorAll('li.offre h3 a')].map(a => a.href)) === {};",
                serde_json::to_string(&serde_json::to_string(&expected).unwrap()).unwrap()
            ),
        )
        .await;
    assert!(
        status_text(&browser)
            .await
            .starts_with(&searched["total"].to_string()),
        "the search's count"
    );

    // A contract filter, with the search box emptied.
    search.clear().await.unwrap();
    let contract = first["contracts"][0]["value"].as_str().unwrap().to_owned();
    let label = first["contracts"][0]["label"].as_str().unwrap().to_owned();
    choose_in(&shadow, "#contrat", &contract).await;
    click_in(&shadow, "button[type=submit]").await;
    let filtered = view(&http, &relais, &[("contrat", &contract)]).await;
    let filtered_total = filtered["total"].as_u64().unwrap();
    browser
        .wait_until(
            "the contract filter",
            &format!(
                "{SHADOW} return !w.querySelector('ul').hasAttribute('aria-busy')
                   && w.querySelector('[role=status]').textContent.startsWith('{filtered_total} offre');"
            ),
        )
        .await;
    let facts = browser
        .js(&format!(
            "{SHADOW} return [...w.querySelectorAll('li.offre p:first-of-type')].map(p => p.textContent);"
        ))
        .await;
    for fact in facts.as_array().unwrap() {
        assert!(
            fact.as_str().unwrap().ends_with(&label),
            "every card is a {label}: {fact}"
        );
    }

    // All contracts again, then the next page: twenty offers, none twice, the server's two pages,
    // the focus on the first new one.
    choose_in(&shadow, "#contrat", "").await;
    click_in(&shadow, "button[type=submit]").await;
    wait_for_cards(&browser, 10, "the feed's first page again").await;
    click_in(&shadow, "button.suite").await;
    wait_for_cards(&browser, 20, "the second page").await;
    let second = view(
        &http,
        &relais,
        &[("suite", first["next"].as_str().unwrap())],
    )
    .await;
    let twenty: Vec<String> = cards(&browser).await.into_iter().map(|(h, _)| h).collect();
    let mut expected = keys_of(&first);
    expected.extend(keys_of(&second));
    assert_eq!(twenty, expected, "pages neither skip nor repeat");
    let focused = browser
        .js(&format!(
            "{SHADOW} return w.activeElement && w.activeElement.href;"
        ))
        .await;
    assert_eq!(focused.as_str(), Some(expected[10].as_str()));

    // The empty state, and its way back.
    search
        .send_keys(&format!("zzqxwvkj{}", Key::Enter))
        .await
        .unwrap();
    wait_for_cards(&browser, 0, "the empty state").await;
    assert_eq!(
        status_text(&browser).await,
        "Aucune offre ne correspond à votre recherche."
    );
    click_in(&shadow, ".etat button").await;
    wait_for_cards(&browser, 10, "all offers after the empty state").await;

    // The error states: an unknown feed, and a server that does not answer.
    browser
        .js(
            "for (const [feed, server] of [['inconnu', null], ['haute-garonne', 'http://127.0.0.1:9']]) {
               const e = document.createElement('relais-offres');
               e.setAttribute('feed', feed); e.className = 'autre';
               if (server) e.setAttribute('serveur', server);
               document.querySelector('main').append(e);
             } return true;",
        )
        .await;
    browser
        .wait_until(
            "the error states",
            "const [unknown, down] = [...document.querySelectorAll('relais-offres.autre')].map(e => e.shadowRoot.querySelector('[role=alert]'));
             return !!unknown && unknown.textContent.includes(\"Aucun flux d'offres ne porte ce nom\")
               && !!down && down.textContent.includes('ne peuvent pas être affichées') && down.textContent.includes('Réessayer');",
        )
        .await;

    // The iframe fits its content, searches and pages without script.
    browser
        .wait_until(
            "the iframe's height",
            "return parseInt(document.querySelector('iframe').style.height) > 600;",
        )
        .await;
    let frame = client.find(Locator::Css("iframe")).await.unwrap();
    frame.enter_frame().await.unwrap();
    let frame_count = client
        .find(Locator::Css("li.offre"))
        .await
        .map(|_| ())
        .is_ok();
    assert!(frame_count, "the iframe lists offers");
    let box_in_frame = client.find(Locator::Css("#q")).await.unwrap();
    box_in_frame
        .send_keys(&format!("{word}{}", Key::Enter))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("#nombre"))
        .await
        .unwrap();
    browser
        .wait_until(
            "the iframe's search",
            &format!(
                "return location.search.includes('q=') && document.getElementById('nombre').textContent.startsWith('{}');",
                searched["total"]
            ),
        )
        .await;
    client.enter_parent_frame().await.unwrap();

    // A card opens its offer page.
    let (href, title) = cards(&browser).await.remove(0);
    click_in(&shadow, "li.offre h3 a").await;
    browser
        .wait_until(
            "the offer page",
            &format!("return location.href === {href:?} && document.readyState === 'complete';"),
        )
        .await;
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, title);

    // Offers whose description carried a script and an `onerror=` run nothing: not on their
    // page, not on the host page that listed offers.
    let feed = std::fs::read_to_string(dir.path().join("partner-feeds/hellowork.xml")).unwrap();
    let hostile: Vec<&str> = feed
        .split("<job>")
        .filter(|job| job.contains("relaisPirate"))
        .filter_map(|job| {
            job.split("<job_id><![CDATA[")
                .nth(1)
                .and_then(|rest| rest.split("]]>").next())
        })
        .take(3)
        .collect();
    assert!(
        !hostile.is_empty(),
        "the demo feed carries hostile descriptions"
    );
    for id in hostile {
        let page = format!("{relais}/offres/hellowork:{id}");
        client.goto(&page).await.unwrap();
        let answer = browser
            .js("return [document.readyState, typeof window.relaisPirate,
                 document.querySelectorAll('.description script, .description [onerror]').length,
                 document.querySelector('.description') !== null];")
            .await;
        assert_eq!(answer[1], "undefined", "{page}: a hostile script ran");
        assert_eq!(answer[2], 0, "{page}");
        assert_eq!(answer[3], true, "{page} shows its description");
    }
    client.goto(&host).await.unwrap();
    wait_for_cards(&browser, 10, "the host page again").await;
    assert_eq!(
        browser.js("return typeof window.relaisPirate;").await,
        "undefined"
    );
    client.clone().close().await.unwrap();
}
