//! The trust link's file transfers: uploading an HSM's server.pem
//! (multipart, an ordinary form post answered with a redirect, so it works
//! without JavaScript) and downloading certificates (never a key).

use std::net::SocketAddr;

use app::model::Flash;
use axum::extract::{ConnectInfo, Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use engine::audit::Actor;
use engine::auth::User;
use tower_sessions::Session;

use crate::error::ApiError;
use crate::AppState;

/// The request body may hold a certificate file of up to 64 KiB plus the
/// form around it; larger uploads get the engine's own message up to this
/// size, and 413 beyond.
pub const UPLOAD_LIMIT: usize = 256 * 1024;

fn flash(kind: &str, text: String) -> Flash {
    Flash {
        kind: kind.into(),
        text,
        secret: None,
        edit: None,
    }
}

/// `POST /trust/servers`: fields `address`, `file`, `replace`.
pub async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Extension(user): axum::Extension<User>,
    session: Session,
    mut form: Multipart,
) -> Response {
    let (mut address, mut file, mut replace) = (String::new(), None::<Vec<u8>>, false);
    let mut problem = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                match field.bytes().await {
                    Ok(bytes) => match name.as_str() {
                        "address" => address = String::from_utf8_lossy(&bytes).trim().to_string(),
                        "file" => file = Some(bytes.to_vec()),
                        "replace" => replace = &bytes[..] == b"yes",
                        _ => {}
                    },
                    Err(e) => {
                        problem = Some(format!("The upload could not be read: {}", e.body_text()));
                        break;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                problem = Some(format!("The upload could not be read: {}", e.body_text()));
                break;
            }
        }
    }
    let actor = Actor::user(user.name, Some(peer.ip()));
    let message = match (problem, file) {
        (Some(p), _) => flash("error", p),
        (None, None) => flash(
            "error",
            "Choose the HSM's certificate file (server.pem).".into(),
        ),
        (None, Some(bytes)) => match state
            .engine
            .trust()
            .import_server_cert(&address, &bytes, replace, &actor)
            .await
        {
            Ok(i) => {
                let mut text = if i.replaced {
                    format!(
                        "Server {} replaced in the list successfully.",
                        i.cert.address
                    )
                } else {
                    format!(
                        "New server {} added to the list successfully.",
                        i.cert.address
                    )
                };
                for w in &i.cert.warnings {
                    text.push_str(&format!(" Warning: {w}."));
                }
                flash("ok", text)
            }
            Err(e) => flash("error", e.to_string()),
        },
    };
    app::ssr::leave_flash(&session, &state.flashes, message).await;
    Redirect::to("/trust").into_response()
}

fn pem_download(file_name: &str, pem: String) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    (
        [
            (header::CONTENT_TYPE, "application/x-pem-file".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        pem,
    )
        .into_response()
}

/// `GET /trust/servers/{address}`: that HSM's stored certificate.
pub async fn download_server(
    State(state): State<AppState>,
    Path(address): Path<String>,
) -> Result<Response, ApiError> {
    let pem = state.engine.trust().server_cert_pem(&address).await?;
    Ok(pem_download(&format!("{address}.pem"), pem))
}

/// `GET /trust/qa-cert.pem`: the appliance certificate as `<address>.pem`
/// (the certificate only).
pub async fn download_qa(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Extension(user): axum::Extension<User>,
) -> Result<Response, ApiError> {
    let actor = Actor::user(user.name, Some(peer.ip()));
    let (address, pem) = state.engine.trust().export_qa_cert(&actor).await?;
    Ok(pem_download(&format!("{address}.pem"), pem))
}

/// `GET /tls/appliance.pem`: the certificate this server presents over
/// HTTPS, for `curl --cacert` (404 when it serves plain HTTP).
pub async fn download_served_cert(State(state): State<AppState>) -> Result<Response, ApiError> {
    let pem = state.served_cert.clone().ok_or_else(|| {
        ApiError(engine::Error::NotFound(
            "the HTTPS certificate (this server speaks plain HTTP)".into(),
        ))
    })?;
    Ok(pem_download("hsmseed-appliance.pem", pem))
}
