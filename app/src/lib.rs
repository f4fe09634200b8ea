//! The hsmseed web pages: the shell, the routes, the pages and the server
//! functions they call. Built twice: with `ssr` into the server, with
//! `hydrate` into the WASM bundle (where the engine is absent).

pub mod components;
pub mod error;
pub mod model;
pub mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use components::shell::AppShell;
use pages::{
    audit::AuditPage, dashboard::DashboardPage, history::HistoryPage, hsm_edit::HsmEditPage,
    hsms::HsmsPage, login::LoginPage, not_found::NotFound, schedule::SchedulePage,
    settings::SettingsPage, trust::TrustPage,
};

/// The output name of the WASM bundle (`pkg/hsmseed.HASH.js`,
/// `pkg/hsmseed.HASH.wasm`, `pkg/hsmseed.HASH.css`, the hashes listed in
/// the site's `hash.txt`; without it `hsmseed.js`, `hsmseed_bg.wasm`,
/// `hsmseed.css`).
pub const OUTPUT_NAME: &str = "hsmseed";

/// The stylesheet's address: its hashed name when the site lists one.
#[cfg(feature = "ssr")]
fn stylesheet(options: &LeptosOptions) -> String {
    static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HREF.get_or_init(|| {
        let hash = options
            .hash_files
            .then(|| std::fs::read_to_string(options.hash_file.as_ref()).ok())
            .flatten()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("css:").map(|h| h.trim().to_string()))
            });
        match hash {
            Some(h) => format!("/pkg/{OUTPUT_NAME}.{h}.css"),
            None => format!("/pkg/{OUTPUT_NAME}.css"),
        }
    })
    .clone()
}

#[cfg(not(feature = "ssr"))]
fn stylesheet(_: &LeptosOptions) -> String {
    format!("/pkg/{OUTPUT_NAME}.css")
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let css = stylesheet(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="stylesheet" href=css />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page waits for its data on the server, so that the whole page
    // arrives as HTML and works without JavaScript.
    let ssr = SsrMode::Async;
    view! {
        <Title formatter=|t: String| format!("{t} · hsmseed") />
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage ssr=ssr.clone() />
                <ParentRoute path=path!("") view=AppShell ssr=ssr.clone()>
                    <Route path=path!("") view=DashboardPage ssr=ssr.clone() />
                    <Route path=path!("hsms") view=HsmsPage ssr=ssr.clone() />
                    <Route path=path!("hsms/:name") view=HsmEditPage ssr=ssr.clone() />
                    <Route path=path!("trust") view=TrustPage ssr=ssr.clone() />
                    <Route path=path!("schedule") view=SchedulePage ssr=ssr.clone() />
                    <Route path=path!("history") view=HistoryPage ssr=ssr.clone() />
                    <Route path=path!("audit") view=AuditPage ssr=ssr.clone() />
                    <Route path=path!("settings") view=SettingsPage ssr=ssr.clone() />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
