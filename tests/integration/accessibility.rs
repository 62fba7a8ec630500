//! The demo's pages in headless Chromium at 320 and 1280 px: axe-core (npm) finds no WCAG 2.1
//! A or AA violation on the sample collectivité page (the web component's shadow DOM
//! included), the iframe widget, an offer page and `/methode`; nothing is wider than the
//! screen; screenshots are written to `target/test-artefacts/browser/`.

use relais_tests::browser::{Browser, artefacts_dir};

use crate::syndication::{demo, url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_widgets_pass_axe_at_320_and_1280_px_and_are_screenshot() {
    let (_demo, _dir, urls) = tokio::task::spawn_blocking(demo).await.unwrap();
    let relais = url(&urls, "method").trim_end_matches("/methode").to_owned();
    let pages = [
        ("site", url(&urls, "site").to_owned()),
        ("iframe", url(&urls, "widget").to_owned()),
        ("offre", url(&urls, "offer").to_owned()),
        ("methode", format!("{relais}/methode")),
    ];
    let mut report = Vec::new();
    for width in [320, 1280] {
        let browser = Browser::start(width, 900).await;
        // The harness finds what it should: a page with a known fault.
        browser
            .client
            .goto("data:text/html;charset=utf-8,<!doctype html><html><title>t</title><img src=x><input>")
            .await
            .unwrap();
        let control = browser.axe().await.violations;
        assert!(
            control.iter().any(|v| v.starts_with("\"image-alt\""))
                && control.iter().any(|v| v.starts_with("\"html-has-lang\"")),
            "axe misses known faults: {control:?}"
        );
        for (name, page) in &pages {
            browser.client.goto(page).await.unwrap();
            browser
                .wait_until(
                    &format!("{name} loaded"),
                    // The sample page is ready once the web component has drawn its offers.
                    "const c = document.querySelector('relais-offres');
                     return document.readyState === 'complete'
                       && (!c || (c.shadowRoot.querySelectorAll('li.offre').length > 0
                                  && !c.shadowRoot.querySelector('ul').hasAttribute('aria-busy')));",
                )
                .await;
            let axe = browser.axe().await;
            assert!(axe.passes > 10, "axe checked little on {name}: {axe:?}");
            let violations = axe.violations;
            // Laid out as on a phone, a page wider than the screen widens the viewport.
            let wide = browser
                .js(&format!(
                    "const inner = (root) => [...root.querySelectorAll('*')].flatMap(e =>
                       [e, ...(e.shadowRoot ? inner(e.shadowRoot) : [])]);
                     return [window.innerWidth, inner(document)
                       .filter(e => e.getBoundingClientRect().right > {width} + 1)
                       .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))];"
                ))
                .await;
            assert_eq!(
                wide[0].as_u64(),
                Some(u64::from(width)),
                "{name} at {width} px is wider than the screen: {}",
                wide[1]
            );
            let png = browser.full_screenshot(width).await;
            std::fs::write(artefacts_dir().join(format!("{name}-{width}.png")), png).unwrap();
            report.push(format!(
                "{name} {width}px: {} rules passed, {} violations",
                axe.passes,
                violations.len()
            ));
            assert!(
                violations.is_empty(),
                "{name} at {width} px: WCAG 2.1 A/AA violations:\n{}",
                violations.join("\n")
            );
        }
        browser.client.clone().close().await.unwrap();
    }
    std::fs::write(artefacts_dir().join("axe.txt"), report.join("\n") + "\n").unwrap();
}
