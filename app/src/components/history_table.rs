use leptos::prelude::*;

use crate::model::{when, HistoryRow};

/// Reseeds as a table, newest first.
#[component]
pub fn HistoryTable(rows: Vec<HistoryRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted" data-testid="history-empty">"No reseed yet."</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="history-table">
                <thead>
                    <tr>
                        <th>"Time"</th>
                        <th>"Configuration"</th>
                        <th>"Slot"</th>
                        <th>"Token"</th>
                        <th>"Trigger"</th>
                        <th>"Bits"</th>
                        <th>"Duration"</th>
                        <th>"Outcome"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            let ok = r.outcome == types::Outcome::Ok;
                            let (trigger, outcome) = (r.trigger.as_str(), r.outcome.as_str());
                            view! {
                                <tr data-trigger=trigger data-outcome=outcome>
                                    <td class="nowrap">{when(r.at)}</td>
                                    <td>{r.config_name}</td>
                                    <td>{r.slot.map(|s| s.to_string()).unwrap_or_default()}</td>
                                    <td>{r.token_serial.unwrap_or_default()}</td>
                                    <td>{r.trigger.as_str()}</td>
                                    <td>{r.bits}</td>
                                    <td class="nowrap">{format!("{:.1} ms", r.duration_ms)}</td>
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
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
