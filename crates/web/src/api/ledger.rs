//! The ledger in public: the latest signed checkpoint, the log's verifier key, and inclusion and
//! consistency proofs for tree sizes a signed checkpoint covers. Nothing here shows an entry's
//! content; leaves are hashes, entries hold only salted commitments.

use crate::state::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use amtsweg_ledger::{ConsistencyProof, InclusionProof};
use axum::Json;
use super::ApiQuery;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

fn text(body: String) -> axum::response::Response {
    ([("content-type", "text/plain; charset=utf-8")], body).into_response()
}

/// The latest signed checkpoint (C2SP signed note), made now if entries are waiting.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoint", tag = "ledger",
    responses((status = 200, description = "signed note", content_type = "text/plain", body = String), (status = 404, body = ErrorBody)))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<axum::response::Response, ApiError> {
    let (_, note) = state.app.checkpoint().await?.ok_or(AppError::NotFound)?;
    Ok(text(note))
}

/// The log's public key in the signed-note verifier-key format (`name+keyid+base64(0x01 ‖ key)`).
#[utoipa::path(get, path = "/api/v1/ledger/key", tag = "ledger",
    responses((status = 200, description = "verifier key", content_type = "text/plain", body = String)))]
pub async fn key(State(state): State<AppState>) -> axum::response::Response {
    text(format!("{}\n", state.app.ledger_verifier_key()))
}

#[derive(Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// Leaf index (from 0).
    index: u64,
    /// Tree size of a signed checkpoint.
    size: u64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct InclusionProofSchema {
    index: u64,
    size: u64,
    /// base64
    leaf_hash: String,
    /// base64, from the leaf up
    hashes: Vec<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ConsistencyProofSchema {
    from: u64,
    to: u64,
    /// base64
    hashes: Vec<String>,
}

/// RFC 6962 inclusion proof of a leaf in a checkpointed tree.
#[utoipa::path(get, path = "/api/v1/ledger/proof/inclusion", tag = "ledger", params(InclusionQuery),
    responses((status = 200, body = InclusionProofSchema), (status = 422, body = ErrorBody)))]
pub async fn inclusion(State(state): State<AppState>, ApiQuery(q): ApiQuery<InclusionQuery>) -> Result<Json<InclusionProof>, ApiError> {
    Ok(Json(state.app.inclusion_proof(q.index, q.size).await.map_err(AppError::from)?))
}

#[derive(Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// Older tree size (0 or that of a signed checkpoint).
    from: u64,
    /// Newer tree size of a signed checkpoint.
    to: u64,
}

/// RFC 6962 consistency proof between two checkpointed tree sizes.
#[utoipa::path(get, path = "/api/v1/ledger/proof/consistency", tag = "ledger", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProofSchema), (status = 422, body = ErrorBody)))]
pub async fn consistency(State(state): State<AppState>, ApiQuery(q): ApiQuery<ConsistencyQuery>) -> Result<Json<ConsistencyProof>, ApiError> {
    Ok(Json(state.app.consistency_proof(q.from, q.to).await.map_err(AppError::from)?))
}
