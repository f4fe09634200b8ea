use leptos::prelude::*;

use crate::error::AppError;
use crate::model::TrustView;

/// Everything the Trust link page shows.
#[server(prefix = "/sfn", endpoint = "trust_data")]
pub async fn trust_data() -> Result<TrustView, AppError> {
    crate::ssr::require_admin().await?;
    let engine = crate::ssr::engine()?;
    let servers = engine.trust().server_certs().await?;
    let qa = engine.trust().qa_cert().await?;
    let settings = engine.trust().qa_settings().await?;
    let (slots, slots_error) = match engine.partitions().slots().await {
        Ok(s) => (s, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let s = settings.subject;
    Ok(TrustView {
        checked_at: engine.now(),
        servers,
        qa,
        country: s.country.unwrap_or_default(),
        state: s.state.unwrap_or_default(),
        locality: s.locality.unwrap_or_default(),
        organization: s.organization.unwrap_or_default(),
        address: settings.address.unwrap_or_default(),
        default_address: settings.default_address,
        luna_dir: engine
            .settings()
            .luna_client_dir
            .as_ref()
            .map(|d| d.display().to_string()),
        slots,
        slots_error,
    })
}

/// `ntl-qa-cert-new`; replacing an existing certificate needs "confirm".
#[server(prefix = "/sfn", endpoint = "create_qa_cert")]
pub async fn create_qa_cert(confirm: Option<String>) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let (cert, replaced) = crate::ssr::engine()?
            .trust().create_qa_cert(confirm.as_deref() == Some("yes"), &actor)
            .await?;
        Ok(if replaced {
            format!(
                "New QA certificate created successfully for the NTL. Every HSM must now register the appliance ({}) again.",
                cert.address
            )
        } else {
            "New QA certificate created successfully for the NTL.".to_string()
        })
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

/// The QA certificate's subject (C, ST, L, O) and the appliance address (CN).
#[server(prefix = "/sfn", endpoint = "set_qa_subject")]
pub async fn set_qa_subject(
    country: String,
    state: String,
    locality: String,
    organization: String,
    address: String,
) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        let some = |s: String| Some(s).filter(|v| !v.trim().is_empty());
        let subject = engine::ntl::QaSubject {
            country: some(country),
            state: some(state),
            locality: some(locality),
            organization: some(organization),
        };
        crate::ssr::engine()?
            .trust()
            .set_qa_settings(&subject, Some(address.as_str()), &actor)
            .await?;
        Ok("QA certificate subject saved; it applies to the next certificate created.".to_string())
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}

/// Removes an HSM from the server list; the form must tick "confirm".
#[server(prefix = "/sfn", endpoint = "delete_server")]
pub async fn delete_server(address: String, confirm: Option<String>) -> Result<String, AppError> {
    let result = async {
        let (_, actor) = crate::ssr::admin_actor().await?;
        if confirm.as_deref() != Some("yes") {
            return Err(AppError::Invalid(format!(
                "Tick “confirm” to remove {address}."
            )));
        }
        crate::ssr::engine()?
            .trust()
            .delete_server_cert(&address, &actor)
            .await?;
        Ok(format!("Server {address} removed from the list."))
    }
    .await;
    crate::ssr::outcome(result, |m| crate::ssr::ok_flash(m.clone())).await
}
