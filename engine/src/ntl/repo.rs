//! The trust link's tables: `ntl_servers` (the HSM server list) and
//! `ntl_qa_cert` (the appliance certificate, its key sealed).

use crate::store::db::{self, Pool};

use crate::error::Result;

/// Whether the server list holds a certificate for `address`.
pub(crate) async fn server_exists(pool: &Pool, address: &str) -> Result<bool> {
    let id: Option<i64> = db::query_scalar("SELECT id FROM ntl_servers WHERE address = $1")
        .bind(address)
        .fetch_optional(pool)
        .await?;
    Ok(id.is_some())
}

/// Adds or replaces the certificate of `address`.
pub(crate) async fn put_server(pool: &Pool, address: &str, pem: &str, now_ms: i64) -> Result<()> {
    db::query(
        "INSERT INTO ntl_servers (address, cert_pem, created_at, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (address) DO UPDATE SET cert_pem = excluded.cert_pem, updated_at = excluded.updated_at",
    )
    .bind(address)
    .bind(pem)
    .bind(now_ms)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every `(address, PEM)` of the server list, in the order they were added.
pub(crate) async fn servers(pool: &Pool) -> Result<Vec<(String, String)>> {
    Ok(
        db::query_as("SELECT address, cert_pem FROM ntl_servers ORDER BY id")
            .fetch_all(pool)
            .await?,
    )
}

pub(crate) async fn server_pem(pool: &Pool, address: &str) -> Result<Option<String>> {
    Ok(
        db::query_scalar("SELECT cert_pem FROM ntl_servers WHERE address = $1")
            .bind(address)
            .fetch_optional(pool)
            .await?,
    )
}

/// Whether a certificate was there to delete.
pub(crate) async fn delete_server(pool: &Pool, address: &str) -> Result<bool> {
    let n = db::query("DELETE FROM ntl_servers WHERE address = $1")
        .bind(address)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Stores (or replaces) the appliance certificate and its sealed key.
pub(crate) async fn put_qa_cert(
    pool: &Pool,
    address: &str,
    cert_pem: &str,
    key_sealed: &[u8],
    now_ms: i64,
) -> Result<()> {
    db::query(
        "INSERT INTO ntl_qa_cert (id, address, cert_pem, key_sealed, created_at) VALUES (1, $1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET address = excluded.address, cert_pem = excluded.cert_pem, \
         key_sealed = excluded.key_sealed, created_at = excluded.created_at",
    )
    .bind(address)
    .bind(cert_pem)
    .bind(key_sealed)
    .bind(now_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// The appliance certificate as `(address, PEM)`.
pub(crate) async fn qa_cert(pool: &Pool) -> Result<Option<(String, String)>> {
    Ok(
        db::query_as("SELECT address, cert_pem FROM ntl_qa_cert WHERE id = 1")
            .fetch_optional(pool)
            .await?,
    )
}

/// The appliance certificate with its sealed key: `(address, PEM, sealed)`.
pub(crate) async fn qa_cert_with_key(pool: &Pool) -> Result<Option<(String, String, Vec<u8>)>> {
    Ok(
        db::query_as("SELECT address, cert_pem, key_sealed FROM ntl_qa_cert WHERE id = 1")
            .fetch_optional(pool)
            .await?,
    )
}
