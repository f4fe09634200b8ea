use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <PageHeader title="Settings" lead="Users, API tokens and your own password." />
        <Planned items=vec![
            "Administrators: add and remove.",
            "API tokens: create (shown once), list and revoke.",
            "Change your own password.",
        ] />
    }
}
