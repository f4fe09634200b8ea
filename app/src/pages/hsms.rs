use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use types::limits;

use crate::components::flash::NoticeSlot;
use crate::components::html::Html;
use crate::components::live::Live;
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
    // The search (`?q=...&state=...&page=N`): a plain GET form and links.
    let query = use_query_map();
    let get = move |k: &str| query.with_untracked(|m| m.get(k).unwrap_or_default());
    let (q, state) = (get("q"), get("state"));
    let data = crate::codec::once(list_hsms(
        Some(q.clone()),
        Some(state.clone()),
        get("page").parse::<u32>().ok(),
    ));
    view! {
        <PageHeader title="HSMs" lead="The HSM partitions this appliance seeds, one configuration each." />
        // The rows' answers float above the page: the table never moves
        // under the pointer, and each answer replaces the one before.
        <div class="toast notice-slot" id="notice-rows" aria-live="polite" data-testid="row-notice"></div>
        // The table and the slots stay current (the form below is outside).
        <Live id="hsms" every=10>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let (q, state) = (q.clone(), state.clone());
                    Suspend::new(async move {
                        match data.await {
                            Ok(d) => view! { <Configs d=d q=q state=state /> }.into_any(),
                            Err(e) => crate::components::flash::load_error(e),
                        }
                    })
                }}
            </Suspense>
        </Live>
        <section class="card" aria-labelledby="new-title">
            <h2 id="new-title">"New configuration"</h2>
            <p class="muted">
                "Like " <code>"hsm-conf-new"</code> " and " <code>"hsm-conf-edit"</code>
                ". The password is stored encrypted and never shown again."
            </p>
            <NoticeSlot id="create" />
            <ActionForm action={ServerAction::<CreateHsm>::new()} attr:class="form-grid" attr:data-testid="create-form" attr:data-notice="create">
                <label for="new-name">"Name"</label>
                <input id="new-name" name="name" type="text" required maxlength=limits::NAME.to_string() pattern=format!("[A-Za-z0-9_.\\-]{{1,{}}}", limits::NAME) placeholder="HSM1" />
                <label for="new-partition">"Partition name"</label>
                <input id="new-partition" name="partition_name" type="text" maxlength=limits::PARTITION_NAME.to_string() placeholder="Partition1" />
                <label for="new-pwd">"Partition password"</label>
                <input id="new-pwd" name="partition_pwd" type="password" autocomplete="new-password" maxlength=limits::PARTITION_PASSWORD.to_string() />
                <label for="new-slot">"Slot"</label>
                <input id="new-slot" name="slot" type="text" inputmode="numeric" maxlength=limits::SLOT_DIGITS.to_string() placeholder="1 (or pick a slot in the list)" />
                // With named modules (settings `pkcs11_modules`), which one.
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let names: Vec<String> = data
                            .await
                            .map(|d| d.modules.into_iter().map(|m| m.name).collect())
                            .unwrap_or_default();
                        (!names.is_empty()).then(|| view! {
                            <label for="new-module">"PKCS#11 module"</label>
                            <ModuleSelect id="new-module" names=names current=String::new() />
                        })
                    })}
                </Suspense>
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
                let mut rows = Html::with_capacity(1200 * configs.len());
                for c in &configs {
                    config_row(c, &mut rows);
                }
                view! {
                    <DataTable testid="hsm-table" headers=&["Name", "Partition, slot", "Token now", "Logs in as", "Last reseed", "Actions"] rows=rows.into_string() />
                }
                    .into_any()
            }}
            {pager}
        </section>
        <SlotList slots=slots error=slots_error pickable=true />
        {modules
            .into_iter()
            .map(|m| view! {
                <SlotList slots=m.slots error=m.error module=m.name pickable=true />
            })
            .collect_view()}
    }
}

/// The value the module select posts for the default module (a form's
/// empty field reaches a server function as no value at all; the settings
/// refuse a module of this name).
const DEFAULT_MODULE: &str = "default";

/// The choice of PKCS#11 module: the default one (`pkcs11_module`) or one
/// of `names` (`current`: empty for the default); on the HSMs page a click
/// on a slot of a list chooses that list's module.
#[component]
pub fn ModuleSelect(id: &'static str, names: Vec<String>, current: String) -> impl IntoView {
    // A module the settings no longer name stays chosen, and says so: a
    // save must not move the configuration to another module unasked.
    let gone = (!current.is_empty() && !names.contains(&current)).then(|| current.clone());
    let default_selected = current.is_empty();
    view! {
        <select id=id name="module">
            <option value=DEFAULT_MODULE selected=default_selected>"default (pkcs11_module)"</option>
            {names
                .iter()
                .map(|n| {
                    let selected = *n == current;
                    view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                })
                .collect_view()}
            {gone.map(|g| view! {
                <option value=g.clone() selected=true>{format!("{g} (not in the settings)")}</option>
            })}
        </select>
    }
}

/// One configuration's row of the table, as text (see
/// [`crate::components::html`]): its state, the token its slot holds now,
/// its last reseed, and what can be done (the forms of
/// [`seed_forms`]).
fn config_row(v: &HsmView, h: &mut Html) {
    let c = &v.config;
    let name = &c.name;
    h.raw("<tr data-hsm=\"")
        .text(name)
        .raw("\" data-state=\"")
        .text(c.state.as_str());
    h.raw("\"><td class=\"name\"><a href=\"/hsms/")
        .text(name)
        .raw("\">")
        .text(name);
    h.raw("</a></td><td class=\"long\">")
        .text(if c.partition_name.is_empty() {
            "—"
        } else {
            &c.partition_name
        });
    h.raw("<br><span class=\"muted nowrap\">");
    match c.slot {
        Some(s) => h.text(format_args!("slot {s}")),
        None => h.raw("slot not set"),
    };
    if let Some(m) = &c.module {
        h.raw(" · module ").text(m);
    }
    h.raw("</span></td><td class=\"long\">")
        .text(v.live_token.as_deref().unwrap_or("—"));
    if let Some(s) = &c.token_serial {
        h.raw("<br><span class=\"muted\">pinned ")
            .text(s)
            .raw("</span>");
    }
    h.raw("</td><td><code>")
        .text(c.user_type.as_str())
        .raw("</code>");
    if !c.enabled {
        h.raw("<br><span class=\"badge muted\">disabled</span>");
    }
    h.raw("</td><td data-testid=\"last\">");
    match (&c.held, &c.last_outcome, &c.last_at) {
        (Some(held), _, _) => {
            h.raw("<span class=\"badge bad\" data-testid=\"held\">login held: ")
                .text(&held.ckr);
            h.raw("</span> <span class=\"muted\">since ")
                .text(when(held.since));
            h.raw("; not tried again until the password is edited or the login retried</span>");
        }
        (None, Some(_), Some(at)) if c.seed_refused => {
            h.raw("<span class=\"badge bad\" data-testid=\"unsupported\">")
                .text(crate::model::SEED_NOT_ACCEPTED);
            h.raw("</span> <span class=\"muted\">")
                .text(when(*at))
                .raw("; ");
            h.text(crate::model::SEED_NOT_ACCEPTED_TEXT).raw("</span>");
        }
        (None, Some(o), Some(at)) if o == "ok" => {
            h.raw("<span class=\"badge ok\">ok</span> <span class=\"muted\">")
                .text(when(*at))
                .raw("</span>");
        }
        (None, Some(_), Some(at)) => {
            h.raw("<span class=\"badge bad\">")
                .text(c.last_error.as_deref().unwrap_or("error"));
            h.raw("</span> <span class=\"muted\">")
                .text(when(*at))
                .raw("</span>");
        }
        _ => {
            h.raw("<span class=\"muted\">never</span>");
        }
    }
    h.raw("</td><td class=\"actions\">");
    if c.held.is_some() {
        h.raw("<a class=\"button primary\" href=\"/hsms/")
            .text(name)
            .raw("\" data-testid=\"fix\">Fix: Edit</a>");
    } else {
        if c.slot.is_some() && c.password_set {
            seed_forms(h, name, ("button subtle", "button subtle"), Some("rows"));
        } else {
            h.raw("<span class=\"muted\">set slot and password</span>");
        }
        h.raw("<a class=\"button subtle\" href=\"/hsms/")
            .text(name)
            .raw("\">Edit</a>");
    }
    h.raw("</td></tr>");
}

/// "Reseed now" and "Test login" for configuration `name` (in its row,
/// and on its own page), as text; `classes` style the two buttons;
/// `notice`: the notice slot their answers go to (the page's without).
/// Plain forms, which post without JavaScript; with it, the page's island
/// sends them and draws only the live regions again (`data-keep-page`: a
/// form being filled in elsewhere on the page stays). (Two `ActionForm`s
/// in each of a page's 50 rows were half the cost of drawing the HSMs
/// page: `perf` of `make bench --only fleet`.)
pub fn seed_forms(
    h: &mut Html,
    name: &str,
    classes: (&'static str, &'static str),
    notice: Option<&'static str>,
) {
    use leptos::server_fn::ServerFn;
    for (url, class, testid, label) in [
        (ReseedHsm::url(), classes.0, "reseed", "Reseed now"),
        (TestLoginHsm::url(), classes.1, "test-login", "Test login"),
    ] {
        h.raw("<form method=\"post\" class=\"inline\" data-keep-page=\"\" action=\"")
            .text(url);
        if let Some(n) = notice {
            h.raw("\" data-notice=\"").text(n);
        }
        h.raw("\"><input type=\"hidden\" name=\"name\" value=\"")
            .text(name);
        h.raw("\"><button type=\"submit\" class=\"").text(class);
        h.raw("\" data-testid=\"").text(testid);
        h.raw("\">").text(label).raw("</button></form>");
    }
}

/// The slot list's rows, as text (see [`crate::components::html`]);
/// `pickable`: each says a click uses it.
fn slot_rows(slots: &[SlotInfo], pickable: bool) -> String {
    let mut rows = Html::with_capacity(300 * slots.len());
    for s in slots {
        rows.raw("<tr data-slot=\"").text(s.slot_id);
        if pickable {
            rows.raw("\" class=\"pick\" title=\"Use this slot for the new configuration");
        }
        rows.raw("\">");
        rows.raw("<td>").text(s.slot_id).raw("</td>");
        for cell in [&s.serial, &s.label, &s.model, &s.manufacturer, &s.firmware] {
            rows.raw("<td>").text(cell).raw("</td>");
        }
        rows.raw("</tr>");
    }
    rows.into_string()
}

/// What `ntl-verify` shows: the slots with a token, of the default module
/// or of the named `module`. `pickable`: a click on a slot puts its id and
/// module in the new configuration's form (the page's island).
#[component]
pub fn SlotList(
    slots: Vec<SlotInfo>,
    error: Option<String>,
    #[prop(optional)] module: Option<String>,
    #[prop(optional)] pickable: bool,
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
    let rows = slot_rows(&slots, pickable);
    let pick = pickable.then(|| {
        if module.is_empty() {
            DEFAULT_MODULE.to_string()
        } else {
            module.clone()
        }
    });
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
                            <tbody inner_html=rows data-pick=pick></tbody>
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<img src=x onerror=alert(1)>\"'&";
    const ESCAPED: &str = "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;";

    fn view(error: Option<&str>) -> HsmView {
        let t = time::macros::datetime!(2026-12-01 10:00 UTC);
        let mut config = types::hsm::HsmConfig {
            name: "HSM1".into(),
            partition_name: HOSTILE.into(),
            password_set: true,
            slot: Some(7),
            token_serial: Some(HOSTILE.into()),
            user_type: types::UserType::User,
            module: Some(HOSTILE.into()),
            enabled: false,
            created_at: t,
            updated_at: t,
            last_outcome: Some(if error.is_some() { "error" } else { "ok" }.into()),
            last_error: error.map(Into::into),
            last_at: Some(t),
            held: None,
            last_ok_at: None,
            failures_in_row: u32::from(error.is_some()),
            seed_refused: false,
            state: ConfigState::Never,
        };
        config.state = config.derive_state();
        HsmView {
            config,
            live_token: Some(HOSTILE.into()),
            modules: vec![],
        }
    }

    #[test]
    fn a_row_escapes_every_value_it_shows() {
        let mut h = Html::default();
        config_row(&view(Some(HOSTILE)), &mut h);
        let row = h.into_string();
        assert!(!row.contains("<img"), "{row}");
        // The partition, module, live token, pinned serial and error.
        assert_eq!(row.matches(ESCAPED).count(), 5, "{row}");
        assert!(
            row.starts_with("<tr data-hsm=\"HSM1\" data-state=\"disabled\">"),
            "{row}"
        );
        assert!(row.contains("2026-12-01 10:00:00 UTC"));
        assert!(row.contains("data-testid=\"reseed\""));
        assert!(row.contains("<span class=\"badge muted\">disabled</span>"));
        assert!(row.ends_with("</td></tr>"));
    }

    #[test]
    fn a_slot_row_escapes_what_the_token_says() {
        let slot = SlotInfo {
            slot_id: 3,
            serial: HOSTILE.into(),
            label: HOSTILE.into(),
            manufacturer: HOSTILE.into(),
            model: HOSTILE.into(),
            firmware: HOSTILE.into(),
            flags: vec![],
        };
        let rows = slot_rows(std::slice::from_ref(&slot), true);
        assert!(!rows.contains("<img"), "{rows}");
        assert_eq!(rows.matches(ESCAPED).count(), 5, "{rows}");
        assert!(
            rows.starts_with("<tr data-slot=\"3\" class=\"pick\""),
            "{rows}"
        );
        assert!(!slot_rows(&[slot], false).contains("pick"));
    }
}
