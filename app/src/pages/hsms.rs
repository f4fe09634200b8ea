use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use types::limits;

use crate::components::flash::{empties_after, text_flash, PageNotice};
use crate::components::page::PageHeader;
use crate::components::table::DataTable;
use crate::model::{when, ConfigState, HsmView, HsmsData, SlotInfo};
use crate::server_fns::hsms::{list_hsms, CreateHsm, ReseedHsm, TestLoginHsm};

/// The user types a partition can be logged in with: `(value, label)`.
pub fn user_types() -> impl Iterator<Item = (&'static str, &'static str)> {
    types::UserType::ALL.iter().map(|u| (u.as_str(), u.label()))
}

/// The checkbox that confirms a configuration logging in as `CKU_SO`.
pub const SO_CONFIRM: &str = "If the user type is CKU_SO: I understand that on a Luna HSM 10 \
    failed Partition SO logins zeroize the partition (every key destroyed)";

#[component]
pub fn HsmsPage() -> impl IntoView {
    let create = ServerAction::<CreateHsm>::new();
    let reseed = ServerAction::<ReseedHsm>::new();
    let test = ServerAction::<TestLoginHsm>::new();
    // The search (`?q=...&state=...&page=N`): a plain GET form and links,
    // so it works without JavaScript too.
    let query = use_query_map();
    let get = move |k: &str| query.with(|m| m.get(k).unwrap_or_default());
    let data = crate::codec::resource(
        move || {
            (
                create.version().get(),
                reseed.version().get(),
                test.version().get(),
                get("q"),
                get("state"),
                get("page").parse::<u32>().ok(),
            )
        },
        |(_, _, _, q, state, page)| list_hsms(Some(q), Some(state), page),
    );
    // The table and the slots stay current (the form below is outside).
    crate::components::live::refresh_every(data, 10);
    // The rows' answers float above the page: the table never moves under
    // the pointer, and each answer replaces the one before.
    let rows_notice = PageNotice::default()
        .follow_config(reseed, text_flash, |a| Some(a.name.clone()))
        .follow_config(test, text_flash, |a| Some(a.name.clone()));
    let create_notice = PageNotice::default().follow(create, text_flash);
    let create_form = empties_after(create);
    // A click on a slot below fills the form's slot (and its module).
    let picked_slot = RwSignal::new(String::new());
    let picked_module = RwSignal::new(DEFAULT_MODULE.to_string());
    // Created: the form starts over, its picks too.
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            picked_slot.set(String::new());
            picked_module.set(DEFAULT_MODULE.to_string());
        }
    });
    view! {
        <PageHeader title="HSMs" lead="The HSM partitions this appliance seeds, one configuration each." />
        <div class="toast" aria-live="polite" data-testid="row-notice">{rows_notice.view()}</div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Configs d=d q=get("q") state=get("state") reseed=reseed test=test pick=picked_slot pick_module=picked_module /> }.into_any(),
                    Err(e) => crate::components::flash::load_error(e),
                }
            })}
        </Transition>
        <section class="card" aria-labelledby="new-title">
            <h2 id="new-title">"New configuration"</h2>
            <p class="muted">
                "Like " <code>"hsm-conf-new"</code> " and " <code>"hsm-conf-edit"</code>
                ". The password is stored encrypted and never shown again."
            </p>
            {create_notice.view()}
            <ActionForm action=create node_ref=create_form attr:class="form-grid" attr:data-testid="create-form">
                <label for="new-name">"Name"</label>
                <input id="new-name" name="name" type="text" required maxlength=limits::NAME.to_string() pattern=format!("[A-Za-z0-9_.\\-]{{1,{}}}", limits::NAME) placeholder="HSM1" />
                <label for="new-partition">"Partition name"</label>
                <input id="new-partition" name="partition_name" type="text" maxlength=limits::PARTITION_NAME.to_string() placeholder="Partition1" />
                <label for="new-pwd">"Partition password"</label>
                <input id="new-pwd" name="partition_pwd" type="password" autocomplete="new-password" maxlength=limits::PARTITION_PASSWORD.to_string() />
                <label for="new-slot">"Slot"</label>
                <input id="new-slot" name="slot" type="text" inputmode="numeric" maxlength=limits::SLOT_DIGITS.to_string() placeholder="1 (or pick a slot in the list)" prop:value=move || picked_slot.get() />
                // With named modules (settings `pkcs11_modules`), which one.
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let names: Vec<String> = data
                            .await
                            .map(|d| d.modules.into_iter().map(|m| m.name).collect())
                            .unwrap_or_default();
                        (!names.is_empty()).then(|| view! {
                            <label for="new-module">"PKCS#11 module"</label>
                            <ModuleSelect id="new-module" names=names current=String::new() picked=Some(picked_module) />
                        })
                    })}
                </Transition>
                <label for="new-user">"User type"</label>
                <select id="new-user" name="user_type">
                    {user_types().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
                <span></span>
                <label class="check">
                    <input type="checkbox" name="pin_token" value="yes" />
                    "Pin the token this slot holds now (refuse to seed another token)"
                </label>
                <span></span>
                <label class="check">
                    <input type="checkbox" name="confirm_so" value="yes" />
                    {SO_CONFIRM}
                </label>
                <span></span>
                <button type="submit" class="button primary">"Create"</button>
            </ActionForm>
        </section>
        <HaNote />
    }
}

#[component]
fn Configs(
    d: HsmsData,
    /// The search's text and state, as the address gives them.
    q: String,
    state: String,
    reseed: ServerAction<ReseedHsm>,
    test: ServerAction<TestLoginHsm>,
    pick: RwSignal<String>,
    pick_module: RwSignal<String>,
) -> impl IntoView {
    let HsmsData {
        configs,
        matching,
        page,
        per_page,
        counts,
        slots,
        slots_error,
        modules,
    } = d;
    let searching = !q.trim().is_empty() || !state.is_empty();
    let pages = matching.max(1).div_ceil(per_page.max(1));
    let (link_q, link_state) = (q.trim().to_string(), state.clone());
    let link = move |p: u32| {
        let (q, state) = (&link_q, &link_state);
        format!(
            "/hsms{}",
            crate::pages::history::query_string(
                &[("q", q), ("state", state)],
                (p > 1).then_some(p)
            )
        )
    };
    // Only worth it beyond one page of configurations.
    let search = (counts.total > per_page || searching).then(|| {
        let states = ConfigState::ALL.iter().map(|s| {
            let n = counts.get(*s);
            let selected = s.as_str() == state;
            view! { <option value=s.as_str() selected=selected>{format!("{} ({n})", s.as_str())}</option> }
        });
        view! {
            <form method="get" action="/hsms" class="row-form" role="search" data-testid="hsm-search">
                <label for="s-text">"Search"</label>
                <input id="s-text" name="q" type="search" value=q.clone() maxlength=limits::SEARCH.to_string() placeholder="name, partition, serial" />
                <label for="s-state">"State"</label>
                <select id="s-state" name="state">
                    <option value="">{format!("any ({})", counts.total)}</option>
                    {states.collect_view()}
                </select>
                <button type="submit" class="button">"Search"</button>
                {searching.then(|| view! { <a href="/hsms">"Clear"</a> })}
            </form>
        }
    });
    let pager = (pages > 1).then(|| {
        let (first, last) = ((page - 1) * per_page + 1, ((page - 1) * per_page + per_page).min(matching));
        view! {
            <nav class="pager" aria-label="Pages" data-testid="hsm-pager">
                {(page > 1).then(|| view! { <a href=link(page - 1) rel="prev">"← Previous"</a> })}
                <span class="muted">{format!("{first}–{last} of {matching} · page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a href=link(page + 1) rel="next">"Next →"</a> })}
            </nav>
        }
    });
    view! {
        <section class="card" aria-labelledby="list-title">
            <h2 id="list-title">"Configurations"</h2>
            {search}
            {if configs.is_empty() && searching {
                view! {
                    <p class="muted" data-testid="no-configs">"No configuration matches the search."</p>
                }
                    .into_any()
            } else if configs.is_empty() {
                view! {
                    <p class="muted" data-testid="no-configs">
                        "No configuration yet. Create one below for each partition you want to seed."
                    </p>
                }
                    .into_any()
            } else {
                view! {
                    <DataTable testid="hsm-table" headers=&["Name", "Partition, slot", "Token now", "Logs in as", "Last reseed", "Actions"]>
                        {configs
                            .into_iter()
                            .map(|c| view! { <ConfigRow c=c reseed=reseed test=test /> })
                            .collect_view()}
                            </DataTable>
                }
                    .into_any()
            }}
            {pager}
        </section>
        <SlotList slots=slots error=slots_error pick=pick pick_module=pick_module />
        {modules
            .into_iter()
            .map(|m| view! {
                <SlotList slots=m.slots error=m.error module=m.name pick=pick pick_module=pick_module />
            })
            .collect_view()}
    }
}

/// The value the module select posts for the default module (a form's
/// empty field reaches a server function as no value at all; the settings
/// refuse a module of this name).
const DEFAULT_MODULE: &str = "default";

/// The choice of PKCS#11 module: the default one (`pkcs11_module`) or one
/// of `names` (`current`: empty for the default); `picked` follows a
/// click on a slot of the list.
#[component]
pub fn ModuleSelect(
    id: &'static str,
    names: Vec<String>,
    current: String,
    picked: Option<RwSignal<String>>,
) -> impl IntoView {
    // A module the settings no longer name stays chosen, and says so: a
    // save must not move the configuration to another module unasked.
    let gone = (!current.is_empty() && !names.contains(&current)).then(|| current.clone());
    let options = move || {
        let default_selected = current.is_empty();
        view! {
            <option value=DEFAULT_MODULE selected=default_selected>"default (pkcs11_module)"</option>
            {names
                .iter()
                .map(|n| {
                    let selected = *n == current;
                    view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                })
                .collect_view()}
            {gone.clone().map(|g| view! {
                <option value=g.clone() selected=true>{format!("{g} (not in the settings)")}</option>
            })}
        }
    };
    match picked {
        // The choice lives in `p`: the list refreshes (and this select is
        // drawn again) while the administrator fills in the form.
        Some(p) => view! {
            <select id=id name="module" prop:value=move || p.get() on:change=move |ev| p.set(event_target_value(&ev))>
                {options()}
            </select>
        }
        .into_any(),
        None => view! { <select id=id name="module">{options()}</select> }.into_any(),
    }
}

#[component]
fn ConfigRow(
    c: HsmView,
    reseed: ServerAction<ReseedHsm>,
    test: ServerAction<TestLoginHsm>,
) -> impl IntoView {
    let HsmView {
        config: c,
        live_token,
        ..
    } = c;
    let name = c.name.clone();
    let complete = c.slot.is_some() && c.password_set;
    let last = match (&c.held, &c.last_outcome, &c.last_at) {
        (Some(h), _, _) => view! {
            <span class="badge bad" data-testid="held">{format!("login held: {}", h.ckr)}</span>
            " "
            <span class="muted">"since " {when(h.since)} "; not tried again until the password is edited or the login retried"</span>
        }
        .into_any(),
        (None, Some(_), Some(at)) if c.seed_refused => view! {
            <span class="badge bad" data-testid="unsupported">{crate::model::SEED_NOT_ACCEPTED}</span>
            " "
            <span class="muted">{when(*at)} "; " {crate::model::SEED_NOT_ACCEPTED_TEXT}</span>
        }
        .into_any(),
        (None, Some(o), Some(at)) if o == "ok" => {
            view! { <span class="badge ok">"ok"</span> " " <span class="muted">{when(*at)}</span> }
                .into_any()
        }
        (None, Some(_), Some(at)) => view! {
            <span class="badge bad">{c.last_error.clone().unwrap_or_else(|| "error".into())}</span>
            " "
            <span class="muted">{when(*at)}</span>
        }
        .into_any(),
        _ => view! { <span class="muted">"never"</span> }.into_any(),
    };
    view! {
        <tr data-hsm=name.clone() data-state=c.state.as_str()>
            <td class="name"><a href=format!("/hsms/{name}")>{name.clone()}</a></td>
            <td>
                {if c.partition_name.is_empty() { "—".to_string() } else { c.partition_name.clone() }}
                <br />
                <span class="muted nowrap">
                    {c.slot.map(|s| format!("slot {s}")).unwrap_or_else(|| "slot not set".into())}
                    {c.module.clone().map(|m| format!(" · module {m}"))}
                </span>
            </td>
            <td>
                {live_token.unwrap_or_else(|| "—".into())}
                {c.token_serial.clone().map(|s| view! { <br /><span class="muted">"pinned " {s}</span> })}
            </td>
            <td>
                <code>{c.user_type.as_str()}</code>
                {(!c.enabled).then(|| view! { <br /><span class="badge muted">"disabled"</span> })}
            </td>
            <td data-testid="last">{last}</td>
            <td class="actions">
                {if c.held.is_some() {
                    view! { <a class="button primary" href=format!("/hsms/{name}") data-testid="fix">"Fix: Edit"</a> }.into_any()
                } else if complete {
                    view! { <SeedButtons name=name.clone() reseed=reseed test=test classes=("button subtle", "button subtle") /> }.into_any()
                } else {
                    view! { <span class="muted">"set slot and password"</span> }.into_any()
                }}
                {c.held.is_none().then(|| view! { <a class="button subtle" href=format!("/hsms/{name}")>"Edit"</a> })}
            </td>
        </tr>
    }
}

/// "Reseed now" and "Test login" for one configuration (in its row, and
/// on its own page); `classes` style the two buttons.
#[component]
pub fn SeedButtons(
    name: String,
    reseed: ServerAction<ReseedHsm>,
    test: ServerAction<TestLoginHsm>,
    classes: (&'static str, &'static str),
) -> impl IntoView {
    let first = name.clone();
    view! {
        <ActionForm action=reseed attr:class="inline">
            <input type="hidden" name="name" value=first />
            <button type="submit" class=classes.0 data-testid="reseed">"Reseed now"</button>
        </ActionForm>
        <ActionForm action=test attr:class="inline">
            <input type="hidden" name="name" value=name />
            <button type="submit" class=classes.1 data-testid="test-login">"Test login"</button>
        </ActionForm>
    }
}

/// What `ntl-verify` shows: the slots with a token, of the default module
/// or of the named `module`. With `pick`, a click on a slot puts its id
/// there (the new configuration's slot), and its module in `pick_module`.
#[component]
pub fn SlotList(
    slots: Vec<SlotInfo>,
    error: Option<String>,
    #[prop(optional)] module: Option<String>,
    #[prop(optional)] pick: Option<RwSignal<String>>,
    #[prop(optional)] pick_module: Option<RwSignal<String>>,
) -> impl IntoView {
    let (title_id, title) = match &module {
        None => (
            "slots-title".to_string(),
            "Slots the PKCS#11 module sees".to_string(),
        ),
        Some(m) => (format!("slots-title-{m}"), format!("Slots module {m} sees")),
    };
    let module = module.unwrap_or_default();
    let labelled_by = title_id.clone();
    view! {
        <section class="card" aria-labelledby=labelled_by data-module=module.clone()>
            <h2 id=title_id>{title}</h2>
            {match error {
                Some(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                None if slots.is_empty() => view! { <p class="muted">"No slot holds a token."</p> }.into_any(),
                None => view! {
                    <div class="table-wrap">
                        <table class="data" data-testid="slot-table">
                            <thead>
                                <tr>
                                    <th>"Slot"</th>
                                    <th>"Serial #"</th>
                                    <th>"Label"</th>
                                    <th>"Model"</th>
                                    <th>"Manufacturer"</th>
                                    <th>"Firmware"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {slots
                                    .into_iter()
                                    .map(|s| {
                                        let id = s.slot_id.to_string();
                                        let of = if module.is_empty() {
                                            DEFAULT_MODULE.to_string()
                                        } else {
                                            module.clone()
                                        };
                                        let choose = move |_| {
                                            if let Some(p) = pick {
                                                p.set(id.clone());
                                            }
                                            if let Some(p) = pick_module {
                                                p.set(of.clone());
                                            }
                                        };
                                        view! {
                                            <tr class=pick.map(|_| "pick") data-slot=s.slot_id.to_string() on:click=choose title=pick.map(|_| "Use this slot for the new configuration")>
                                                <td>{s.slot_id}</td>
                                                <td>{s.serial}</td>
                                                <td>{s.label}</td>
                                                <td>{s.model}</td>
                                                <td>{s.manufacturer}</td>
                                                <td>{s.firmware}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                    .into_any(),
            }}
        </section>
    }
}

/// The guide's High Availability trade-off.
#[component]
fn HaNote() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="ha-title">
            <h2 id="ha-title">"High availability (HA) groups"</h2>
            <p>"Two set-ups work:"</p>
            <ul>
                <li>
                    <strong>"One configuration per member partition."</strong>
                    " Every HSM of the group has fresh entropy at any time, even a passive one; "
                    "but you configure every member, and passive members are seeded too."
                </li>
                <li>
                    <strong>"One configuration on the HA virtual slot."</strong>
                    " Simpler, but only the primary member is seeded: if the primary changes, "
                    "the new one has no external entropy until the next reseed."
                </li>
            </ul>
        </section>
    }
}
