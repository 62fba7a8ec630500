//! Headless Chromium for the browser tests: Debian's `chromium` driven through its
//! `chromedriver` (WebDriver), and axe-core from the npm registry.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// Where the browser and the accessibility tools come from (Debian's packages).
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The user agent of desktop Chromium on Linux.
pub const DESKTOP_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/148.0.0.0 Safari/537.36";

/// A chromedriver process and a WebDriver session of headless Chromium on it.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    /// The session's address on chromedriver, for the DevTools commands WebDriver lacks.
    session_url: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Also when a test fails: the session is ended (chromedriver then closes Chromium), so
    /// that no browser outlives its test; then chromedriver is killed.
    fn drop(&mut self) {
        let session = self.session_url.clone();
        // A blocking client of its own thread: the drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .and_then(|client| client.delete(session).send())
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium of this
    /// width (in CSS pixels). Fails, never skips, when the packages are missing: `.ci/run`
    /// installs them.
    pub async fn start(width: u32, height: u32) -> Browser {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: install Debian's `chromium` and `chromium-driver` (.ci/run does)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        // The flags a closed network needs: no background connections, no updates, no sync.
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--lang=fr-FR",
                    // Headless Chromium calls itself `HeadlessChrome`, which relais's robot rule
                    // leaves out of the traffic: present the desktop browser it is.
                    format!("--user-agent={DESKTOP_AGENT}"),
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::rustls()
                .expect("rustls connector")
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    panic!("no WebDriver session on chromedriver: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let browser = Browser {
            client,
            session_url: format!("{url}/session/{session}"),
            driver,
            _profile: profile,
        };
        browser.set_viewport(width, height).await;
        browser
    }

    /// Sets the page's viewport to `width` × `height` CSS pixels through DevTools: a window
    /// cannot be narrower than 500 px, a phone is 320. Below 500 px the page is laid out as on
    /// a phone (its `viewport` meta tag applies).
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let response = reqwest::Client::new()
            .post(format!("{}/goog/cdp/execute", self.session_url))
            .json(&json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": { "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500 },
            }))
            .send()
            .await
            .expect("chromedriver answers");
        assert!(
            response.status().is_success(),
            "viewport not set: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Runs `script` (a function body that returns a value) in the page.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns `true` (at most 30 s); panics with `what` and the page's
    /// last answer otherwise.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.js(script).await;
            if value == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                panic!("waited 30 s for {what}; the page answers {value}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stretches the viewport to the page's whole height (at most 6000 px), takes a PNG, and
    /// sets the viewport back to 900 px high.
    pub async fn full_screenshot(&self, width: u32) -> Vec<u8> {
        let height = self
            .js("return Math.ceil(document.documentElement.scrollHeight);")
            .await
            .as_u64()
            .unwrap_or(1000)
            .clamp(400, 6000) as u32;
        self.set_viewport(width, height).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.client.screenshot().await.expect("screenshot");
        self.set_viewport(width, 900).await;
        png
    }

    /// axe-core's WCAG 2.1 A and AA checks of the current page (shadow DOMs included).
    pub async fn axe(&self) -> AxeResult {
        let axe = std::fs::read_to_string(axe_core()).expect("axe.min.js");
        self.client
            .execute(&axe, Vec::new())
            .await
            .expect("axe-core loads");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => done({ violations: r.violations.map(v => ({ id: v.id, impact: v.impact,
                     nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) })), passes: r.passes.length }))
                   .catch(e => done({ error: String(e) }));",
                Vec::new(),
            )
            .await
            .expect("axe runs");
        assert!(result.get("error").is_none(), "axe failed: {result}");
        AxeResult {
            passes: result["passes"].as_u64().unwrap_or(0),
            violations: result["violations"]
                .as_array()
                .expect("violations")
                .iter()
                .map(|v| format!("{} ({}): {}", v["id"], v["impact"], v["nodes"]))
                .collect(),
        }
    }
}

/// What axe-core found on a page.
#[derive(Debug)]
pub struct AxeResult {
    /// Rules that passed.
    pub passes: u64,
    /// Violations, as `"rule" (impact): nodes` lines.
    pub violations: Vec<String>,
}

/// Where the browser tests write their screenshots: `target/test-artefacts/browser/`.
pub fn artefacts_dir() -> PathBuf {
    let dir = crate::target_dir().join("test-artefacts").join("browser");
    std::fs::create_dir_all(&dir).expect("artefacts dir");
    dir
}

/// The npm package axe-core at a pinned version, fetched once with `npm pack` into the build
/// directory; returns the path of `axe.min.js`.
pub fn axe_core() -> PathBuf {
    crate::npm_package_file("axe-core", "4.14.1", "axe.min.js")
}
