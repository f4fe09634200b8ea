//! Pages that keep themselves current: their data again every few seconds
//! while the tab is visible (nothing while it is hidden), without a reload.

use std::time::Duration;

use leptos::prelude::*;

/// Refetches `data` every `secs` seconds while the page is visible. An
/// Effect runs in the browser only; the timer stops with the page.
pub fn refresh_every<T>(data: crate::codec::Resource<T>, secs: u64)
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    Effect::new(move |_| {
        let tick = move || {
            if !document().hidden() {
                data.refetch();
            }
        };
        if let Ok(handle) = set_interval_with_handle(tick, Duration::from_secs(secs)) {
            on_cleanup(move || handle.clear());
        }
    });
}
