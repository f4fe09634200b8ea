// The edit form posts one argument per field; the server macro also
// generates code (client stubs) that an item-level attribute cannot reach.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::model::ModuleSlots;
use crate::model::{HsmView, HsmsData};

/// Configurations on one HSMs page.
pub const HSMS_PER_PAGE: u32 = 50;

/// One page of the configurations `q` finds (part of a name, partition,
/// pinned serial, or the serial or label of the token a slot holds now) in
/// `state` (empty: any), with the token each slot holds now.
#[server(prefix = "/sfn", endpoint = "list_hsms")]
pub async fn list_hsms(
    q: Option<String>,
    state: Option<String>,
    page: Option<u32>,
) -> Result<HsmsData, AppError> {
    use engine::partitions::{ConfigQuery, ConfigState};
    crate::ssr::require_admin().await?;
    let text = q.unwrap_or_default().trim().to_string();
    let state = match state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<ConfigState>()?),
    };
    let engine = crate::ssr::engine()?;
    let p = engine.partitions();
    let listed = |r: Result<Vec<engine::hsm::SlotInfo>, String>| match r {
        Ok(s) => (s, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let (slots, slots_error) = listed(p.slots_seen(None).await);
    let mut modules = Vec::new();
    for name in p.module_names() {
        let (slots, error) = listed(p.slots_seen(Some(&name)).await);
        modules.push(ModuleSlots { name, slots, error });
    }
    // The slots whose token the text names: their configurations match.
    let needle = text.to_lowercase();
    let matches = |s: &engine::hsm::SlotInfo| {
        !needle.is_empty()
            && (s.serial.to_lowercase().contains(&needle)
                || s.label.to_lowercase().contains(&needle))
    };
    let mut live = Vec::new();
    live.extend(
        slots
            .iter()
            .filter(|s| matches(s))
            .map(|s| (None, s.slot_id)),
    );
    for m in &modules {
        live.extend(
            m.slots
                .iter()
                .filter(|s| matches(s))
                .map(|s| (Some(m.name.clone()), s.slot_id)),
        );
    }
    let query = ConfigQuery {
        text,
        slots: live,
        state,
    };
    let found = engine
        .find_configs(&query, page.unwrap_or(1), HSMS_PER_PAGE)
        .await?;
    let configs = found
        .configs
        .into_iter()
        .map(|c| {
            let seen = match &c.module {
                None => &slots[..],
                Some(n) => modules
                    .iter()
                    .find(|m| &m.name == n)
                    .map_or(&[][..], |m| &m.slots[..]),
            };
            // The module choices are the edit form's: not sent per row.
            hsm_view(c, seen, Vec::new())
        })
        .collect();
    Ok(HsmsData {
        configs,
        matching: found.matching,
        page: found.page,
        per_page: found.per_page,
        counts: found.counts,
        slots,
        slots_error,
        modules,
    })
}

#[server(prefix = "/sfn", endpoint = "get_hsm")]
pub async fn get_hsm(name: String) -> Result<HsmView, AppError> {
    crate::ssr::require_admin().await?;
    let engine = crate::ssr::engine()?;
    let p = engine.partitions();
    let config = p.get_config(&name).await?;
    let slots = p
        .slots_of(config.module.as_deref())
        .await
        .unwrap_or_default();
    Ok(hsm_view(config, &slots, p.module_names()))
}

/// A configuration with the token its slot holds now.
#[cfg(feature = "ssr")]
fn hsm_view(
    config: engine::partitions::HsmConfig,
    slots: &[engine::hsm::SlotInfo],
    modules: Vec<String>,
) -> HsmView {
    let live_token = config.slot.and_then(|s| {
        slots
            .iter()
            .find(|i| i.slot_id == s)
            .map(|i| format!("{} ({})", i.label, i.serial))
    });
    HsmView {
        config,
        live_token,
        modules,
    }
}

/// The edit a form describes: a blank password, slot or user type is left
/// as it is; a blank partition name or token serial clears it.
#[cfg(feature = "ssr")]
fn form_edit(
    partition_name: Option<String>,
    partition_pwd: Option<String>,
    slot: Option<String>,
    user_type: Option<String>,
    enabled: Option<bool>,
    token_serial: Option<String>,
    pin_token: bool,
    confirm_so: bool,
    module: Option<String>,
) -> Result<engine::partitions::ConfigEdit, AppError> {
    use engine::partitions::{ConfigEdit, ModuleChoice, SerialPin, SlotId};
    use secrecy::SecretString;
    let some = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    Ok(ConfigEdit {
        partition_name,
        partition_pwd: some(partition_pwd).map(SecretString::from),
        slot: some(slot).map(|s| SlotId::parse(&s)).transpose()?,
        user_type: some(user_type).map(|u| u.parse()).transpose()?,
        enabled,
        token_serial: if pin_token {
            Some(SerialPin::FromSlot)
        } else {
            token_serial.map(|s| {
                if s.trim().is_empty() {
                    SerialPin::Clear
                } else {
                    SerialPin::Set(s)
                }
            })
        },
        // The select posts `default` for the default module; without
        // named modules there is no select and nothing changes.
        module: module.map(|m| ModuleChoice::parse(&m)).transpose()?,
        confirm_so,
    })
}

/// Creates a configuration and sets what the form gives (web shortcut for
/// `hsm-conf-new` then `hsm-conf-edit`); nothing is kept when a field is
/// refused.
#[server(prefix = "/sfn", endpoint = "create_hsm")]
pub async fn create_hsm(
    name: String,
    partition_name: Option<String>,
    partition_pwd: Option<String>,
    slot: Option<String>,
    user_type: Option<String>,
    pin_token: Option<String>,
    confirm_so: Option<String>,
    module: Option<String>,
) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let engine = crate::ssr::engine()?;
        let edit = form_edit(
            partition_name,
            partition_pwd,
            slot,
            user_type,
            None,
            None,
            pin_token.is_some(),
            confirm_so.is_some(),
            module,
        )?;
        engine
            .partitions()
            .create_config_with(&name, edit, &actor)
            .await?;
        Ok(format!("New {name} configuration created successfully."))
    }
    .await
    .map_err(|e: AppError| e.about(&name));
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

#[server(prefix = "/sfn", endpoint = "edit_hsm")]
pub async fn edit_hsm(
    name: String,
    partition_name: Option<String>,
    partition_pwd: Option<String>,
    slot: Option<String>,
    user_type: Option<String>,
    enabled: Option<String>,
    token_serial: Option<String>,
    pin_token: Option<String>,
    confirm_so: Option<String>,
    module: Option<String>,
) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let engine = crate::ssr::engine()?;
        let edit = form_edit(
            partition_name,
            partition_pwd,
            slot,
            user_type,
            Some(enabled.is_some()),
            token_serial,
            pin_token.is_some(),
            confirm_so.is_some(),
            module,
        )?;
        engine.partitions().edit_config(&name, edit, &actor).await?;
        Ok(format!("Configuration {name} edited successfully."))
    }
    .await
    .map_err(|e: AppError| e.about(&name));
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

/// Deletes a configuration; the form must tick "confirm".
#[server(prefix = "/sfn", endpoint = "delete_hsm")]
pub async fn delete_hsm(name: String, confirm: Option<String>) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        if confirm.as_deref() != Some("yes") {
            return Err(AppError::Invalid(format!(
                "Tick “confirm” to delete {name}."
            )));
        }
        crate::ssr::engine()?
            .partitions()
            .delete_config(&name, &actor)
            .await?;
        leptos_axum::redirect("/hsms");
        Ok(format!("Configuration {name} deleted successfully."))
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

/// "Reseed now".
#[server(prefix = "/sfn", endpoint = "reseed_hsm")]
pub async fn reseed_hsm(name: String) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let r = crate::ssr::engine()?
            .partitions()
            .reseed(&name, engine::partitions::Trigger::Ui, &actor)
            .await?;
        Ok(format!(
            "{} reseeded with {} bits (slot {}, token {}, {:.1} ms).",
            r.name, r.bits, r.slot, r.token_serial, r.duration_ms
        ))
    }
    .await
    .map_err(|e: AppError| e.about(&name));
    crate::ssr::outcome_of(result, |m| crate::ssr::ok_flash(m.clone()), Some(&name)).await
}

/// "Test login": logs in with the configuration's credentials, no seed.
#[server(prefix = "/sfn", endpoint = "test_login_hsm")]
pub async fn test_login_hsm(name: String) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let info = crate::ssr::engine()?
            .partitions()
            .test_login(&name, &actor)
            .await?;
        Ok(format!(
            "{name}: login succeeded on slot {} (token {}, serial {}).",
            info.slot_id, info.label, info.serial
        ))
    }
    .await
    .map_err(|e: AppError| e.about(&name));
    crate::ssr::outcome_of(result, |m| crate::ssr::ok_flash(m.clone()), Some(&name)).await
}

/// "Retry login" of a held configuration: one more login with the stored
/// password; the form must tick that the warning was read.
#[server(prefix = "/sfn", endpoint = "retry_login_hsm")]
pub async fn retry_login_hsm(name: String, confirm: Option<String>) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        if confirm.as_deref() != Some("yes") {
            return Err(AppError::Invalid(format!(
                "Nothing was tried: tick that you read the warning to log in to {name} once more."
            )));
        }
        let info = crate::ssr::engine()?.partitions().retry_login(&name, &actor).await?;
        Ok(format!(
            "{name}: login succeeded on slot {} (token {}, serial {}); its login is no longer held.",
            info.slot_id, info.label, info.serial
        ))
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
