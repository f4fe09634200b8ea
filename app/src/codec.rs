//! The pages' data: loaded on the server while the page is drawn. In
//! islands mode nothing outside an island is hydrated, so no resource is
//! written into the page for the browser (see `Hydration` in `lib.rs`);
//! Leptos still asks every resource for a codec: JSON, decoded with
//! `serde_json::from_slice` (from the days the pages hydrated, when a
//! second decoder per type cost bundle size).

use leptos::prelude::OnceResource;
use leptos::server::codee::{Decoder, Encoder};
use serde::{de::DeserializeOwned, Serialize};

/// The resources' codec (see the module's text).
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(val)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(val.as_bytes())
    }
}

/// A page's data, loaded on the server while the page is drawn.
#[track_caller]
pub fn once<T>(fut: impl std::future::Future<Output = T> + Send + 'static) -> OnceResource<T, Json>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    OnceResource::new_with_options(fut, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_it_encodes() {
        let v = vec![(String::from("HSM \"1\" \u{e9}"), 42u64)];
        let s = <Json as Encoder<_>>::encode(&v).unwrap();
        let back: Vec<(String, u64)> = <Json as Decoder<_>>::decode(&s).unwrap();
        assert_eq!(back, v);
        assert!(<Json as Decoder<Vec<u8>>>::decode("not json").is_err());
    }
}
