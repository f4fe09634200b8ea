use leptos::prelude::*;
use leptos::server::ServerAction;
use leptos::server_fn::ServerFn;

use crate::error::AppError;
use crate::model::Flash;
use crate::server_fns::flash::take_flash;

/// One message box: `ok` or `error`, with an optional secret shown once.
#[component]
pub fn Notice(flash: Flash) -> impl IntoView {
    let class = if flash.kind == "ok" {
        "notice ok"
    } else {
        "notice error"
    };
    let role = if flash.kind == "ok" {
        "status"
    } else {
        "alert"
    };
    view! {
        <div class=class role=role data-testid="notice">
            <p>{flash.text}</p>
            {flash
                .secret
                .map(|s| view! { <pre class="secret" data-testid="secret">{s}</pre> })}
        </div>
    }
}

/// The message a plain form post left for this page (no JavaScript).
#[component]
pub fn PendingFlash() -> impl IntoView {
    let flash = OnceResource::new(take_flash());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                flash.await.ok().flatten().map(|f| view! { <Notice flash=f /> })
            })}
        </Suspense>
    }
}

/// What an action answered, once it did (JavaScript).
pub fn action_notice<A, T>(action: ServerAction<A>, to_flash: fn(&T) -> Flash) -> impl IntoView
where
    A: ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
    A::Output: Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    move || {
        action.value().get().map(|r| {
            let f = match r {
                Ok(v) => to_flash(&v),
                Err(e) => Flash {
                    kind: "error".into(),
                    text: e.to_string(),
                    secret: None,
                },
            };
            view! { <Notice flash=f /> }
        })
    }
}

/// A plain text message as an `ok` flash.
#[expect(
    clippy::ptr_arg,
    reason = "it must fit `fn(&T) -> Flash` for actions answering a String"
)]
pub fn text_flash(s: &String) -> Flash {
    Flash {
        kind: "ok".into(),
        text: s.clone(),
        secret: None,
    }
}

/// What a page shows when its data could not be loaded.
pub fn load_error(e: AppError) -> AnyView {
    view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any()
}
