use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn HsmsPage() -> impl IntoView {
    view! {
        <PageHeader title="HSMs" lead="The HSM partitions this appliance seeds." />
        <Planned items=vec![
            "Every HSM configuration: name, slot, token serial and label, user type, enabled, last reseed.",
            "Create, edit and delete configurations; partition passwords are write-only.",
            "Reseed now and Test login for each partition.",
        ] />
    }
}
