//! The error every server function returns.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The input breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    #[error("Your session has ended. Please sign in again.")]
    Unauthorized,
    #[error("{0} not found.")]
    NotFound(String),
    /// The HSM refused or failed; the message names the `CKR_*` code.
    #[error("HSM error: {0}")]
    Hsm(String),
    /// The entropy source is failed: nothing is delivered.
    #[error("{0}")]
    Unavailable(String),
    /// Details are in the server log under this operation id.
    #[error("Something went wrong on the server (operation {0}).")]
    Internal(String),
    #[error("The request could not be completed: {0}")]
    ServerFn(ServerFnErrorErr),
    /// An error about one configuration, its message led by the name.
    #[error("{name}: {error}")]
    About { name: String, error: Box<AppError> },
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::ServerFn(value)
    }
}

impl From<types::Invalid> for AppError {
    fn from(e: types::Invalid) -> Self {
        AppError::Invalid(e.0)
    }
}

impl AppError {
    /// The same error, its message led by the configuration it is about
    /// (unless the message names it already).
    pub fn about(self, name: &str) -> AppError {
        if self.to_string().contains(name) {
            return self;
        }
        AppError::About {
            name: name.to_string(),
            error: Box::new(self),
        }
    }

    /// The HTTP status a server function answers this error with: client
    /// errors are 4xx, only the server's own failures 5xx.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 400,
            AppError::Unauthorized => 401,
            AppError::NotFound(_) => 404,
            AppError::Hsm(_) => 502,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) => 500,
            AppError::About { error, .. } => error.status(),
            AppError::ServerFn(e) => match e {
                // The request itself was wrong: arguments that do not
                // parse, a missing one, a body that cannot be read.
                ServerFnErrorErr::Args(_)
                | ServerFnErrorErr::MissingArg(_)
                | ServerFnErrorErr::Deserialization(_)
                | ServerFnErrorErr::Request(_) => 400,
                ServerFnErrorErr::UnsupportedRequestMethod(_) => 405,
                _ => 500,
            },
        }
    }
}
