use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn HistoryPage() -> impl IntoView {
    view! {
        <PageHeader title="History" lead="Every reseed, from every trigger." />
        <Planned items=vec![
            "Each reseed: time, configuration, slot, token serial, trigger, source, bits, duration, outcome.",
            "Filters, pages and a CSV export.",
        ] />
    }
}
