use leptos::prelude::*;

use crate::components::page::{PageHeader, Planned};

#[component]
pub fn TrustPage() -> impl IntoView {
    view! {
        <PageHeader title="Trust link" lead="The Network Trust Link between the appliance and your HSMs." />
        <Planned items=vec![
            "The HSM server list: upload each HSM's server.pem with its address.",
            "The appliance's client certificate: create, show and download it.",
            "The slots the PKCS#11 module sees (ntl-verify).",
        ] />
    }
}
