//! Messages: what an action answered, drawn by the server into the page
//! the form post returns to, and the places a page keeps for them.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Flash;
use crate::server_fns::flash::take_flash;

/// One message box: `ok` or `error`, with an optional secret shown once,
/// and for an error about a configuration a link to its edit page.
#[component]
pub fn Notice(flash: Flash) -> impl IntoView {
    let ok = flash.kind == "ok";
    view! {
        <div class=if ok { "notice ok" } else { "notice error" } role=if ok { "status" } else { "alert" } data-testid="notice">
            <p>{flash.text}</p>
            {flash
                .secret
                .map(|s| view! {
                    <pre class="secret" data-testid="secret">{s}</pre>
                    <CopyButton />
                })}
            {flash.edit.map(|name| view! {
                <p class="notice-link">
                    <a href=format!("/hsms/{name}") data-testid="notice-edit">{format!("Edit {name}")}</a>
                </p>
            })}
        </div>
    }
}

/// Copies the text of the element just before it to the clipboard (once
/// the page's island runs), and says so.
#[component]
pub fn CopyButton() -> impl IntoView {
    view! {
        <button type="button" class="button subtle copy" data-testid="copy" data-copy="">"Copy"</button>
    }
}

/// Where a part of a page shows the answers of its forms (those with
/// `data-notice=id`); the page's island puts each answer there, replacing
/// the one before.
#[component]
pub fn NoticeSlot(id: &'static str) -> impl IntoView {
    view! { <div class="notice-slot" id=format!("notice-{id}")></div> }
}

/// The message a form post left for this page, under its title: where
/// every answer is without JavaScript (the island moves it to the form's
/// own slot).
#[component]
pub fn PendingFlash() -> impl IntoView {
    let flash = crate::codec::once(take_flash());
    view! {
        <div class="notice-slot" id="notice-page">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    flash.await.ok().flatten().map(|f| view! { <Notice flash=f /> })
                })}
            </Suspense>
        </div>
    }
}

/// What a page shows when its data could not be loaded.
pub fn load_error(e: AppError) -> AnyView {
    view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any()
}
