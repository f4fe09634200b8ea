use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use types::limits;

/// What a login outcome code in the query string means. Only fixed texts
/// are shown: nothing from the query is echoed.
fn message(code: &str) -> Option<(&'static str, &'static str)> {
    match code {
        "invalid" => Some(("error", "Invalid user name or password.")),
        "throttled" => Some(("error", "Too many failed attempts. Try again in a minute.")),
        "expired" => Some(("info", "Your session has ended. Please sign in again.")),
        "signed_out" => Some(("info", "You have been signed out.")),
        "required" => Some(("info", "Please sign in to continue.")),
        _ => None,
    }
}

/// The sign-in form: an ordinary form post to `/login`, so it works with or
/// without JavaScript.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let notice = move || query.with(|q| q.get("m").and_then(|c| message(&c)));
    // The page asked for before sign-in; the server checks it again.
    let next = move || {
        query.with(|q| {
            q.get("next")
                .filter(|n| n.starts_with('/') && !n.starts_with("//") && n.len() <= 512)
        })
    };
    // The user name typed before a refusal (the server sends back only a
    // valid one); the password is never sent back.
    let user = query
        .with_untracked(|q| q.get("user"))
        .filter(|u| types::check_user_name(u).is_ok())
        .unwrap_or_default();
    view! {
        <Title text="Sign in" />
        <main class="standalone">
            <section class="card narrow login">
                <div class="brand login-brand">
                    <span class="brand-mark" aria-hidden="true"></span>
                    <span class="brand-name">"hsmseed"</span>
                </div>
                <h1>"Sign in"</h1>
                {move || {
                    notice()
                        .map(|(kind, text)| {
                            view! {
                                <p class=format!("notice {kind}") role="alert" data-testid="login-message">
                                    {text}
                                </p>
                            }
                        })
                }}
                <form method="post" action="/login" class="stack">
                    {move || next().map(|n| view! { <input type="hidden" name="next" value=n /> })}
                    <label for="username">"User name"</label>
                    <input
                        id="username"
                        name="username"
                        type="text"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        maxlength=limits::NAME.to_string()
                        value=user
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                        maxlength=limits::ADMIN_PASSWORD_MAX.to_string()
                    />
                    <label class="check">
                        <input
                            type="checkbox"
                            data-testid="show-password"
                            data-shows="password"
                        />
                        "Show password"
                    </label>
                    <button type="submit" class="button primary">"Sign in"</button>
                </form>
            </section>
        </main>
        <crate::components::enhance::Enhance />
    }
}
