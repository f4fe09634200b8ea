//! The only code the browser runs: one island (Leptos islands mode), which
//! makes the server-rendered pages live without drawing any of them.
//!
//! Every page is complete HTML from the server and works without
//! JavaScript: forms post to the server functions, which leave their
//! answer as a message for the page they redirect back to. With the
//! island, the same posts go through `fetch`, and from the page the server
//! answers it takes:
//! - the message, into the form's notice slot (`data-notice="ID"`: the
//!   element `#notice-ID`; else the one under the page's title), every
//!   other message cleared: one answer at a time;
//! - after a success, the whole `<main>` (lists updated, forms empty
//!   again), or, for forms marked `data-keep-page` (a table's row
//!   buttons), only the live regions; after an error only the live
//!   regions, so that what was typed stays;
//! - another page (a redirect elsewhere, the sign-in page): it is shown,
//!   at its address.
//!
//! Live regions (`[data-live]` with an id) are fetched again every
//! `data-live-every` seconds while the tab is visible; one with the focus
//! in a field is left alone. Besides: a slot row clicked fills the new
//! configuration's slot and module, copy buttons, dismissing a message,
//! "Show password".
//!
//! The pages' own code (views, data, server functions' types) never
//! reaches the WASM bundle.

use leptos::prelude::*;

/// Put once on every page (outside `<main>`, which it replaces).
#[island]
pub fn Enhance() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    client::start();
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::Cell;
    use std::time::Duration;

    use leptos::prelude::{document, set_interval_with_handle, window};
    use leptos::task::spawn_local;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use leptos::web_sys::{
        Document, DomParser, Element, Event, FormData, Headers, HtmlElement, HtmlFormElement,
        HtmlInputElement, Request, RequestInit, Response, SupportedType, Url, UrlSearchParams,
    };
    use wasm_bindgen_futures::JsFuture;

    thread_local! {
        /// A form's post is under way (a second submit meanwhile is
        /// dropped: no configuration created twice).
        static POSTING: Cell<bool> = const { Cell::new(false) };
        /// A live regions' fetch is under way.
        static POLLING: Cell<bool> = const { Cell::new(false) };
        /// Counts posts: a fetch of live regions begun before a post's
        /// answer is older than it, and dropped.
        static POSTS: Cell<u64> = const { Cell::new(0) };
        /// When the live regions were last fetched (ms since the epoch).
        static LAST_POLL: Cell<f64> = const { Cell::new(0.0) };
    }

    pub fn start() {
        let listen = |name: &str, handler: fn(Event)| {
            let f = leptos::wasm_bindgen::closure::Closure::<dyn Fn(Event)>::new(handler);
            let _ = document().add_event_listener_with_callback(name, f.as_ref().unchecked_ref());
            f.forget();
        };
        listen("submit", submit);
        listen("click", click);
        listen("change", change);
        LAST_POLL.set(js_sys::Date::now());
        // Checked every second (as long as the page); each page says how
        // often it wants its data.
        let _ = set_interval_with_handle(tick, Duration::from_secs(1));
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    }

    fn element(target: Option<leptos::web_sys::EventTarget>) -> Option<Element> {
        target.and_then(|t| t.dyn_into::<Element>().ok())
    }

    fn closest(el: &Element, selector: &str) -> Option<Element> {
        el.closest(selector).ok().flatten()
    }

    fn by_id(doc: &Document, id: &str) -> Option<Element> {
        doc.get_element_by_id(id)
    }

    /// The elements of this page that `selector` matches.
    fn all(selector: &str) -> impl Iterator<Item = Element> {
        let list = document().query_selector_all(selector).ok();
        let n = list.as_ref().map_or(0, |l| l.length());
        (0..n).filter_map(move |i| {
            list.as_ref()
                .and_then(|l| l.item(i))
                .and_then(|n| n.dyn_into::<Element>().ok())
        })
    }

    /// A message of the island's own, drawn as the server draws one.
    fn error_notice(text: &str) -> String {
        format!(
            "<div class=\"notice error\" role=\"alert\" data-testid=\"notice\"><p>{}</p></div>",
            escape(text)
        )
    }

    /// A form posting to a server function: sent through `fetch`.
    fn submit(ev: Event) {
        let Some(form) = element(ev.target()).and_then(|e| e.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let action = form.get_attribute("action").unwrap_or_default();
        if !form.method().eq_ignore_ascii_case("post") || !action.starts_with("/sfn/") {
            // Searches, sign-in, sign-out, uploads: the plain way.
            return;
        }
        if POSTING.get() {
            ev.prevent_default();
            return;
        }
        // Anything in the way of sending it here: it posts the plain way.
        let Ok(data) = FormData::new_with_form(&form) else {
            return;
        };
        let body: JsValue = if form.enctype() == "multipart/form-data" {
            data.into()
        } else {
            match UrlSearchParams::new_with_str_sequence_sequence(&data) {
                Ok(p) => p.into(),
                Err(_) => return,
            }
        };
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&body);
        let Ok(request) = Request::new_with_str_and_init(&action, &init) else {
            return;
        };
        ev.prevent_default();
        POSTING.set(true);
        POSTS.set(POSTS.get() + 1);
        clear_notices();
        let _ = form.set_attribute("aria-busy", "true");
        spawn_local(async move {
            let answer = fetch_page(request).await;
            POSTING.set(false);
            let _ = form.remove_attribute("aria-busy");
            match answer {
                Ok(Page::Here(doc, url)) => show_answer(&form, &doc, &url),
                Ok(Page::Elsewhere(url, doc)) => show_page(&url, &doc),
                Err(e) => show_notice(
                    &notice_slot(&form),
                    &error_notice(&format!(
                        "No answer from the appliance ({e}): reload the page to see whether this was done."
                    )),
                ),
            }
        });
    }

    /// What the server answered a post with, into this page (`url`: where
    /// the server sent the browser back to).
    fn show_answer(form: &HtmlFormElement, doc: &Document, url: &str) {
        // The message the server left (its slot also holds Leptos's
        // markers: the notice itself is what counts).
        let left = doc.query_selector("#notice-page .notice").ok().flatten();
        let ok = left.as_ref().is_some_and(|n| n.class_list().contains("ok"));
        let notice = match left {
            Some(n) => n.outer_html(),
            // Refused before it ran (a field that does not parse): Leptos
            // names the error in the address, no message was left.
            None if url.contains("__err=") => {
                error_notice("The appliance could not read this form: nothing was changed.")
            }
            None => String::new(),
        };
        let slot_id = notice_slot(form);
        if ok && !form.has_attribute("data-keep-page") {
            replace_main(doc);
        } else {
            replace_live(doc, false);
        }
        show_notice(&slot_id, &notice);
    }

    /// The id of the element a form's answer goes into.
    fn notice_slot(form: &HtmlFormElement) -> String {
        match form.get_attribute("data-notice") {
            Some(n) => format!("notice-{n}"),
            None => "notice-page".into(),
        }
    }

    fn clear_notices() {
        for slot in all(".notice-slot") {
            slot.set_inner_html("");
        }
    }

    fn show_notice(slot_id: &str, html: &str) {
        clear_notices();
        let doc = document();
        if let Some(slot) = by_id(&doc, slot_id).or_else(|| by_id(&doc, "notice-page")) {
            if html.is_empty() {
                return;
            }
            slot.set_inner_html(&format!(
                "<button type=\"button\" class=\"notice-close\" aria-label=\"Dismiss the message\">×</button>{html}"
            ));
            // A link to the page shown already says nothing.
            let here = window().location().pathname().unwrap_or_default();
            if let Ok(Some(link)) = slot.query_selector("[data-testid=notice-edit]") {
                if link.get_attribute("href").as_deref() == Some(here.as_str()) {
                    if let Some(p) = link.parent_element() {
                        p.remove();
                    }
                }
            }
        }
    }

    fn replace_main(doc: &Document) {
        let here = document();
        if let (Ok(Some(old)), Ok(Some(new))) = (
            here.query_selector("main.content"),
            doc.query_selector("main.content"),
        ) {
            old.set_inner_html(&new.inner_html());
        }
    }

    /// Every live region of this page from `doc`; `polled`: not one the
    /// administrator is typing in.
    fn replace_live(doc: &Document, polled: bool) {
        let here = document();
        let typing = here.active_element().filter(|a| {
            matches!(
                a.tag_name().as_str(),
                "INPUT" | "SELECT" | "TEXTAREA" | "BUTTON"
            )
        });
        for old in all("[data-live]") {
            if polled {
                if let Some(a) = &typing {
                    if old.contains(Some(a)) {
                        continue;
                    }
                }
            }
            if let Some(new) = by_id(doc, &old.id()) {
                old.set_inner_html(&new.inner_html());
            }
        }
    }

    fn tick() {
        if POLLING.get() || POSTING.get() || document().hidden() {
            return;
        }
        let every = all("[data-live-every]")
            .filter_map(|e| e.get_attribute("data-live-every")?.parse::<f64>().ok())
            .fold(f64::INFINITY, f64::min);
        if every.is_finite() && js_sys::Date::now() - LAST_POLL.get() >= every * 1000.0 {
            poll();
        }
    }

    /// The live regions again, from the page as the server draws it now.
    fn poll() {
        let Ok(request) = Request::new_with_str(&window().location().href().unwrap_or_default())
        else {
            return;
        };
        POLLING.set(true);
        LAST_POLL.set(js_sys::Date::now());
        let posts = POSTS.get();
        spawn_local(async move {
            let page = fetch_page(request).await;
            POLLING.set(false);
            LAST_POLL.set(js_sys::Date::now());
            if POSTS.get() != posts {
                return;
            }
            match page {
                Ok(Page::Here(doc, _)) => replace_live(&doc, true),
                // Signed out (session ended, user removed): the sign-in page.
                Ok(Page::Elsewhere(url, _)) => {
                    let _ = window().location().assign(&url);
                }
                // The appliance restarting: the next tick tries again.
                Err(_) => {}
            }
        });
    }

    enum Page {
        /// This page, drawn again (at this address).
        Here(Document, String),
        /// The server sent the browser to another page (at this address).
        Elsewhere(String, Document),
    }

    /// The page a post was sent on to (a deleted configuration's list,
    /// the sign-in page), shown as it came: fetching it again would lose
    /// the message it carries (shown once).
    fn show_page(url: &str, doc: &Document) {
        let here = document();
        let (Some(old), Some(new)) = (here.body(), doc.body()) else {
            let _ = window().location().assign(url);
            return;
        };
        let _ = new.set_attribute("data-hydrated", "true");
        let Ok(new) = here.import_node_with_deep(&new, true) else {
            let _ = window().location().assign(url);
            return;
        };
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(url));
        }
        here.set_title(&doc.title());
        let _ = old.replace_with_with_node_1(&new);
        window().scroll_to_with_x_and_y(0.0, 0.0);
    }

    /// Fetches `request` as a browser would (an HTML page, redirects
    /// followed).
    async fn fetch_page(request: Request) -> Result<Page, String> {
        let headers: Headers = request.headers();
        headers
            .set("Accept", "text/html")
            .map_err(|_| "headers".to_string())?;
        let response: Response = JsFuture::from(window().fetch_with_request(&request))
            .await
            .map_err(|_| "network error".to_string())?
            .unchecked_into();
        let url = response.url();
        let text = JsFuture::from(response.text().map_err(|_| "body".to_string())?)
            .await
            .map_err(|_| "body".to_string())?
            .as_string()
            .unwrap_or_default();
        let same_page = Url::new(&url)
            .map(|u| Some(u.pathname()) == window().location().pathname().ok())
            .unwrap_or(false);
        if response.status() >= 500 && !text.contains("<main") {
            return Err(format!("HTTP {}", response.status()));
        }
        let doc = DomParser::new()
            .and_then(|p| p.parse_from_string(&text, SupportedType::TextHtml))
            .map_err(|_| "not a page".to_string())?;
        Ok(if same_page {
            Page::Here(doc, url)
        } else {
            Page::Elsewhere(url, doc)
        })
    }

    fn click(ev: Event) {
        let Some(el) = element(ev.target()) else {
            return;
        };
        if let Some(button) = closest(&el, "button[data-copy]") {
            // The text just before the button (a secret shown once, an example).
            let text = button
                .previous_element_sibling()
                .and_then(|p| p.text_content())
                .unwrap_or_default();
            let _promise = window().navigator().clipboard().write_text(&text);
            button.set_text_content(Some("Copied"));
        } else if let Some(close) = closest(&el, ".notice-close") {
            if let Some(slot) = closest(&close, ".notice-slot") {
                slot.set_inner_html("");
            }
        } else if closest(&el, "[data-refresh]").is_some() {
            ev.prevent_default();
            if !POLLING.get() {
                poll();
            }
        } else if let Some(row) = closest(&el, "tbody[data-pick] tr[data-slot]") {
            pick_slot(&row);
        }
    }

    /// A slot row clicked: its slot and module into the new configuration.
    fn pick_slot(row: &Element) {
        let doc = document();
        let module = closest(row, "tbody[data-pick]").and_then(|b| b.get_attribute("data-pick"));
        for (id, value) in [
            ("new-slot", row.get_attribute("data-slot")),
            ("new-module", module),
        ] {
            if let (Some(field), Some(value)) = (by_id(&doc, id), value) {
                let _ = js_sys::Reflect::set(&field, &"value".into(), &value.into());
            }
        }
    }

    /// "Show password".
    fn change(ev: Event) {
        let Some(el) = element(ev.target()) else {
            return;
        };
        let Some(id) = el.get_attribute("data-shows") else {
            return;
        };
        let (Ok(check), Some(field)) = (
            el.dyn_into::<HtmlInputElement>(),
            by_id(&document(), &id).and_then(|f| f.dyn_into::<HtmlElement>().ok()),
        ) else {
            return;
        };
        let _ = field.set_attribute("type", if check.checked() { "text" } else { "password" });
    }

    fn escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
}
