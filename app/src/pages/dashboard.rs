use leptos::prelude::*;

use crate::components::history_table::HistoryTable;
use crate::components::live::Live;
use crate::components::page::PageHeader;
use crate::components::table::DataTable;
use crate::model::{
    ago, until, when, ApplianceState, ConfigState, DashboardData, EntropyState, EntropyStatus,
    HourBucket, HsmConfig,
};
use crate::server_fns::status::{dashboard, RestartEntropy};

/// How often the dashboard refreshes itself while visible.
pub const REFRESH_SECS: u32 = 5;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = crate::codec::once(dashboard());
    view! {
        <PageHeader title="Dashboard" lead="The state of the appliance at a glance." />
        <Live id="dashboard" every=REFRESH_SECS>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => view! { <Dashboard d=d /> }.into_any(),
                        Err(e) => crate::components::flash::load_error(e),
                    }
                })}
            </Suspense>
        </Live>
    }
}

#[component]
fn Dashboard(d: DashboardData) -> impl IntoView {
    let e = d.entropy.clone();
    let failed_class = if d.failures_24h > 0 { "bad-text" } else { "" };
    let entropy_ok = e.state == EntropyState::Ok;
    // Several sources, or a remote one: a table of them below.
    let several_sources =
        d.entropy_sources.len() > 1 || d.entropy_sources.iter().any(|s| s.remote.is_some());
    let period = if d.schedule.period_minutes == 0 {
        "off (on demand only)".to_string()
    } else {
        let m = d.schedule.period_minutes;
        format!("every {m} minute{}", if m == 1 { "" } else { "s" })
    };
    let held_list: Vec<(String, crate::model::LoginHold)> = d
        .configs
        .iter()
        .filter_map(|c| c.held.clone().map(|h| (c.name.clone(), h)))
        .collect();
    let failing: Vec<&HsmConfig> = d
        .configs
        .iter()
        .filter(|c| matches!(c.state, ConfigState::Failing | ConfigState::Unsupported))
        .collect();
    // Beyond the rows listed (a fleet of thousands), a link to the rest.
    let more = |n: u32, state: &str| {
        (n > 0).then(|| {
            view! {
                <p>
                    <a href=format!("/hsms?state={state}")>{format!("{n} more {state} on the HSMs page")}</a>
                </p>
            }
        })
    };
    let listed = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let listed_in =
        |state: ConfigState| listed(failing.iter().filter(|c| c.state == state).count());
    let more_failing = (
        more(
            d.counts
                .failing
                .saturating_sub(listed_in(ConfigState::Failing)),
            "failing",
        ),
        more(
            d.counts
                .unsupported
                .saturating_sub(listed_in(ConfigState::Unsupported)),
            "unsupported",
        ),
    );
    let more_held = more(
        d.counts.held.saturating_sub(listed(held_list.len())),
        "held",
    );
    let degraded = (d.state == ApplianceState::Degraded).then(|| {
        let enabled = d.counts.total - d.counts.disabled;
        view! {
            <section class="card alarm" aria-labelledby="degraded-title" data-testid="degraded-banner">
                <h2 id="degraded-title">
                    {format!("Degraded: {} of {} enabled configurations not seeded", d.counts.in_trouble(), enabled)}
                </h2>
                <ul>
                    {failing
                        .iter()
                        .map(|c| {
                            let name = c.name.clone();
                            view! {
                                <li>
                                    <span class="badge bad">{name.clone()}</span>
                                    " " {if c.state == ConfigState::Unsupported {
                                        format!("{}: {} — ", crate::model::SEED_NOT_ACCEPTED, crate::model::SEED_NOT_ACCEPTED_TEXT)
                                    } else {
                                        format!(
                                            "{}, {} failed reseed{} in a row — ",
                                            c.last_error.clone().unwrap_or_else(|| "error".into()),
                                            c.failures_in_row,
                                            if c.failures_in_row == 1 { "" } else { "s" },
                                        )
                                    }}
                                    <a href=format!("/hsms/{name}")>"Fix: Edit"</a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                {more_failing}
            </section>
        }
    });
    let held = (!held_list.is_empty()).then(|| {
        view! {
            <section class="card alarm" aria-labelledby="held-title" data-testid="held-banner">
                <h2 id="held-title">"Login held: not seeded"</h2>
                <p>
                    "A failed login holds a configuration: nothing logs in with its password "
                    "again (a Luna HSM locks or zeroizes a partition after repeated failures) "
                    "until you edit it or retry the login."
                </p>
                <ul>
                    {held_list
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
                {more_held}
            </section>
        }
    });
    let state_class = match d.state {
        ApplianceState::Ok => "badge ok",
        ApplianceState::Degraded => "badge warn",
        ApplianceState::NotReady => "badge bad",
    };
    let configs_view = view! {
        <ConfigHealth configs=d.configs.clone() total=d.counts.total now=d.checked_at next=d.schedule.next_run_at />
    };
    view! {
        {degraded}
        {held}
        <div class="grid">
            <section class="card" aria-labelledby="status-title">
                <div class="card-head">
                    <h2 id="status-title">"Appliance"</h2>
                    // A link without JavaScript (reloads the page); with it, a
                    // refresh of the data alone.
                    <a class="button subtle" href="/" data-testid="refresh-status" data-refresh="">
                        "Refresh"
                    </a>
                </div>
                <dl class="facts">
                    <dt>"State"</dt>
                    <dd><span class=state_class data-testid="appliance-state">{d.state.as_str().replace('_', " ")}</span></dd>
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
                    <dd>{format!("{} ({} ok)", d.counts.total, d.counts.ok)}</dd>
                    <dt>"Version"</dt>
                    <dd>{d.version}</dd>
                    <dt>"Checked at"</dt>
                    <dd data-testid="checked-at">{format!("{:02}:{:02}:{:02} UTC", d.checked_at.hour(), d.checked_at.minute(), d.checked_at.second())}</dd>
                </dl>
            </section>
            <section class=if entropy_ok { "card" } else { "card alarm" } aria-labelledby="entropy-title">
                <div class="card-head">
                    <h2 id="entropy-title">
                        {if several_sources { "Entropy" } else { "Entropy source" }}
                    </h2>
                    <span class=if entropy_ok { "badge ok" } else { "badge bad" } data-testid="entropy-state">
                        {e.state.as_str()}
                    </span>
                </div>
                <dl class="facts">
                    {if several_sources {
                        view! {
                            <dt>"Sources"</dt>
                            <dd>
                                {format!("{} ", d.entropy_sources.len())}
                                <a href="#sources-title">"(below)"</a>
                            </dd>
                            <dt>"Mix"</dt>
                            <dd>
                                {if d.entropy_mix == "any" {
                                    "any: the healthy ones (at least one)"
                                } else {
                                    "all: every source must be healthy"
                                }}
                            </dd>
                        }
                        .into_any()
                    } else {
                        view! {
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
                        }
                        .into_any()
                    }}
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
                            <ActionForm action={ServerAction::<RestartEntropy>::new()}>
                                <button type="submit" class="button">"Run the start-up test again"</button>
                            </ActionForm>
                        }
                    })}
            </section>
        </div>
        {several_sources.then(|| view! { <SourceTable sources=d.entropy_sources.clone() mix=d.entropy_mix.clone() /> })}
        {configs_view}
        <Certificates certs=d.certificates.clone() now=d.checked_at />
        <Fleet appliances=d.fleet.clone() this=d.this_appliance.clone() now=d.checked_at />
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

/// Each source's state when there are several or one is remote: state,
/// bytes, failures, and a remote fetcher's state, latency and last error.
#[component]
fn SourceTable(sources: Vec<EntropyStatus>, mix: String) -> impl IntoView {
    let rows = sources
        .into_iter()
        .map(|s| {
            let ok = s.state == EntropyState::Ok;
            let (fetcher, latency, error) = match &s.remote {
                Some(r) => (
                    format!("{}, {} B ready", r.state, r.buffered),
                    r.last_latency_ms
                        .map(|ms| format!("{ms:.1} ms"))
                        .unwrap_or_else(|| "—".into()),
                    r.last_error.clone().unwrap_or_default(),
                ),
                None => ("local".to_string(), "—".to_string(), String::new()),
            };
            let error = if error.is_empty() {
                s.last_failure.map(|f| f.detail).unwrap_or_default()
            } else {
                error
            };
            view! {
                <tr data-testid="entropy-source-row">
                    <td><code>{s.source}</code></td>
                    <td><span class=if ok { "badge ok" } else { "badge bad" }>{s.state.as_str()}</span></td>
                    <td>{fetcher}</td>
                    <td>{s.bytes_read}</td>
                    <td>{s.permanent_failures}</td>
                    <td>{latency}</td>
                    <td class="wrap">{error}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="sources-title">
            <div class="card-head">
                <h2 id="sources-title">"Entropy sources"</h2>
                <span class="muted">
                    {if mix == "any" {
                        "each seed is extracted from every healthy source (at least one)"
                    } else {
                        "each seed is extracted from every source; all must be healthy"
                    }}
                </span>
            </div>
            <DataTable
                testid="entropy-sources"
                headers=&["Source", "State", "Fetcher", "Bytes", "Failures", "Latency", "Last error"]
            >
                {rows}
            </DataTable>
        </section>
    }
}

/// The height of `v` on a chart `h` high whose top is `max`, rounded; never
/// 0 for a count that is not (one failure in ten thousand reseeds shows).
fn bar_height(v: i64, max: i64, h: i64) -> i64 {
    if v <= 0 || max <= 0 {
        0
    } else {
        ((v * h + max / 2) / max).clamp(1, h)
    }
}

/// Reseeds (and failures, in red) per hour: a server-rendered SVG bar chart.
#[component]
fn HourChart(hours: Vec<HourBucket>) -> impl IntoView {
    if hours.iter().all(|b| b.ok + b.failed == 0) {
        return view! {
            <p class="muted chart-empty" data-testid="chart-empty">
                "No reseed in the last 24 hours: nothing to chart yet."
            </p>
        }
        .into_any();
    }
    let max = hours
        .iter()
        .map(|h| h.ok + h.failed)
        .max()
        .unwrap_or(0)
        .max(1);
    // Whole units (px at the chart's own size).
    let (w, h, gap): (i64, i64, i64) = (24, 120, 4);
    let height = |v: i64| bar_height(v, max, h);
    // The y-axis: room on the left for the counts at 0, half and the top.
    let left = 8 * max.to_string().len() as i64 + 10;
    let width = left + hours.len() as i64 * (w + gap);
    let ticks = [0, max / 2, max]
        .into_iter()
        .enumerate()
        .filter(|(i, v)| *i == 0 || *v > 0)
        .map(|(_, v)| {
            let y = h - height(v);
            view! {
                <text x=left - 6 y=y + 4 class="axis" text-anchor="end">{v.to_string()}</text>
                <line x1=left - 3 y1=y x2=left y2=y class="axis-line" />
            }
        })
        .collect_view();
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = left + i as i64 * (w + gap);
            let failed_h = height(b.failed);
            let total_h = height(b.ok + b.failed).max(failed_h);
            let ok_h = total_h - failed_h;
            let label_text = format!("{:02}:00", b.hour.hour());
            let title = format!("{label_text} UTC: {} reseeded, {} failed", b.ok, b.failed);
            let label = (i % 3 == 0).then(|| {
                view! {
                    <text x=x + w / 2 y=h + 14 class="axis" text-anchor="middle">
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
            // 8 units above the top for the top count's label.
            viewBox=format!("0 -8 {width} {}", h + 26)
            role="img"
            aria-label="Reseeds and failures per hour over the last 24 hours"
            data-testid="hour-chart"
        >
            <line x1=left y1=h x2=width y2=h class="axis-line" />
            <line x1=left y1="0" x2=left y2=h class="axis-line" />
            {ticks}
            {bars}
        </svg>
    }
    .into_any()
}

/// Every configuration's health: its state, its last good reseed and how
/// long ago, its failures in a row with the last error and the way to fix
/// it, and when the schedule runs it next.
#[component]
fn ConfigHealth(
    configs: Vec<HsmConfig>,
    /// How many configurations there are (more than `configs` lists when
    /// there are many).
    total: u32,
    /// The server's time of the answer.
    now: time::OffsetDateTime,
    /// When the schedule runs next, if it runs.
    next: Option<time::OffsetDateTime>,
) -> impl IntoView {
    let shown = u32::try_from(configs.len()).unwrap_or(u32::MAX);
    let more = (total > shown).then(|| {
        view! {
            <p class="muted" data-testid="config-health-more">
                {format!("The first {shown} of {total} (those in trouble first). ")}
                <a href="/hsms">"All on the HSMs page"</a>
                ", searchable and filtered by state."
            </p>
        }
    });
    view! {
        <section class="card" aria-labelledby="configs-title">
            <div class="card-head">
                <h2 id="configs-title">"HSM configurations"</h2>
                <a href="/hsms">"Manage"</a>
            </div>
            {more}
            {if configs.is_empty() {
                view! { <p class="muted">"No configuration yet: add one on the HSMs page."</p> }.into_any()
            } else {
                view! {
                    <DataTable testid="config-health" headers=&["Configuration", "State", "Last good reseed", "Failures in a row", "Next reseed"]>
                        {configs
                            .into_iter()
                            .map(|c| {
                                let name = c.name.clone();
                                let badge = match c.state {
                                    ConfigState::Ok => "badge ok",
                                    ConfigState::Failing | ConfigState::Held | ConfigState::Unsupported => "badge bad",
                                    _ => "badge muted",
                                };
                                let last_good = c
                                    .last_ok_at
                                    .map(|t| format!("{} ({})", when(t), ago(t, now)))
                                    .unwrap_or_else(|| "never".into());
                                let failures = match c.state {
                                    ConfigState::Failing => format!(
                                        "{}: {}",
                                        c.failures_in_row,
                                        c.last_error.clone().unwrap_or_else(|| "error".into())
                                    ),
                                    ConfigState::Held => c
                                        .held
                                        .as_ref()
                                        .map(|h| format!("login held: {}", h.ckr))
                                        .unwrap_or_default(),
                                    ConfigState::Unsupported => "token does not accept seeds".into(),
                                    _ => "0".into(),
                                };
                                let fix = c.state.is_trouble().then(|| {
                                    view! { " " <a href=format!("/hsms/{name}")>"Fix: Edit"</a> }
                                });
                                let scheduled = c.state != ConfigState::Disabled
                                    && c.state != ConfigState::Held
                                    && c.state != ConfigState::Unsupported
                                    && c.is_complete();
                                let next_text = match next {
                                    Some(t) if scheduled => until(t, now),
                                    _ => "—".into(),
                                };
                                view! {
                                    <tr data-config=name.clone() data-state=c.state.as_str()>
                                        <td class="name"><a href=format!("/hsms/{name}")>{name.clone()}</a></td>
                                        <td><span class=badge>{c.state.as_str()}</span></td>
                                        <td>{last_good}</td>
                                        <td><span class="nowrap">{failures}</span> {fix}</td>
                                        <td>{next_text}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                            </DataTable>
                }
                    .into_any()
            }}
        </section>
    }
}

/// The appliances sharing the database (shown once there are two): each
/// with its last heartbeat (red when silent), its version and its reseeds
/// this hour.
#[component]
fn Fleet(
    appliances: Vec<types::fleet::Appliance>,
    this: String,
    now: time::OffsetDateTime,
) -> impl IntoView {
    (appliances.len() > 1).then(|| {
        view! {
            <section class="card" aria-labelledby="fleet-title">
                <div class="card-head">
                    <h2 id="fleet-title">"Appliances"</h2>
                    <span class="muted">"sharing this database"</span>
                </div>
                <DataTable testid="fleet" headers=&["Appliance", "Heard from", "Reseeds this hour", "Version"]>
                    {appliances
                        .into_iter()
                        .map(|a| {
                            let silent = a.is_silent(now);
                            let me = a.id == this;
                            view! {
                                <tr data-appliance=a.id.clone() data-silent=silent.to_string()>
                                    <td class="name">{a.id.clone()} {me.then(|| view! { " " <span class="muted">"(this one)"</span> })}</td>
                                    <td>
                                        <span class=if silent { "badge bad" } else { "badge ok" }>{if silent { "silent" } else { "alive" }}</span>
                                        " " <span class="muted">{ago(a.heartbeat_at, now)}</span>
                                    </td>
                                    <td>{a.reseeds_this_hour}</td>
                                    <td><code>{a.version}</code></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </DataTable>
            </section>
        }
    })
}

/// Each certificate of the trust link and how long it is still valid; a
/// red badge from 30 days before its end.
#[component]
fn Certificates(certs: Vec<crate::model::CertExpiry>, now: time::OffsetDateTime) -> impl IntoView {
    (!certs.is_empty()).then(|| {
        view! {
            <section class="card" aria-labelledby="certs-title">
                <div class="card-head">
                    <h2 id="certs-title">"Certificates"</h2>
                    <a href="/trust">"Trust link"</a>
                </div>
                <ul class="plain" data-testid="cert-expiries">
                    {certs
                        .into_iter()
                        .map(|c| {
                            let soon = c.cert.expires_soon(now) || now > c.cert.not_after;
                            let label = c.name.clone();
                            view! {
                                <li data-cert=label data-soon=soon.to_string()>
                                    {c.name} ": valid to " {when(c.cert.not_after)} " "
                                    <span class=if soon { "badge bad" } else { "badge ok" }>
                                        {c.cert.expiry_text(now)}
                                    </span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::bar_height;

    #[test]
    fn bars_are_whole_units_and_a_count_never_vanishes() {
        assert_eq!(bar_height(0, 10, 120), 0);
        assert_eq!(bar_height(10, 10, 120), 120);
        assert_eq!(bar_height(5, 10, 120), 60);
        assert_eq!(bar_height(1, 10_000, 120), 1, "one failure still shows");
        assert_eq!(bar_height(1, 3, 120), 40);
        assert_eq!(bar_height(2, 3, 120), 80);
        assert_eq!(bar_height(7, 0, 120), 0);
    }
}
