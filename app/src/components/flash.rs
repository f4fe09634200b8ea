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
                .map(|s| view! {
                    <pre class="secret" data-testid="secret">{s.clone()}</pre>
                    <CopyButton text=s />
                })}
        </div>
    }
}

/// Copies `text` to the clipboard (once the page is interactive), and
/// says so.
#[component]
pub fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _promise = window().navigator().clipboard().write_text(&text);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="button subtle copy" data-testid="copy" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

/// The message a plain form post left for this page (no JavaScript).
#[component]
pub fn PendingFlash() -> impl IntoView {
    let flash = crate::codec::once(take_flash());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                flash.await.ok().flatten().map(|f| view! { <Notice flash=f /> })
            })}
        </Suspense>
    }
}

/// The one message area of a page (or of a part of it): it shows what the
/// latest action answered, replacing the one before, and clears itself
/// while the next action runs, so that no stale or repeated message stays.
/// An error about a configuration links to its edit page.
#[derive(Clone, Copy)]
pub struct PageNotice(RwSignal<Option<(Flash, Option<String>)>>);

impl Default for PageNotice {
    fn default() -> Self {
        PageNotice(RwSignal::new(None))
    }
}

impl PageNotice {
    /// Shows what `action` answers.
    pub fn follow<A, T>(self, action: ServerAction<A>, to_flash: fn(&T) -> Flash) -> Self
    where
        A: ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        self.follow_config(action, to_flash, |_| None)
    }

    /// Shows what `action` answers; an error links to the edit page of the
    /// configuration `config_of` names in the action's input.
    pub fn follow_config<A, T>(
        self,
        action: ServerAction<A>,
        to_flash: fn(&T) -> Flash,
        config_of: fn(&A) -> Option<String>,
    ) -> Self
    where
        A: ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
        T: Clone + Send + Sync + 'static,
    {
        let slot = self.0;
        // The input is gone once the action has answered: keep the name
        // while it runs.
        let about = StoredValue::new(None::<String>);
        Effect::new(move |_| {
            if action.pending().get() {
                about.set_value(action.input().get_untracked().as_ref().and_then(config_of));
                slot.set(None);
                return;
            }
            let Some(result) = action.value().get() else {
                return;
            };
            let shown = match result {
                Ok(v) => (to_flash(&v), None),
                Err(e) => (
                    Flash {
                        kind: "error".into(),
                        text: e.to_string(),
                        secret: None,
                    },
                    about.get_value(),
                ),
            };
            slot.set(Some(shown));
        });
        self
    }

    /// The message, where the page puts it.
    pub fn view(self) -> impl IntoView {
        let slot = self.0;
        move || {
            slot.get().map(|(flash, config)| {
                view! {
                    <button type="button" class="notice-close" aria-label="Dismiss the message" on:click=move |_| slot.set(None)>"×"</button>
                    <Notice flash=flash />
                    {config.map(|name| view! {
                        <p class="notice-link">
                            <a href=format!("/hsms/{name}") data-testid="notice-edit">{format!("Edit {name}")}</a>
                        </p>
                    })}
                }
            })
        }
    }
}

/// A form that starts empty again once `action` has succeeded (a second
/// click must not create the same thing twice, or keep a password filled
/// in); give the answer to the form as its `node_ref`.
pub fn empties_after<A, T>(action: ServerAction<A>) -> NodeRef<leptos::html::Form>
where
    A: ServerFn<Output = T, Error = AppError> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
    form
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
