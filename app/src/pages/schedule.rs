use leptos::prelude::*;

use crate::components::page::PageHeader;
use crate::model::when;
use crate::server_fns::schedule::{get_schedule, SetPeriod};

#[component]
pub fn SchedulePage() -> impl IntoView {
    let data = crate::codec::once(get_schedule());
    view! {
        <PageHeader
            title="Schedule"
            lead="How often every enabled partition is reseeded, like hsm-conf-seed --period."
        />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(s) => {
                        let current = s.period_minutes;
                        view! {
                            <section class="card">
                                <dl class="facts">
                                    <dt>"Period"</dt>
                                    <dd data-testid="period">
                                        {if current == 0 {
                                            "off: on-demand reseeding only".to_string()
                                        } else {
                                            format!("every {current} minute{}", if current == 1 { "" } else { "s" })
                                        }}
                                    </dd>
                                    <dt>"Next round"</dt>
                                    <dd data-testid="next-run">{s.next_run_at.map(when).unwrap_or_else(|| "—".into())}</dd>
                                    <dt>"Last round"</dt>
                                    <dd>{s.last_round.map(|r| round_text(&r)).unwrap_or_else(|| "—".into())}</dd>
                                </dl>
                            </section>
                            <section class="card">
                                <h2>"Change the period"</h2>
                                <ActionForm action={ServerAction::<SetPeriod>::new()} attr:class="row-form" attr:data-testid="period-form">
                                    <label for="period">"Reseed"</label>
                                    <select id="period" name="period">
                                        <option value="0" selected=current == 0>"never (on demand only)"</option>
                                        {(1..=9u8)
                                            .map(|m| {
                                                view! {
                                                    <option value=m.to_string() selected=current == m>
                                                        {format!("every {m} minute{}", if m == 1 { "" } else { "s" })}
                                                    </option>
                                                }
                                            })
                                            .collect_view()}
                                    </select>
                                    <button type="submit" class="button primary">"Save"</button>
                                </ActionForm>
                                <p class="muted">
                                    "Each round reseeds every enabled configuration once with 256 bits. "
                                    "A round still running when the next is due makes that one skip; after "
                                    "downtime the schedule starts afresh, with no burst of missed rounds."
                                </p>
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

/// `2026-11-28 06:07:22 UTC: 2 reseeded, 0 failed, in 12 ms`
fn round_text(r: &types::schedule::RoundReport) -> String {
    format!(
        "{}: {} reseeded, {} failed, in {:.0} ms",
        when(r.started_at),
        r.ok,
        r.failed,
        r.duration_ms
    )
}
