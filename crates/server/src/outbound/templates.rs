//! Pulls each account's templates from Meta into the registry the send policy reads. Runs at
//! start and on demand (`POST /api/v1/templates/sync`); between pulls the template webhooks
//! keep status, category and quality current.

use std::collections::HashSet;

use switchboard_domain::UnixMs;
use switchboard_graph::GraphClient;
use switchboard_store::Store;

use crate::config::Config;

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Graph(#[from] switchboard_graph::GraphCallError),
    #[error("{0}")]
    Store(#[from] switchboard_store::StoreError),
}

/// Pulls every page of every configured account's templates; returns how many were stored.
pub async fn sync_all(
    store: &Store,
    graph: &GraphClient,
    config: &Config,
) -> Result<usize, SyncError> {
    let mut seen = HashSet::new();
    let mut total = 0;
    for n in &config.numbers {
        if !seen.insert(n.waba_id.clone()) {
            continue;
        }
        let mut after: Option<String> = None;
        // Bounded: a misbehaving cursor cannot loop forever.
        for _ in 0..1_000 {
            let page = graph
                .list_templates(&n.waba_id, &n.access_token, 100, after.as_deref())
                .await?;
            let items = page["data"].as_array().cloned().unwrap_or_default();
            total += store
                .sync_templates(&n.waba_id, &items, UnixMs::now().0)
                .await?;
            let next = page["paging"]["cursors"]["after"]
                .as_str()
                .map(str::to_owned);
            if items.is_empty() || next.is_none() || page["paging"]["next"].is_null() {
                break;
            }
            after = next;
        }
    }
    Ok(total)
}

/// Keeps the registry current: pulls at start, whenever a template webhook says something
/// changed (the definition of a template created or edited elsewhere arrives with it), and
/// every 15 minutes. Runs until its task is dropped.
pub async fn keep_synced(
    store: Store,
    graph: GraphClient,
    config: std::sync::Arc<Config>,
    changed: std::sync::Arc<tokio::sync::Notify>,
) {
    loop {
        match sync_all(&store, &graph, &config).await {
            Ok(n) => tracing::info!(templates = n, "templates pulled from Meta"),
            Err(e) => {
                tracing::warn!(error = %e, "could not pull templates from Meta; trying again later")
            }
        }
        tokio::select! {
            _ = changed.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(15 * 60)) => {}
        }
    }
}
