use leptos::prelude::*;
use leptos_meta::Title;

/// The title block at the top of every page, and under it the message a
/// plain form post (no JavaScript) left for this page: every message sits
/// below the title, on every page.
#[component]
pub fn PageHeader(#[prop(into)] title: String, #[prop(into)] lead: String) -> impl IntoView {
    view! {
        <Title text=title.clone() />
        <header class="page-header">
            <h1>{title}</h1>
            <p class="lead">{lead}</p>
        </header>
        <crate::components::flash::PendingFlash />
    }
}

/// A page whose content arrives with a later release: says plainly what it
/// will hold.
#[component]
pub fn Planned(#[prop(into)] items: Vec<&'static str>) -> impl IntoView {
    view! {
        <section class="card planned">
            <h2>"What this page will hold"</h2>
            <ul>{items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}</ul>
            <p class="muted">"This part of the appliance is not built yet; nothing here changes your HSMs."</p>
        </section>
    }
}
