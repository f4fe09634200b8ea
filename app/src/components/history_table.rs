use leptos::prelude::*;

use crate::components::table::DataTable;
use crate::model::{when, HistoryRow};

/// Reseeds as a table, newest first.
#[component]
pub fn HistoryTable(rows: Vec<HistoryRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted" data-testid="history-empty">"No reseed yet."</p> }
            .into_any();
    }
    view! {
        <DataTable testid="history-table" headers=&["Time", "Configuration", "Slot, token", "Trigger", "Delivered", "Outcome"]>
            {rows
                .into_iter()
                .map(|r| {
                    let ok = r.outcome == types::Outcome::Ok;
                    let (trigger, outcome) = (r.trigger.as_str(), r.outcome.as_str());
                    view! {
                        <tr data-trigger=trigger data-outcome=outcome>
                            // Which appliance acted (several may share one database).
                            <td class="time">
                                {when(r.at)}
                                {r.appliance.map(|a| view! { <br /><span class="muted" data-testid="appliance">{a}</span> })}
                            </td>
                            <td class="name">{r.config_name}</td>
                            <td>
                                <span class="nowrap">{r.slot.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</span>
                                <br />
                                <span class="muted">{r.token_serial.unwrap_or_else(|| "—".into())}</span>
                            </td>
                            <td>{r.trigger.as_str()}</td>
                            // What was delivered (nothing when the reseed failed), and how long it took.
                            <td class="nowrap">
                                {if ok { format!("{} bits", r.bits) } else { "—".into() }}
                                <br />
                                <span class="muted">{format!("{:.1} ms", r.duration_ms)}</span>
                            </td>
                            <td>
                                {if ok {
                                    view! { <span class="badge ok">"ok"</span> }.into_any()
                                } else {
                                    view! {
                                        <span class="badge bad" title=r.message.unwrap_or_default()>
                                            {r.error_code.unwrap_or_else(|| "error".into())}
                                        </span>
                                    }
                                        .into_any()
                                }}
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
                </DataTable>
    }
    .into_any()
}
