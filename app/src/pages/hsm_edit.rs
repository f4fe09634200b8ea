use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::flash::{action_notice, text_flash};
use crate::components::page::PageHeader;
use crate::model::{when, HsmView, RETRY_WARNING};
use crate::pages::hsms::{user_types, SO_CONFIRM};
use crate::server_fns::hsms::{get_hsm, DeleteHsm, EditHsm, RetryLoginHsm};
use types::limits;

/// One configuration: edit (a blank password keeps the current one) and
/// delete (with confirmation).
#[component]
pub fn HsmEditPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let edit = ServerAction::<EditHsm>::new();
    let delete = ServerAction::<DeleteHsm>::new();
    let retry = ServerAction::<RetryLoginHsm>::new();
    let data = Resource::new(
        move || (name(), edit.version().get(), retry.version().get()),
        |(n, _, _)| get_hsm(n),
    );
    view! {
        <PageHeader title=format!("HSM {}", name()) lead="Edit this configuration, like hsm-conf-edit." />
        <p><a href="/hsms">"← All configurations"</a></p>
        {action_notice(edit, text_flash)}
        {action_notice(delete, text_flash)}
        {action_notice(retry, text_flash)}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(c) => view! { <EditForm c=c edit=edit delete=delete retry=retry /> }.into_any(),
                    Err(e) => crate::components::flash::load_error(e),
                }
            })}
        </Transition>
    }
}

#[component]
fn EditForm(
    c: HsmView,
    edit: ServerAction<EditHsm>,
    delete: ServerAction<DeleteHsm>,
    retry: ServerAction<RetryLoginHsm>,
) -> impl IntoView {
    let c = c.config;
    let name = c.name.clone();
    let (edit_name, delete_name, confirm_name) = (name.clone(), name.clone(), name.clone());
    let current_type = c.user_type.as_str();
    let held = c.held.clone().map(|h| {
        let retry_name = name.clone();
        view! {
            <section class="card danger" data-testid="held-card">
                <h2>"Login held: " {h.ckr}</h2>
                <p>
                    "Since " {when(h.since)} ": " {h.detail} ". No scheduled round, API call, console "
                    "command or button logs in with this password again until you change the "
                    "partition password or user type below, or retry the login here."
                </p>
                <p class="notice error" role="note">{RETRY_WARNING}</p>
                <ActionForm action=retry attr:class="stack" attr:data-testid="retry-form">
                    <input type="hidden" name="name" value=retry_name />
                    <label class="check">
                        <input type="checkbox" name="confirm" value="yes" required />
                        "I have read the warning: try the stored password once more"
                    </label>
                    <button type="submit" class="button danger">"Retry login"</button>
                </ActionForm>
            </section>
        }
    });
    view! {
        {held}
        <section class="card">
            <h2>"Settings"</h2>
            <ActionForm action=edit attr:class="form-grid" attr:data-testid="edit-form">
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
        <section class="card danger">
            <h2>"Delete"</h2>
            <ActionForm action=delete attr:class="stack" attr:data-testid="delete-form">
                <input type="hidden" name="name" value=delete_name />
                <label class="check">
                    <input type="checkbox" name="confirm" value="yes" required />
                    "Yes, delete " {confirm_name} " (its history stays)"
                </label>
                <button type="submit" class="button danger">"Delete configuration"</button>
            </ActionForm>
        </section>
    }
}
