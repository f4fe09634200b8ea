//! The data table every page uses: its header row, and a wrapper that
//! scrolls inside its card rather than widening the page.

use leptos::prelude::*;

#[component]
pub fn DataTable(
    /// The `data-testid` of the table.
    testid: &'static str,
    headers: &'static [&'static str],
    /// The body rows.
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data" data-testid=testid>
                <thead>
                    <tr>{headers.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
