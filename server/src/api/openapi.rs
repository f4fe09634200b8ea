//! The OpenAPI 3.1 document of everything under `/api/2.0/` and `/v1/`, generated
//! from the handlers' annotations and the types they answer with. A copy is
//! committed as `docs/openapi.json` and a test keeps the two equal
//! (`hsmseed openapi > docs/openapi.json` regenerates it).

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`hsmseed token-new --name=NAME --scope=seed|read|entropy`), shown once when created.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-KEY",
                "An API token of scope `entropy`, as QRNG Open API clients send it.",
            ))),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "__Host-hsmseed",
                "A signed-in administrator's session (the web console).",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hsmseed",
        description = "Checked entropy from a (quantum) RNG into PKCS#11 HSMs: reseed a partition on demand, read configurations, history and health; serve random numbers to Quantis clients.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        super::hsmseed::reseed,
        super::hsms::list_hsms,
        super::history::history,
        super::status::status,
        super::random::streambytes,
        super::random::hexbytes,
        super::random::short,
        super::random::int,
        super::random::float,
        super::random::double,
        super::random::firmwareinfo,
        super::random::softwareinfo,
        super::random::systeminfo,
        super::random::performance,
        super::qrng::capabilities,
        super::qrng::entropy,
        super::qrng::healthtest,
    ),
    modifiers(&Security),
    tags(
        (name = "seeding", description = "Reseeding and its records"),
        (name = "operations", description = "The appliance's state"),
        (name = "qrng", description = "The QRNG Open API (`/v1/`), from the same checked entropy (token scope `entropy` as Bearer or X-API-KEY; anonymous with `entropy_public`); client errors are 422"),
        (name = "random", description = "Random numbers from the same checked entropy, as Quantis REST 2.0 clients call them (token scope `entropy`; anonymous with `entropy_public`)"),
    )
)]
pub struct ApiDoc;

/// The document, as served and committed (pretty JSON, newline-terminated).
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut s = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// `GET /api/2.0/openapi.json` (public: it holds no secret).
pub async fn serve() -> impl axum::response::IntoResponse {
    let doc: serde_json::Value = serde_json::from_str(&document()).unwrap_or_default();
    Json(doc)
}
