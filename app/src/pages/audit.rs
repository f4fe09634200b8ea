use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <PageHeader title="Audit" lead="Every administrative action, append-only." />
        <Planned items=vec![
            "Each action with actor, address, time and what changed (never a secret).",
            "Filters and pages.",
        ] />
    }
}
