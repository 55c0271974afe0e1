//! The dashboard in a real browser: `assistant-db serve --demo` on a throwaway embedded
//! PostgreSQL, driven in headless Debian Chromium by `tests/browser/dashboard.mjs`
//! (npm `playwright-core`). The server runs as behind a TLS proxy, so the browser signs
//! in at `/login`, browses with its session cookie and signs out at the end: filters,
//! date presets with the tiles' comparison, clicking an intent and a chart bar, search,
//! export, a conversation, the knowledge documents, auto-refresh and a phone's width.
//! Saves the README's screenshots to `docs/dashboard.png` and `docs/dashboard-phone.png`.
//!
//! Needs `/usr/bin/chromium`, `node` and `npm ci` in `tests/browser`; `.ci/run`
//! installs them. When one is missing the test fails saying so: it is never skipped.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, Served};

/// Debian's Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long `serve --demo` may take: initdb, migrations and 2000 demo interactions.
const STARTUP: Duration = Duration::from_secs(300);
/// How long the browser script may run.
const SCRIPT: Duration = Duration::from_secs(480);
/// The token the server is started with and the browser signs in with.
const TOKEN: &str = "browser-test-token-0123456789";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Fails with what to install when the browser, node or the node modules are missing.
fn require_tools() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "the browser test needs Debian's Chromium at {CHROMIUM}: run `apt-get install -y \
         chromium` (.ci/run does)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "the browser test needs node: run `apt-get install -y nodejs npm` (.ci/run does)"
    );
    let modules = browser_dir().join("node_modules/playwright-core");
    assert!(
        modules.is_dir(),
        "the browser test needs playwright-core: run `npm ci` in {} (.ci/run does)",
        browser_dir().display()
    );
}

/// `assistant-db serve --demo` on its own embedded PostgreSQL, destroyed afterwards.
struct DemoServer {
    /// The server, killed when dropped (first, before `_home`).
    served: Served,
    /// Its home and spool; the embedded PostgreSQL is destroyed when dropped.
    _home: Home,
}

impl DemoServer {
    fn start() -> DemoServer {
        let home = Home::new();
        // As if a proxy in front terminated TLS: reads need the token, cookies are Secure
        // (browsers keep Secure cookies for http://localhost).
        let mut cmd = home.cmd(&[
            "serve",
            "--demo",
            "--addr",
            "127.0.0.1:0",
            "--behind-tls-proxy",
        ]);
        cmd.env("ASSISTANT_DB_API_TOKEN", TOKEN);
        let served = Served::start(&mut cmd, STARTUP);
        DemoServer {
            served,
            _home: home,
        }
    }
}

#[test]
fn the_dashboard_works_in_headless_chromium() {
    require_tools();
    let server = DemoServer::start();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    std::fs::create_dir_all(&docs).expect("docs directory");
    let screenshot = docs.join("dashboard.png");
    let phone = docs.join("dashboard-phone.png");

    // The browser uses the name `localhost`, one the server answers to.
    let base = server
        .served
        .base
        .replace("http://127.0.0.1:", "http://localhost:");
    let mut script = Command::new("node")
        .arg("dashboard.mjs")
        .arg(&base)
        .arg(&screenshot)
        .arg(&phone)
        .current_dir(browser_dir())
        .env("CHROMIUM_PATH", CHROMIUM)
        .env("DASHBOARD_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let deadline = Instant::now() + SCRIPT;
    let status = loop {
        if let Some(status) = script.try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = script.kill();
            let _ = script.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // What the script printed, also when it was stopped (its pipes hold what it wrote).
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut stdout) = script.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    if let Some(mut stderr) = script.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    let status = status.unwrap_or_else(|| {
        panic!("the browser script ran longer than {SCRIPT:?}\nstdout:\n{out}\nstderr:\n{err}")
    });
    assert!(
        status.success(),
        "the browser script failed ({status})\nstdout:\n{out}\nstderr:\n{err}"
    );
    let report: serde_json::Value = out
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("the browser script printed no report:\n{out}\n{err}"));
    let all = report["all_interactions"].as_i64().unwrap_or_default();
    let banker = report["banker_interactions"].as_i64().unwrap_or_default();
    assert_eq!(report["signed_in"], true, "{report}");
    assert!(all >= 2000, "{report}");
    assert!(0 < banker && banker < all, "{report}");
    let count = |key: &str| report[key].as_i64().unwrap_or_default();
    let week = count("week_interactions");
    assert!(0 < week && week <= all, "{report}");
    assert!(count("intent_interactions") > 0, "{report}");
    assert!(count("bucket_interactions") > 0, "{report}");
    assert!(count("search_results") > 0, "{report}");
    assert!(count("session_turns") > 0, "{report}");
    assert!(count("documents") > 0, "{report}");
    assert!(
        report["smallest_phone_label_px"]
            .as_f64()
            .unwrap_or_default()
            >= 11.0,
        "{report}"
    );
    for shot in [&screenshot, &phone] {
        let png = std::fs::read(shot).expect("the screenshot was saved");
        assert!(
            png.starts_with(b"\x89PNG"),
            "{} is not a PNG",
            shot.display()
        );
    }
}
