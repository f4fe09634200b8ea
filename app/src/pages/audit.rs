use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::page::PageHeader;
use crate::model::when;
use crate::pages::history::query_string;
use crate::server_fns::audit::audit_page;

/// The audit groups an action filter offers (prefixes end with a dot).
const ACTIONS: [(&str, &str); 9] = [
    ("", "all"),
    ("login", "sign-in"),
    ("logout", "sign-out"),
    ("hsm.", "HSM configurations and reseeds"),
    ("schedule.", "schedule"),
    ("token.", "API tokens"),
    ("user.", "users"),
    ("ntl.", "trust link"),
    ("entropy.", "entropy source"),
];

#[component]
pub fn AuditPage() -> impl IntoView {
    let q = use_query_map();
    let get = move |k: &str| q.with_untracked(|m| m.get(k).unwrap_or_default());
    let data = crate::codec::once(audit_page(
        Some(get("actor")),
        Some(get("action")),
        Some(get("outcome")),
        get("page").parse::<u32>().ok(),
    ));
    view! {
        <PageHeader title="Audit" lead="Every administrative action, from every door. Append-only: nothing here can be edited or deleted." />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (actor, action, outcome) = (get("actor"), get("action"), get("outcome"));
                match data.await {
                    Ok(p) => {
                        let pages = ((p.total + i64::from(p.per_page) - 1) / i64::from(p.per_page)).max(1) as u32;
                        let filters = [("actor", actor.as_str()), ("action", action.as_str()), ("outcome", outcome.as_str())];
                        let prev = (p.page > 1).then(|| query_string(&filters, Some(p.page - 1)));
                        let next = (p.page < pages).then(|| query_string(&filters, Some(p.page + 1)));
                        view! {
                            <section class="card">
                                <form method="get" action="/audit" class="row-form" data-testid="audit-filter">
                                    <label for="a-actor">"Actor"</label>
                                    <input id="a-actor" name="actor" type="text" maxlength=types::limits::NAME.to_string() value=actor.clone() placeholder="admin, cli, a token name" />
                                    <label for="a-action">"Action"</label>
                                    <select id="a-action" name="action">
                                        {ACTIONS
                                            .into_iter()
                                            .map(|(v, l)| view! { <option value=v selected=v == action>{l}</option> })
                                            .collect_view()}
                                    </select>
                                    <label for="a-outcome">"Outcome"</label>
                                    <select id="a-outcome" name="outcome">
                                        {["", "ok", "error"]
                                            .into_iter()
                                            .map(|o| view! { <option value=o selected=o == outcome>{if o.is_empty() { "all" } else { o }}</option> })
                                            .collect_view()}
                                    </select>
                                    <button type="submit" class="button">"Filter"</button>
                                </form>
                            </section>
                            <section class="card">
                                <p class="muted" data-testid="audit-total">
                                    {format!("{} action{}", p.total, if p.total == 1 { "" } else { "s" })}
                                </p>
                                <div class="table-wrap">
                                    <table class="data" data-testid="audit-table">
                                        <thead>
                                            <tr>
                                                <th>"Time"</th>
                                                <th>"Actor"</th>
                                                <th>"Address"</th>
                                                <th>"Action"</th>
                                                <th>"Target"</th>
                                                <th>"Outcome"</th>
                                                <th>"Detail"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {p.rows
                                                .into_iter()
                                                .map(|r| {
                                                    let ok = r.outcome == types::Outcome::Ok;
                                                    let action = r.action.clone();
                                                    view! {
                                                        <tr data-action=action>
                                                            <td>
                                                                {when(r.at)}
                                                                {r.appliance.map(|a| view! { <br /><span class="muted" data-testid="appliance">{a}</span> })}
                                                            </td>
                                                            <td class="word">{actor_label(&r.actor_kind, r.actor)}</td>
                                                            <td>{r.address.unwrap_or_default()}</td>
                                                            <td><code>{r.action}</code></td>
                                                            <td class="name">{r.target}</td>
                                                            <td>
                                                                <span class=if ok { "badge ok" } else { "badge bad" }>{r.outcome.as_str()}</span>
                                                            </td>
                                                            <td class="detail">{r.detail}</td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <nav class="pager" aria-label="Pages">
                                    {prev.map(|h| view! { <a href=format!("/audit{h}") rel="prev">"← Newer"</a> })}
                                    <span class="muted">{format!("page {} of {}", p.page, pages)}</span>
                                    {next.map(|h| view! { <a href=format!("/audit{h}") rel="next">"Older →"</a> })}
                                </nav>
                            </section>
                        }
                            .into_any()
                    }
                    Err(e) => crate::components::flash::load_error(e),
                }
            })}
        </Suspense>
    }
}

/// Who acted, as the Actor column shows it (`token:NAME` for a token).
fn actor_label(kind: &str, name: String) -> String {
    if kind == "token" {
        format!("token:{name}")
    } else {
        name
    }
}
