use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::history_table::HistoryTable;
use crate::components::html::Html;
use crate::components::live::Live;
use crate::components::page::PageHeader;
use crate::model::{when, HsmView, RETRY_WARNING};
use crate::pages::hsms::{seed_forms, user_types, ModuleSelect, SO_CONFIRM};
use crate::server_fns::history::history_page;
use crate::server_fns::hsms::{get_hsm, DeleteHsm, EditHsm, RetryLoginHsm};
use types::limits;

/// One configuration: its state and buttons, edit (a blank password keeps
/// the current one), its own history and delete (with confirmation).
#[component]
pub fn HsmEditPage() -> impl IntoView {
    let params = use_params_map();
    let name = params.with_untracked(|p| p.get("name").unwrap_or_default());
    let data = crate::codec::once(get_hsm(name.clone()));
    // Its own history: the newest reseeds of this configuration, kept
    // current like the History page.
    let history = crate::codec::once(history_page(Some(name.clone()), None, None, Some(1)));
    let link = format!("/history?config={name}");
    view! {
        <PageHeader title=format!("HSM {name}") lead="Edit this configuration, like hsm-conf-edit." />
        <p><a href="/hsms">"← All configurations"</a></p>
        // Its buttons and a held login's card follow what happens (a
        // failed test login holds it); the form below is left alone.
        <Live id="hsm-state" every=10>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(c) => view! { <Actions c=c.clone() /> <Held c=c /> }.into_any(),
                        Err(e) => crate::components::flash::load_error(e),
                    }
                })}
            </Suspense>
        </Live>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move { data.await.ok().map(|c| view! { <EditForm c=c /> }) })}
        </Suspense>
        <section class="card" aria-labelledby="own-history-title">
            <h2 id="own-history-title">"Recent reseeds"</h2>
            <Live id="hsm-history" every=10>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || {
                        let link = link.clone();
                        Suspend::new(async move {
                            match history.await {
                                Ok(h) => {
                                    let more = h.total > h.rows.len() as i64;
                                    view! {
                                        <HistoryTable rows=h.rows />
                                        {more.then(|| view! { <p><a href=link>"All reseeds of this configuration"</a></p> })}
                                    }
                                        .into_any()
                                }
                                Err(e) => crate::components::flash::load_error(e),
                            }
                        })
                    }}
                </Suspense>
            </Live>
        </section>
        <DeleteCard name=name />
    }
}

/// Reseed now and Test login, as on the HSMs page (not while the login is
/// held: the held card says what to do).
#[component]
fn Actions(c: HsmView) -> impl IntoView {
    let c = c.config;
    let complete = c.is_complete();
    (c.held.is_none() && complete).then(|| {
        let mut forms = Html::default();
        seed_forms(&mut forms, &c.name, ("button primary", "button"), None);
        view! {
            <div class="row-form actions-bar" data-testid="hsm-actions" inner_html=forms.into_string()></div>
        }
    })
}

/// A held login: why, and one more try with the stored password.
#[component]
fn Held(c: HsmView) -> impl IntoView {
    let name = c.config.name;
    c.config.held.map(|h| {
        view! {
            <section class="card danger" data-testid="held-card">
                <h2>"Login held: " {h.ckr}</h2>
                <p>
                    "Since " {when(h.since)} ": " {h.detail} ". No scheduled round, API call, console "
                    "command or button logs in with this password again until you change the "
                    "partition password or user type below, or retry the login here."
                </p>
                <p class="notice error" role="note">{RETRY_WARNING}</p>
                <ActionForm action={ServerAction::<RetryLoginHsm>::new()} attr:class="stack" attr:data-testid="retry-form">
                    <input type="hidden" name="name" value=name />
                    <label class="check">
                        <input type="checkbox" name="confirm" value="yes" required />
                        "I have read the warning: try the stored password once more"
                    </label>
                    <button type="submit" class="button danger">"Retry login"</button>
                </ActionForm>
            </section>
        }
    })
}

#[component]
fn EditForm(c: HsmView) -> impl IntoView {
    let modules = c.modules;
    let c = c.config;
    let edit_name = c.name.clone();
    let current_type = c.user_type.as_str();
    view! {
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action={ServerAction::<EditHsm>::new()} attr:class="form-grid" attr:data-testid="edit-form">
                <input type="hidden" name="name" value=edit_name />
                <label for="partition">"Partition name"</label>
                <input id="partition" name="partition_name" type="text" maxlength=limits::PARTITION_NAME.to_string() value=c.partition_name.clone() />
                <label for="pwd">"Partition password"</label>
                <input
                    id="pwd"
                    name="partition_pwd"
                    type="password"
                    autocomplete="new-password"
                    maxlength=limits::PARTITION_PASSWORD.to_string()
                    placeholder=if c.password_set { "unchanged (set)" } else { "not set" }
                />
                <label for="slot">"Slot"</label>
                <input id="slot" name="slot" type="text" inputmode="numeric" maxlength=limits::SLOT_DIGITS.to_string() value=c.slot.map(|s| s.to_string()).unwrap_or_default() />
                {(!modules.is_empty() || c.module.is_some()).then(|| view! {
                    <label for="module">"PKCS#11 module"</label>
                    <ModuleSelect id="module" names=modules current=c.module.clone().unwrap_or_default() />
                })}
                <label for="user">"User type"</label>
                <select id="user" name="user_type">
                    {user_types()
                        .map(|(v, l)| view! { <option value=v selected=v == current_type>{l}</option> })
                        .collect_view()}
                </select>
                <label for="serial">"Pinned token serial"</label>
                <input id="serial" name="token_serial" type="text" maxlength=limits::TOKEN_SERIAL.to_string() value=c.token_serial.clone().unwrap_or_default() placeholder="none: any token in the slot" />
                <span></span>
                <label class="check">
                    <input type="checkbox" name="pin_token" value="yes" />
                    "Pin the token the slot holds now"
                </label>
                <span></span>
                <label class="check">
                    <input type="checkbox" name="confirm_so" value="yes" />
                    {SO_CONFIRM}
                </label>
                <span></span>
                <label class="check">
                    <input type="checkbox" name="enabled" value="yes" checked=c.enabled />
                    "Enabled (scheduled and API reseeds)"
                </label>
                <span></span>
                <button type="submit" class="button primary">"Save"</button>
            </ActionForm>
        </section>
    }
}

/// Deleting, last on the page, under the configuration's history.
#[component]
fn DeleteCard(name: String) -> impl IntoView {
    view! {
        <section class="card danger">
            <h2>"Delete"</h2>
            <ActionForm action={ServerAction::<DeleteHsm>::new()} attr:class="stack" attr:data-testid="delete-form">
                <input type="hidden" name="name" value=name.clone() />
                <label class="check">
                    <input type="checkbox" name="confirm" value="yes" required />
                    "Yes, delete " {name} " (its history stays)"
                </label>
                <button type="submit" class="button danger">"Delete configuration"</button>
            </ActionForm>
        </section>
    }
}
