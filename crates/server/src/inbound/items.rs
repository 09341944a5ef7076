//! A bad item never takes good ones with it: the server's side of item dead letters.
//!
//! An item that does not parse is dead-lettered by the projection itself (`project`), in the
//! transaction of the rest of its body. This module handles the other two cases:
//! - [`isolate`]: the database refused a body whole (and is not away). Its items are applied one
//!   by one, each in its own transaction with resolving an earlier dead letter at its place;
//!   the one that is refused is kept as a `refused` item dead letter with its place and the
//!   database's reason. The isolation is noted before anything is applied, and the note removed
//!   after the last item, so one cut short (a stop, the database away) is finished by the next
//!   pass instead of leaving items of a projected body unapplied. Applying an item twice
//!   changes nothing (every write is idempotent), so finishing starts again at the first item.
//! - [`replay`]: one item dead letter, applied again with today's code (after an upgrade that
//!   reads it, or once the database takes it): its journal row's body is parsed again and only
//!   that item's ops are applied, with resolving the dead letter, in one transaction.
//!
//! Reasons are stored for admins (they may quote the item) and never logged.

use switchboard_cloudapi::webhook::{Envelope, ItemPlace};
use switchboard_store::{
    DeadItemCode, ItemDeadLetter, ItemOp, Journaled, Op, ProjectionSummary, Store, StoreError,
};

use super::project::{ProjectCtx, describe, project_item, project_items};

/// Who resolved a dead letter whose item applied when its body was applied item by item.
const ISOLATED_BY: &str = "applied when its body was applied item by item";

/// What applying a body item by item did.
#[derive(Default)]
pub(crate) struct Isolated {
    /// Each transaction's ops and summary (for the projector's work after a commit).
    pub commits: Vec<(Vec<Op>, ProjectionSummary)>,
    /// Even an item dead letter of it was refused: the body is a dead letter as a whole.
    pub whole: bool,
}

/// Whether `e` means the database (or, on SQLite, the journal's writer) is away: then the work
/// is retried later, and nothing is called a dead letter.
pub(crate) async fn away(store: &Store, e: &StoreError) -> bool {
    matches!(e, StoreError::Journal(_)) || store.ping().await.is_err()
}

/// The body was projected again: its open item dead letters that this projection does not keep
/// again applied with it (`ItemOp::Settle`). For a journal row that has open ones.
pub(crate) fn settle(entry: &mut Journaled) {
    let kept = entry
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Item(ItemOp::DeadLetter(d)) => Some(d.place),
            _ => None,
        })
        .collect();
    entry.ops.push(Op::Item(ItemOp::Settle { kept }));
}

/// Applies journal row `journal_id` item by item (see the module's note). `Err` when the
/// database is away: the isolation is then finished by a later call.
pub(crate) async fn isolate(
    store: &Store,
    ctx: &ProjectCtx,
    journal_id: i64,
    now: i64,
) -> Result<Isolated, StoreError> {
    store.begin_isolation(journal_id, now).await?;
    let mut isolated = Isolated::default();
    let row = match store.webhook(journal_id).await {
        Ok(row) => row,
        // Nothing to finish (a note left behind by a journal that was replaced).
        Err(StoreError::NotFound) => {
            store.end_isolation(journal_id).await?;
            return Ok(isolated);
        }
        Err(e) => return Err(e),
    };
    let entry = |ops: Vec<Op>| Journaled {
        journal_id,
        dedupe_key: row.dedupe_key.clone(),
        ops,
    };
    let env = match Envelope::parse(&row.body) {
        Ok(env) => env,
        // It parsed when the isolation began; only another version since reads it otherwise.
        Err(e) => {
            let why = format!("The body does not parse (any more): {e}");
            store.mark_dead_letter(journal_id, &why, now).await?;
            store.end_isolation(journal_id).await?;
            isolated.whole = true;
            return Ok(isolated);
        }
    };
    let projection = project_items(&env, ctx);
    let items: Vec<(ItemPlace, &[Op])> = projection.items().collect();
    if items.is_empty() {
        // Nothing to apply item by item: the row is marked projected.
        match store.apply_projections(&[entry(Vec::new())], now).await {
            Ok(summary) => isolated.commits.push((Vec::new(), summary)),
            Err(e) if away(store, &e).await => return Err(e),
            Err(e) => return whole(store, journal_id, e, now, isolated).await,
        }
    }
    for (place, ops) in items {
        let mut ops = ops.to_vec();
        let dead = ops
            .iter()
            .any(|op| matches!(op, Op::Item(ItemOp::DeadLetter(_))));
        if !dead {
            ops.push(Op::Item(ItemOp::Resolve {
                place,
                by: ISOLATED_BY.into(),
            }));
        }
        let refused = match store.apply_projections(&[entry(ops.clone())], now).await {
            Ok(summary) => {
                isolated.commits.push((ops, summary));
                continue;
            }
            Err(e) if away(store, &e).await => return Err(e),
            Err(e) => e,
        };
        let letter = refused_letter(&env, place, &refused);
        tracing::error!(
            journal_id,
            place = %place,
            error = %crate::error::error_chain(&refused),
            "the database refused an item of a journaled webhook; kept as an item dead letter"
        );
        let ops = vec![Op::Item(ItemOp::DeadLetter(letter))];
        match store.apply_projections(&[entry(ops.clone())], now).await {
            Ok(summary) => isolated.commits.push((ops, summary)),
            Err(e) if away(store, &e).await => return Err(e),
            Err(e) => return whole(store, journal_id, e, now, isolated).await,
        }
    }
    store.end_isolation(journal_id).await?;
    Ok(isolated)
}

/// Even keeping an item of it is refused: the body is kept whole as a dead letter.
async fn whole(
    store: &Store,
    journal_id: i64,
    e: StoreError,
    now: i64,
    mut isolated: Isolated,
) -> Result<Isolated, StoreError> {
    let why = format!("projection failed: {}", crate::error::error_chain(&e));
    tracing::error!(journal_id, error = %why, "journaled webhook kept as a dead letter");
    store.mark_dead_letter(journal_id, &why, now).await?;
    store.end_isolation(journal_id).await?;
    isolated.whole = true;
    Ok(isolated)
}

/// The item at `place` as a `refused` dead letter, with the database's reason.
fn refused_letter(env: &Envelope, place: ItemPlace, e: &StoreError) -> ItemDeadLetter {
    let raw = env.item_json(&place).unwrap_or_default();
    ItemDeadLetter {
        place,
        code: DeadItemCode::Refused,
        reason: format!(
            "The database refused this {}: {}. The rest of its body was applied; replay this \
             item once the cause is fixed.",
            describe(env, &place),
            crate::error::error_chain(e).replace('\0', "")
        ),
        raw: raw.to_string(),
    }
}

/// Why one item dead letter was not applied by [`replay`].
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("There is no item dead letter {0}.")]
    NotFound(i64),
    #[error(
        "This item dead letter was resolved already (at {0} ms, {1}); nothing was applied again."
    )]
    Resolved(i64, String),
    #[error(
        "Its body is queued to be projected again (a replay of its range), which tries this item too; replay the item after that if it is still open."
    )]
    BodyPending,
    #[error("Its body does not parse with this version of Switchboard: {0}")]
    BodyDoesNotParse(String),
    #[error("Its body has nothing at {0}.")]
    NotInBody(ItemPlace),
    #[error("{0}")]
    StillUnparsed(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReplayError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ReplayError::NotFound(_) => "not_found",
            ReplayError::Resolved(..) => "item_dead_letter_resolved",
            ReplayError::BodyPending => "webhook_pending",
            ReplayError::BodyDoesNotParse(_) => "webhook_does_not_parse",
            ReplayError::NotInBody(_) => "item_not_in_body",
            ReplayError::StillUnparsed(_) => "item_still_unparsed",
            ReplayError::Refused(_) => "item_refused",
            ReplayError::Store(_) => "store",
        }
    }
}

/// What a replay of an item dead letter applied.
pub(crate) struct Replayed {
    pub journal_id: i64,
    pub ops: Vec<Op>,
    pub summary: ProjectionSummary,
}

/// Applies item dead letter `id` again (see the module's note), resolved `by` someone.
pub(crate) async fn replay(
    store: &Store,
    ctx: &ProjectCtx,
    id: i64,
    by: &str,
    now: i64,
) -> Result<Replayed, ReplayError> {
    let letter = store.item_dead_letter(id).await.map_err(|e| match e {
        StoreError::NotFound => ReplayError::NotFound(id),
        e => ReplayError::Store(e),
    })?;
    if let Some(at) = letter.resolved_at_ms {
        return Err(ReplayError::Resolved(
            at,
            letter.resolved_by.unwrap_or_default(),
        ));
    }
    let row = store.webhook(letter.journal_id).await?;
    // Applying the item marks the row projected: a pending replay of the row must go first. (A
    // range replay that lands between this check and the commit below is marked projected by
    // it and not projected again; running that range replay again is harmless.)
    if row.projected_at_ms.is_none() {
        return Err(ReplayError::BodyPending);
    }
    let env =
        Envelope::parse(&row.body).map_err(|e| ReplayError::BodyDoesNotParse(e.to_string()))?;
    let place = letter.place;
    let mut ops = project_item(&env, &place, ctx).ok_or(ReplayError::NotInBody(place))?;
    let entry = |ops: Vec<Op>| Journaled {
        journal_id: row.id,
        dedupe_key: row.dedupe_key.clone(),
        ops,
    };
    let still = ops.iter().find_map(|op| match op {
        Op::Item(ItemOp::DeadLetter(d)) if d.place == place => Some(d.reason.clone()),
        _ => None,
    });
    if let Some(reason) = still {
        // Kept, with what is wrong today.
        store.apply_projections(&[entry(ops)], now).await?;
        return Err(ReplayError::StillUnparsed(reason));
    }
    ops.push(Op::Item(ItemOp::Resolve {
        place,
        by: by.to_owned(),
    }));
    match store.apply_projections(&[entry(ops.clone())], now).await {
        Ok(summary) => Ok(Replayed {
            journal_id: row.id,
            ops,
            summary,
        }),
        Err(e) if away(store, &e).await => Err(e.into()),
        Err(e) => {
            let letter = refused_letter(&env, place, &e);
            let reason = letter.reason.clone();
            store
                .apply_projections(&[entry(vec![Op::Item(ItemOp::DeadLetter(letter))])], now)
                .await?;
            Err(ReplayError::Refused(reason))
        }
    }
}
