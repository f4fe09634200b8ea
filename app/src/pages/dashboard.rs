use leptos::prelude::*;

use crate::components::page::PageHeader;
use crate::server_fns::status::system_status;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| system_status());
    view! {
        <PageHeader title="Dashboard" lead="The state of the appliance at a glance." />
        <section class="card" aria-labelledby="status-title">
            <div class="card-head">
                <h2 id="status-title">"Appliance status"</h2>
                // A link without JavaScript (reloads the page); with it, a
                // refresh of this card alone.
                <a
                    class="button subtle"
                    href="/"
                    data-testid="refresh-status"
                    on:click=move |ev| {
                        ev.prevent_default();
                        status.refetch();
                    }
                >
                    "Refresh"
                </a>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Checking…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! {
                            <dl class="facts">
                                <dt>"Ready"</dt>
                                <dd>
                                    <span class=if s.ready { "badge ok" } else { "badge bad" }>
                                        {if s.ready { "ready" } else { "not ready" }}
                                    </span>
                                </dd>
                                <dt>"Database"</dt>
                                <dd>{s.database}</dd>
                                <dt>"Entropy source"</dt>
                                <dd>{s.entropy}</dd>
                                <dt>"Version"</dt>
                                <dd>{s.version}</dd>
                                <dt>"Checked at"</dt>
                                <dd data-testid="checked-at">{s.checked_at}</dd>
                            </dl>
                        }
                        .into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="card planned">
            <h2>"Coming to this page"</h2>
            <ul>
                <li>"Entropy source health, with its counters and last failure."</li>
                <li>"Last and next reseed, failures in the last 24 hours."</li>
                <li>"A chart of reseeds and failures per hour."</li>
            </ul>
        </section>
    }
}
