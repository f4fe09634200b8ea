use leptos::prelude::*;

use crate::components::flash::{action_notice, text_flash};
use crate::components::page::{PageHeader, Planned};
use crate::model::Flash;
use crate::server_fns::tokens::{list_tokens, CreateToken, RevokeToken};

fn token_flash(r: &(String, String)) -> Flash {
    Flash {
        kind: "ok".into(),
        text: r.0.clone(),
        secret: Some(r.1.clone()),
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    view! {
        <PageHeader title="Settings" lead="API tokens, users and your own password." />
        <section class="card" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"API tokens"</h2>
            <p class="muted">
                "For automation: " <code>"curl -H 'Authorization: Bearer TOKEN' -X POST https://APPLIANCE/api/2.0/hsmseed?name=HSM1"</code>
                ". A token is shown once and stored only as a hash. Scope "
                <code>"seed"</code> " may reseed; scope " <code>"read"</code>
                " may read configurations, history and status."
            </p>
            {action_notice(create, token_flash)}
            {action_notice(revoke, text_flash)}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No token yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="data" data-testid="token-table">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Scope"</th>
                                            <th>"Begins with"</th>
                                            <th>"Created"</th>
                                            <th>"Last used"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|t| {
                                                let revoke_name = t.name.clone();
                                                view! {
                                                    <tr data-token=t.name.clone()>
                                                        <td>{t.name.clone()}</td>
                                                        <td><code>{t.scope}</code></td>
                                                        <td><code>{t.prefix}"…"</code></td>
                                                        <td>{t.created_at} <span class="muted">" by " {t.created_by}</span></td>
                                                        <td>{t.last_used_at.unwrap_or_else(|| "never".into())}</td>
                                                        <td>
                                                            <ActionForm action=revoke attr:class="inline">
                                                                <input type="hidden" name="name" value=revoke_name />
                                                                <button type="submit" class="button subtle danger" data-testid="revoke">"Revoke"</button>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                            .into_any(),
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <h3>"New token"</h3>
            <ActionForm action=create attr:class="row-form" attr:data-testid="token-form">
                <label for="t-name">"Name"</label>
                <input id="t-name" name="name" type="text" required maxlength="64" placeholder="key-ceremony" />
                <label for="t-scope">"Scope"</label>
                <select id="t-scope" name="scope">
                    <option value="seed">"seed"</option>
                    <option value="read">"read"</option>
                </select>
                <button type="submit" class="button primary">"Create token"</button>
            </ActionForm>
        </section>
        <Planned items=vec![
            "Administrators: add and remove.",
            "Change your own password.",
        ] />
    }
}
