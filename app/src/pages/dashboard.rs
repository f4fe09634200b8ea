use leptos::prelude::*;

use crate::components::flash::{action_notice, text_flash};
use crate::components::history_table::HistoryTable;
use crate::components::page::PageHeader;
use crate::model::{when, DashboardData, EntropyState, HourBucket};
use crate::server_fns::status::{dashboard, RestartEntropy};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let restart = ServerAction::<RestartEntropy>::new();
    let data = Resource::new(move || restart.version().get(), |_| dashboard());
    view! {
        <PageHeader title="Dashboard" lead="The state of the appliance at a glance." />
        {action_notice(restart, text_flash)}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Dashboard d=d data=data restart=restart /> }.into_any(),
                    Err(e) => crate::components::flash::load_error(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn Dashboard(
    d: DashboardData,
    data: Resource<Result<DashboardData, crate::error::AppError>>,
    restart: ServerAction<RestartEntropy>,
) -> impl IntoView {
    let e = d.entropy.clone();
    let failed_class = if d.failures_24h > 0 { "bad-text" } else { "" };
    let entropy_ok = e.state == EntropyState::Ok;
    let period = if d.schedule.period_minutes == 0 {
        "off (on demand only)".to_string()
    } else {
        format!("every {} min", d.schedule.period_minutes)
    };
    let held = (!d.held.is_empty()).then(|| {
        view! {
            <section class="card alarm" aria-labelledby="held-title" data-testid="held-banner">
                <h2 id="held-title">"Login held: not seeded"</h2>
                <p>
                    "A failed login holds a configuration: nothing logs in with its password "
                    "again (a Luna HSM locks or zeroizes a partition after repeated failures) "
                    "until you edit it or retry the login."
                </p>
                <ul>
                    {d
                        .held
                        .iter()
                        .map(|(name, h)| {
                            view! {
                                <li>
                                    <span class="badge bad">{name.clone()}</span>
                                    " " {h.ckr.clone()} " since " {when(h.since)} " — "
                                    <a href=format!("/hsms/{name}")>"Fix: Edit"</a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    });
    view! {
        {held}
        <div class="grid">
            <section class="card" aria-labelledby="status-title">
                <div class="card-head">
                    <h2 id="status-title">"Appliance"</h2>
                    // A link without JavaScript (reloads the page); with it, a
                    // refresh of the data alone.
                    <a
                        class="button subtle"
                        href="/"
                        data-testid="refresh-status"
                        on:click=move |ev| {
                            ev.prevent_default();
                            data.refetch();
                        }
                    >
                        "Refresh"
                    </a>
                </div>
                <dl class="facts">
                    <dt>"Ready"</dt>
                    <dd>
                        <span class=if d.ready { "badge ok" } else { "badge bad" } data-testid="ready">
                            {if d.ready { "ready" } else { "not ready" }}
                        </span>
                    </dd>
                    <dt>"Database"</dt>
                    <dd>{d.database}</dd>
                    <dt>"Schedule"</dt>
                    <dd data-testid="period">{period}</dd>
                    <dt>"Next round"</dt>
                    <dd data-testid="next-run">{d.schedule.next_run_at.map(when).unwrap_or_else(|| "—".into())}</dd>
                    <dt>"HSM configurations"</dt>
                    <dd>{d.configs}</dd>
                    <dt>"Version"</dt>
                    <dd>{d.version}</dd>
                    <dt>"Checked at"</dt>
                    <dd data-testid="checked-at">{format!("{:02}:{:02}:{:02} UTC", d.checked_at.hour(), d.checked_at.minute(), d.checked_at.second())}</dd>
                </dl>
            </section>
            <section class=if entropy_ok { "card" } else { "card alarm" } aria-labelledby="entropy-title">
                <div class="card-head">
                    <h2 id="entropy-title">"Entropy source"</h2>
                    <span class=if entropy_ok { "badge ok" } else { "badge bad" } data-testid="entropy-state">
                        {e.state.as_str()}
                    </span>
                </div>
                <dl class="facts">
                    <dt>"Source"</dt>
                    <dd><code>{e.source}</code></dd>
                    <dt>"Health tests"</dt>
                    <dd>
                        {if e.full_entropy && e.rct_cutoff == 0 {
                            "not applicable (kernel CSPRNG output)".to_string()
                        } else {
                            format!(
                                "H = {} bits/byte; cutoffs RCT {}, APT {}/512",
                                e.min_entropy_per_byte, e.rct_cutoff, e.apt_cutoff
                            )
                        }}
                    </dd>
                    <dt>"Bytes read"</dt>
                    <dd>{e.bytes_read}</dd>
                    <dt>"Blocks discarded"</dt>
                    <dd>{e.blocks_discarded}</dd>
                    <dt>"Failures"</dt>
                    <dd>{e.permanent_failures}</dd>
                    <dt>"Last failure"</dt>
                    <dd data-testid="entropy-failure">{e.last_failure.map(|f| format!("{}: {} test, {} ({})", when(f.at), f.test, f.detail, f.kind)).unwrap_or_else(|| "none".into())}</dd>
                </dl>
                {(!entropy_ok)
                    .then(|| {
                        view! {
                            <p class="muted">"No seed is delivered while the source is failed."</p>
                            <ActionForm action=restart>
                                <button type="submit" class="button">"Run the start-up test again"</button>
                            </ActionForm>
                        }
                    })}
            </section>
        </div>
        <section class="card" aria-labelledby="activity-title">
            <div class="card-head">
                <h2 id="activity-title">"Reseeds, last 24 hours"</h2>
                <span class="muted">
                    <span data-testid="total-24h">{d.total_24h}</span>
                    " reseeds, "
                    <span class=failed_class data-testid="failures-24h">
                        {d.failures_24h}
                    </span>
                    " failed"
                </span>
            </div>
            <HourChart hours=d.hourly />
        </section>
        <section class="card" aria-labelledby="last-title">
            <div class="card-head">
                <h2 id="last-title">"Last reseeds"</h2>
                <a href="/history">"All history"</a>
            </div>
            <HistoryTable rows=d.last />
        </section>
    }
}

/// Reseeds (and failures, in red) per hour: a server-rendered SVG bar chart.
#[component]
fn HourChart(hours: Vec<HourBucket>) -> impl IntoView {
    let max = hours
        .iter()
        .map(|h| h.ok + h.failed)
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, gap) = (24.0_f64, 120.0_f64, 4.0_f64);
    let width = hours.len() as f64 * (w + gap);
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = i as f64 * (w + gap);
            let total_h = (b.ok + b.failed) as f64 / max as f64 * h;
            let failed_h = b.failed as f64 / max as f64 * h;
            let ok_h = total_h - failed_h;
            let label_text = format!("{:02}:00", b.hour.hour());
            let title = format!("{label_text} UTC: {} reseeded, {} failed", b.ok, b.failed);
            let label = (i % 3 == 0).then(|| {
                view! {
                    <text x=x + w / 2.0 y=h + 14.0 class="axis" text-anchor="middle">
                        {label_text.clone()}
                    </text>
                }
            });
            view! {
                <g>
                    <title>{title}</title>
                    <rect x=x y=h - total_h width=w height=ok_h class="bar-ok" />
                    <rect x=x y=h - failed_h width=w height=failed_h class="bar-failed" />
                    <rect x=x y=0 width=w height=h class="bar-hit" />
                    {label}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="chart"
            viewBox=format!("0 0 {width} {}", h + 18.0)
            role="img"
            aria-label="Reseeds and failures per hour over the last 24 hours"
        >
            <line x1="0" y1=h x2=width y2=h class="axis-line" />
            {bars}
        </svg>
    }
}
