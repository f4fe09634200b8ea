use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn SchedulePage() -> impl IntoView {
    view! {
        <PageHeader title="Schedule" lead="How often every enabled partition is reseeded." />
        <Planned items=vec![
            "The reseed period: off (on demand only) or 1 to 9 minutes.",
            "The time of the next scheduled round.",
        ] />
    }
}
