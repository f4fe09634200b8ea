use leptos::prelude::*;
use leptos_meta::Title;

/// The page for an address that does not exist: answers 404 and shows the
/// operation id to quote when reporting it.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let op = {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(http::StatusCode::NOT_FOUND);
        }
        crate::ssr::operation_id()
    };
    #[cfg(not(feature = "ssr"))]
    let op = String::new();
    let op = crate::codec::once(async move { op });
    view! {
        <Title text="Not found" />
        <main class="standalone">
            <section class="card narrow">
                <h1>"Page not found"</h1>
                <p>"There is no page at this address."</p>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let op = op.await;
                        (!op.is_empty())
                            .then(|| view! { <p class="muted">"Operation id: " <code data-testid="operation-id">{op}</code></p> })
                    })}
                </Suspense>
                <p><a href="/">"Back to the dashboard"</a></p>
            </section>
        </main>
    }
}
