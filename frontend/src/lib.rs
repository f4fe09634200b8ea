//! The WASM entry point. The pages are rendered on the server (Leptos
//! islands mode): the browser only runs the islands, here the one of
//! `app::components::enhance`, which the page's script calls after this.

// The islands are exported from the app crate: it must be linked.
pub use app::components::enhance;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
