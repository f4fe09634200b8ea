//! Parts of a page that keep themselves current: the page's island fetches
//! the page again every few seconds while the tab is visible (nothing
//! while it is hidden) and puts the new content of each live region in
//! place, without a reload (see [`crate::components::enhance`]).

use leptos::prelude::*;

/// A live region: its content drawn again every `every` seconds (and
/// after every form's answer). `id` names it on the page.
#[component]
pub fn Live(id: &'static str, every: u32, children: Children) -> impl IntoView {
    view! {
        <div id=id data-live="" data-live-every=every.to_string()>
            {children()}
        </div>
    }
}
