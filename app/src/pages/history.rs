use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::history_table::HistoryTable;
use crate::components::page::PageHeader;
use crate::server_fns::history::{history_configs, history_page};

/// `?k=v&...&page=N` from the non-empty filter values (escaped).
pub fn query_string(filters: &[(&str, &str)], page: Option<u32>) -> String {
    let mut parts: Vec<String> = filters
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    if let Some(p) = page {
        parts.push(format!("page={p}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn query(config: &str, trigger: &str, outcome: &str, page: Option<u32>) -> String {
    query_string(
        &[
            ("config", config),
            ("trigger", trigger),
            ("outcome", outcome),
        ],
        page,
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let q = use_query_map();
    let get = move |k: &str| q.with_untracked(|m| m.get(k).unwrap_or_default());
    let data = crate::codec::once(history_page(
        Some(get("config")),
        Some(get("trigger")),
        Some(get("outcome")),
        get("page").parse::<u32>().ok(),
    ));
    let configs = crate::codec::once(history_configs());
    view! {
        <PageHeader title="History" lead="Every reseed, from every trigger. Seed bytes are never stored." />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (config, trigger, outcome) = (get("config"), get("trigger"), get("outcome"));
                let configs = configs.await.unwrap_or_default();
                let csv = format!("/history.csv{}", query(&config, &trigger, &outcome, None));
                view! {
                    <section class="card">
                        <form method="get" action="/history" class="row-form" data-testid="history-filter">
                            <label for="f-config">"Configuration"</label>
                            {match configs {
                                // A few: a choice. Thousands: the name, typed.
                                Some(configs) => view! {
                                    <select id="f-config" name="config">
                                        <option value="">"all"</option>
                                        {configs
                                            .iter()
                                            .map(|c| view! { <option value=c.clone() selected=*c == config>{c.clone()}</option> })
                                            .collect_view()}
                                    </select>
                                }
                                .into_any(),
                                None => view! {
                                    <input id="f-config" name="config" type="search" value=config.clone() maxlength=types::limits::NAME.to_string() placeholder="all (or a configuration's name)" />
                                }
                                .into_any(),
                            }}
                            <label for="f-trigger">"Trigger"</label>
                            <select id="f-trigger" name="trigger">
                                {std::iter::once("")
                                    .chain(types::Trigger::ALL.iter().map(|t| t.as_str()))
                                    .map(|t| view! {
                                        <option value=t selected=t == trigger>{if t.is_empty() { "all" } else { t }}</option>
                                    })
                                    .collect_view()}
                            </select>
                            <label for="f-outcome">"Outcome"</label>
                            <select id="f-outcome" name="outcome">
                                {std::iter::once("")
                                    .chain(types::Outcome::ALL.iter().map(|o| o.as_str()))
                                    .map(|o| view! {
                                        <option value=o selected=o == outcome>{if o.is_empty() { "all" } else { o }}</option>
                                    })
                                    .collect_view()}
                            </select>
                            <button type="submit" class="button">"Filter"</button>
                            <a class="button subtle" href=csv rel="external" data-testid="csv">"Export CSV"</a>
                        </form>
                    </section>
                }
            })}
        </Suspense>
        // The table keeps itself current; the filter form is apart from it,
        // so a choice being made is never redrawn away.
        <crate::components::live::Live id="history" every=10>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (config, trigger, outcome) = (get("config"), get("trigger"), get("outcome"));
                match data.await {
                    Ok(p) => {
                        let pages = ((p.total + i64::from(p.per_page) - 1) / i64::from(p.per_page)).max(1) as u32;
                        let prev = (p.page > 1).then(|| query(&config, &trigger, &outcome, Some(p.page - 1)));
                        let next = (p.page < pages).then(|| query(&config, &trigger, &outcome, Some(p.page + 1)));
                        view! {
                            <section class="card">
                                <p class="muted" data-testid="history-total">
                                    {format!("{} reseed{}", p.total, if p.total == 1 { "" } else { "s" })}
                                </p>
                                <HistoryTable rows=p.rows />
                                <nav class="pager" aria-label="Pages">
                                    {prev.map(|h| view! { <a href=format!("/history{h}") rel="prev">"← Newer"</a> })}
                                    <span class="muted">{format!("page {} of {}", p.page, pages)}</span>
                                    {next.map(|h| view! { <a href=format!("/history{h}") rel="next">"Older →"</a> })}
                                </nav>
                            </section>
                        }
                            .into_any()
                    }
                    Err(e) => crate::components::flash::load_error(e),
                }
            })}
        </Suspense>
        </crate::components::live::Live>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_filters_and_escapes() {
        assert_eq!(query("", "", "", None), "");
        assert_eq!(
            query("HSM1", "api", "", Some(2)),
            "?config=HSM1&trigger=api&page=2"
        );
        assert_eq!(
            query("a b&c", "", "error", None),
            "?config=a%20b%26c&outcome=error"
        );
    }
}
