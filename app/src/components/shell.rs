use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use crate::server_fns::status::current_user;

/// The frame of every signed-in page: header with the user and sign-out,
/// navigation, and the page itself.
#[component]
pub fn AppShell() -> impl IntoView {
    let user = crate::codec::once(current_user());
    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true"></span>
                    <span class="brand-name">"hsmseed"</span>
                    <span class="brand-sub">"entropy appliance"</span>
                </a>
                <div class="user-area">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let name = user.await.unwrap_or_default();
                            view! {
                                <span class="user-name" data-testid="user-name" title="Signed in">
                                    {name}
                                </span>
                            }
                        })}
                    </Suspense>
                    <form method="post" action="/logout" class="inline">
                        <button type="submit" class="button subtle">"Sign out"</button>
                    </form>
                </div>
            </header>
            <nav class="sidebar" aria-label="Main">
                <A href="/" exact=true>"Dashboard"</A>
                <A href="/hsms">"HSMs"</A>
                <A href="/trust">"Trust link"</A>
                <A href="/schedule">"Schedule"</A>
                <A href="/history">"History"</A>
                <A href="/audit">"Audit"</A>
                <A href="/settings">"Settings"</A>
            </nav>
            <main class="content">
                <Outlet />
            </main>
            <crate::components::enhance::Enhance />
        </div>
    }
}
