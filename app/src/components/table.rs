//! The data table every page uses: its header row, and a wrapper that
//! scrolls inside its card rather than widening the page.

use leptos::prelude::*;

#[component]
pub fn DataTable(
    /// The `data-testid` of the table.
    testid: &'static str,
    headers: &'static [&'static str],
    /// The body rows.
    #[prop(optional)]
    children: Option<Children>,
    /// Or the body rows as HTML text, its values escaped (see
    /// [`crate::components::html`]).
    #[prop(optional)]
    rows: Option<String>,
) -> impl IntoView {
    let body = match rows {
        Some(html) => view! { <tbody inner_html=html></tbody> }.into_any(),
        None => view! { <tbody>{children.map(|c| c())}</tbody> }.into_any(),
    };
    view! {
        <div class="table-wrap">
            <table class="data" data-testid=testid>
                <thead>
                    <tr>{headers.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr>
                </thead>
                {body}
            </table>
        </div>
    }
}
