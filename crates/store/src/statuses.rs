//! Where a sent message's status is kept, the one home of "statuses only move forward" in
//! SQL. The order itself is Meta's and lives with the wire type (`StatusKind::rank` in
//! `cloudapi`); here a status is applied only over a lower rank, so an out-of-order
//! `delivered` after `read` changes nothing, and a replay changes nothing twice.
//!
//! A status can arrive before we know its message (Meta's webhook outruns our record of the
//! send's answer, or the echo of a message sent elsewhere). It is kept in `message_statuses`
//! ("parked") and the best parked one is applied when the message appears, by projection and
//! by the outbox's record of accepted sends alike ([`apply_parked!`]).

/// Moves a message to a status when it ranks higher than the current one; returns the
/// message's conversation when it did.
pub(crate) const ADVANCE_STATUS: &str = "UPDATE messages SET status = $2, status_rank = $3, status_at_ms = $4, error_code = COALESCE($5, error_code) \
     WHERE wamid = $1 AND status_rank < $3 RETURNING conversation_id";

/// Applies the best parked status of each message in `$wamids` (an iterator of `&str`)
/// inside the transaction `$tx`; `?` propagates database errors.
macro_rules! apply_parked {
    ($tx:expr, $wamids:expr) => {{
        let mut q = sqlx::QueryBuilder::new(
            "SELECT wamid, status, rank, meta_at_ms, error_code FROM message_statuses WHERE wamid IN (",
        );
        let mut sep = q.separated(", ");
        let mut any = false;
        for wamid in $wamids {
            sep.push_bind(wamid);
            any = true;
        }
        if any {
            q.push(") ORDER BY rank DESC");
            let parked: Vec<(String, String, i64, i64, Option<i64>)> =
                q.build_query_as().fetch_all(&mut *$tx).await?;
            let mut applied = std::collections::HashSet::new();
            for (wamid, status, rank, at, code) in parked {
                if applied.insert(wamid.clone()) {
                    sqlx::query($crate::statuses::ADVANCE_STATUS)
                        .bind(&wamid)
                        .bind(status)
                        .bind(rank)
                        .bind(at)
                        .bind(code)
                        .execute(&mut *$tx)
                        .await?;
                }
            }
        }
    }};
}
pub(crate) use apply_parked;
