//! The hsmseed web pages: the shell, the routes, the pages and the server
//! functions they call. Built twice: with `ssr` into the server, with
//! `hydrate` into the WASM bundle (where the engine is absent). Leptos
//! islands mode: the pages are drawn on the server only; the browser runs
//! the one island of [`components::enhance`].

pub mod codec;
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

/// The addresses of the site's assets: the stylesheet, the JS glue and the
/// WASM module, under their hashed names when the site's `hash.txt` lists
/// them.
#[derive(Clone)]
struct Assets {
    css: String,
    js: String,
    wasm: String,
}

impl Assets {
    fn named(hashes: Option<&str>) -> Assets {
        let hash = |kind: &str| {
            hashes.and_then(|text| {
                text.lines().find_map(|l| {
                    l.strip_prefix(kind)
                        .and_then(|rest| rest.strip_prefix(':'))
                        .map(|h| format!(".{}", h.trim()))
                })
            })
        };
        Assets {
            css: format!("/pkg/{OUTPUT_NAME}{}.css", hash("css").unwrap_or_default()),
            js: format!("/pkg/{OUTPUT_NAME}{}.js", hash("js").unwrap_or_default()),
            wasm: match hash("wasm") {
                Some(h) => format!("/pkg/{OUTPUT_NAME}{h}.wasm"),
                None => format!("/pkg/{OUTPUT_NAME}_bg.wasm"),
            },
        }
    }

    /// Read once: the site does not change under a running server (and
    /// reading hash.txt on every page, as Leptos' `HydrationScripts` does,
    /// was a few percent of a page view).
    #[cfg(feature = "ssr")]
    fn of(options: &LeptosOptions) -> Assets {
        static ASSETS: std::sync::OnceLock<Assets> = std::sync::OnceLock::new();
        ASSETS
            .get_or_init(|| {
                let hashes = options
                    .hash_files
                    .then(|| std::fs::read_to_string(options.hash_file.as_ref()).ok())
                    .flatten();
                Assets::named(hashes.as_deref())
            })
            .clone()
    }

    #[cfg(not(feature = "ssr"))]
    fn of(_: &LeptosOptions) -> Assets {
        Assets::named(None)
    }
}

/// Loads the WASM module and starts the page's islands (what Leptos'
/// `HydrationScripts` writes in islands mode, with the names from
/// [`Assets`]): each `<leptos-island>` names the function it runs.
#[component]
fn Hydration(assets: Assets) -> impl IntoView {
    // Islands mode: nothing outside an island is hydrated, so no page's
    // data is written into the page for the browser (as Leptos'
    // `HydrationScripts` does in this mode).
    if let Some(sc) = Owner::current_shared_context() {
        sc.set_is_hydrating(false);
    }
    let nonce = leptos::nonce::use_nonce();
    let start = format!(
        "import({js:?}).then(m => m.default({{module_or_path: {wasm:?}}}).then(() => {{ m.hydrate(); \
         for (const el of document.querySelectorAll('leptos-island')) {{ const f = m[el.dataset.component]; \
         if (f) f(el); else console.warn('no island function', el.dataset.component); }} }}));",
        js = assets.js,
        wasm = assets.wasm,
    );
    view! {
        <link rel="modulepreload" href=assets.js.clone() />
        <link rel="preload" href=assets.wasm.clone() r#as="fetch" r#type="application/wasm" crossorigin="" />
        <script type="module" nonce=nonce>{start}</script>
    }
}

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let assets = Assets::of(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="stylesheet" href=assets.css.clone() />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <Hydration assets />
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
    // Every page waits for its data on the server: the whole page arrives
    // as HTML and works without JavaScript.
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

#[cfg(test)]
mod tests {
    use super::Assets;

    #[test]
    fn assets_take_the_hashed_names_the_site_lists() {
        let a = Assets::named(Some("js: 0a1b\nwasm: 2c3d\ncss: 4e5f\n"));
        assert_eq!(a.js, "/pkg/hsmseed.0a1b.js");
        assert_eq!(a.wasm, "/pkg/hsmseed.2c3d.wasm");
        assert_eq!(a.css, "/pkg/hsmseed.4e5f.css");
        // Without hash.txt: wasm-bindgen's own names.
        let b = Assets::named(None);
        assert_eq!(
            (b.js.as_str(), b.wasm.as_str(), b.css.as_str()),
            (
                "/pkg/hsmseed.js",
                "/pkg/hsmseed_bg.wasm",
                "/pkg/hsmseed.css"
            )
        );
        // A line for another kind never lends its hash ("js" is not "json").
        let c = Assets::named(Some("json: 99\njs: 11"));
        assert_eq!(c.js, "/pkg/hsmseed.11.js");
    }
}
