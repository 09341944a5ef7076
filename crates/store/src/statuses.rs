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

/// Statuses per statement in [`apply_statuses!`] (nine values each).
pub(crate) const STATUS_CHUNK: usize = 500;

/// Keeps a batch of statuses and moves their messages forward, inside `$tx`, with a few set
/// statements per [`STATUS_CHUNK`]: every new (message, status) is kept once (a repeat changes
/// nothing), then each message takes the best of its new statuses where that ranks above its
/// own (what applying them one by one in order would leave). A status whose message is not
/// stored yet stays parked. `$statuses: &[(journal id, &StatusOp)]`, in arrival order;
/// `$sum: &mut ProjectionSummary` is told what happened.
macro_rules! apply_statuses {
    ($tx:expr, $statuses:expr, $sum:expr) => {{
        let statuses: &[(i64, &$crate::StatusOp)] = $statuses;
        let sum: &mut $crate::ProjectionSummary = $sum;
        for chunk in statuses.chunks($crate::statuses::STATUS_CHUNK) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO message_statuses (wamid, status, rank, meta_at_ms, pricing, errors, error_code, payload, journal_id) ",
            );
            q.push_values(chunk, |mut b, (journal_id, s)| {
                b.push_bind(&s.wamid)
                    .push_bind(&s.status)
                    .push_bind(s.rank)
                    .push_bind(s.meta_at_ms)
                    .push_bind(&s.pricing)
                    .push_bind(&s.errors)
                    .push_bind(s.error_code)
                    .push_bind(&s.payload)
                    .push_bind(*journal_id);
            });
            q.push(" ON CONFLICT (wamid, status) DO NOTHING RETURNING wamid, status");
            let kept: Vec<(String, String)> = q.build_query_as().fetch_all(&mut *$tx).await?;
            let mut kept: std::collections::HashSet<(String, String)> = kept.into_iter().collect();
            // The best new status of each message (the first of equals).
            let mut best: Vec<&$crate::StatusOp> = Vec::new();
            let mut new: Vec<&$crate::StatusOp> = Vec::new();
            let mut slot: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
            for (_, s) in chunk {
                if !kept.remove(&(s.wamid.clone(), s.status.clone())) {
                    sum.statuses_seen += 1;
                    continue;
                }
                sum.statuses_new += 1;
                new.push(s);
                match slot.get(s.wamid.as_str()) {
                    Some(&i) if best[i].rank >= s.rank => {}
                    Some(&i) => best[i] = s,
                    None => {
                        slot.insert(&s.wamid, best.len());
                        best.push(s);
                    }
                }
            }
            if best.is_empty() {
                continue;
            }
            let mut q = sqlx::QueryBuilder::new(
                "UPDATE messages SET status = v.column2, status_rank = v.column3, status_at_ms = v.column4, \
                 error_code = COALESCE(v.column5, messages.error_code) FROM (",
            );
            q.push_values(&best, |mut b, s| {
                b.push_bind(&s.wamid)
                    .push_bind(&s.status)
                    .push_bind(s.rank)
                    .push_bind(s.meta_at_ms)
                    .push_bind(s.error_code);
            });
            q.push(
                ") AS v WHERE messages.wamid = v.column1 AND messages.status_rank < v.column3 \
                 RETURNING messages.conversation_id, messages.wamid",
            );
            let advanced: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *$tx).await?;
            sum.changed.extend(advanced.iter().map(|(c, _)| (*c, "status")));
            let advanced: std::collections::HashSet<&str> =
                advanced.iter().map(|(_, w)| w.as_str()).collect();
            let mut rest: Vec<&str> = best
                .iter()
                .map(|s| s.wamid.as_str())
                .filter(|w| !advanced.contains(w))
                .collect();
            if !rest.is_empty() {
                let mut q = sqlx::QueryBuilder::new("SELECT wamid FROM messages WHERE wamid IN ");
                $crate::push_list!(q, rest.iter().copied());
                let known: std::collections::HashSet<String> =
                    q.build_query_scalar().fetch_all(&mut *$tx).await?.into_iter().collect();
                rest.retain(|w| !known.contains(*w));
                let parked: std::collections::HashSet<&str> = rest.into_iter().collect();
                sum.statuses_parked += new.iter().filter(|s| parked.contains(s.wamid.as_str())).count();
            }
        }
    }};
}
pub(crate) use apply_statuses;
