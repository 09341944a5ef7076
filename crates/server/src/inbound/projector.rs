//! The projector: reads the journal in order and applies each body (see `project`) in one
//! transaction with marking it projected. Idempotent by construction, so running it twice,
//! replaying a range, or two instances racing on PostgreSQL changes nothing twice. A body the
//! database refuses is applied item by item, and item dead letters are replayed, through
//! `items`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use switchboard_cloudapi::webhook::Envelope;
use switchboard_domain::UnixMs;
use switchboard_store::{ItemOp, Journaled, KeywordSeen, Op, ProjectionSummary, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::items::{self, ReplayError};
use super::project::{ProjectCtx, project};

/// Journal rows read per batch.
const PASS_ROWS: i64 = 1_000;
/// Most ops in one projection transaction.
const MAX_OPS_PER_COMMIT: usize = 1_000;

#[derive(Clone)]
pub struct Projector {
    store: Store,
    ctx: Arc<ProjectCtx>,
    wake: Arc<Notify>,
    /// The intake's activity: acknowledging Meta comes first, so the projector waits (a
    /// little) while the intake has work — they share the CPU, and on SQLite the disk.
    intake: Arc<switchboard_store::JournalActivity>,
    /// `intake.appended` when the projector last looked.
    seen: Arc<AtomicU64>,
    /// Rung when a template's status, category or quality changed, so the registry pulls the
    /// template's definition (a template created elsewhere, or edited, becomes sendable).
    templates_changed: Arc<Notify>,
    events: crate::events::EventBus,
    /// The send service's state, once the server is built: consent keywords are answered
    /// through it (policy, queue, price, wake) like every other send. Weak: the state holds
    /// the projector too (for replays of item dead letters).
    sender: Arc<std::sync::OnceLock<std::sync::Weak<crate::Shared>>>,
}

/// The longest the projector defers to the intake before taking its turn anyway.
const MAX_DEFER: Duration = Duration::from_millis(100);
/// The window in which the intake's pace is measured.
const PACE_WINDOW: Duration = Duration::from_millis(2);
/// Bodies per [`PACE_WINDOW`] window from which the intake counts as busy (2,500 a second).
const BUSY_APPENDS: u64 = 5;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub projected: usize,
    pub dead_letters: usize,
    /// Items kept as dead letters while the rest of their bodies applied.
    pub item_dead_letters: usize,
}

impl Pass {
    fn add(self, other: Pass) -> Pass {
        Pass {
            projected: self.projected + other.projected,
            dead_letters: self.dead_letters + other.dead_letters,
            item_dead_letters: self.item_dead_letters + other.item_dead_letters,
        }
    }
}

impl Projector {
    pub fn new(
        store: Store,
        ctx: ProjectCtx,
        wake: Arc<Notify>,
        intake: Arc<switchboard_store::JournalActivity>,
        templates_changed: Arc<Notify>,
        events: crate::events::EventBus,
    ) -> Self {
        Projector {
            store,
            ctx: Arc::new(ctx),
            wake,
            intake,
            seen: Arc::default(),
            templates_changed,
            events,
            sender: Arc::default(),
        }
    }

    /// Defers to the intake while it is busy, [`MAX_DEFER`] at most: busy means at least
    /// [`BUSY_APPENDS`] new bodies in a [`PACE_WINDOW`] window (2,500 a second, about what projection
    /// keeps up with: above it the backlog grows whatever the projector does, and the CPU is
    /// better spent acknowledging Meta). Below that rate it goes at once, so a steady stream of
    /// statuses is projected as it comes. (Waiting for "nothing pending" let the projector in
    /// between any two requests of a burst; waiting for silence held it off under any load.)
    async fn defer_to_intake(&self) {
        let start = std::time::Instant::now();
        let mut seen = self.intake.appended.load(Ordering::Relaxed);
        if self.intake.pending.load(Ordering::SeqCst) == 0
            && seen == self.seen.load(Ordering::Relaxed)
        {
            return; // nothing new since the last pass: no wait
        }
        while start.elapsed() < MAX_DEFER {
            tokio::time::sleep(PACE_WINDOW).await;
            let now = self.intake.appended.load(Ordering::Relaxed);
            let arrived = now - seen;
            seen = now;
            if arrived < BUSY_APPENDS {
                break;
            }
        }
        self.seen.store(seen, Ordering::Relaxed);
    }

    /// Projects up to `limit` pending journal rows, oldest first.
    pub async fn run_once(&self, limit: i64) -> Result<Pass, StoreError> {
        let mut pass = Pass::default();
        self.finish_isolations(&mut pass).await?;
        let fetched = self.fetch(0, limit).await?;
        let applied = self.apply(fetched).await?;
        Ok(pass.add(applied))
    }

    /// Finishes the isolations a stop or an outage cut short (see `items.rs`).
    async fn finish_isolations(&self, pass: &mut Pass) -> Result<(), StoreError> {
        let now = UnixMs::now().0;
        for journal_id in self.store.unfinished_isolations(PASS_ROWS).await? {
            self.isolate_items(journal_id, now, pass).await?;
        }
        Ok(())
    }

    /// Reads up to `limit` unprojected journal rows after `after` (a journal id) and turns them
    /// into ops; a body that is not a webhook envelope is kept as a dead letter here.
    async fn fetch(&self, after: i64, limit: i64) -> Result<Fetched, StoreError> {
        let now = UnixMs::now().0;
        let rows = self.store.unprojected_webhooks_after(after, limit).await?;
        let mut pass = Pass::default();
        let last = rows.last().map(|r| r.id);
        let mut batch = Vec::with_capacity(rows.len());
        // When each row was acknowledged, for the delay from Meta's 200 to its rows.
        let received: std::collections::HashMap<i64, i64> =
            rows.iter().map(|r| (r.id, r.received_at_ms)).collect();
        for row in rows {
            match Envelope::parse(&row.body) {
                Ok(env) => batch.push(Journaled {
                    journal_id: row.id,
                    dedupe_key: row.dedupe_key,
                    ops: project(&env, &self.ctx),
                }),
                Err(e) => {
                    // The parser's message may quote the body (a name, a number): kept with the
                    // dead letter for admins, not written to the log.
                    tracing::warn!(
                        journal_id = row.id,
                        "journaled webhook does not parse; kept as a dead letter (GET /api/v1/webhook-events says why)"
                    );
                    self.store
                        .mark_dead_letter(row.id, &e.to_string(), now)
                        .await?;
                    metrics::counter!("switchboard_webhook_dead_letters_total").increment(1);
                    pass.dead_letters += 1;
                }
            }
        }
        // A row projected again (a replay of its range) settles its open item dead letters.
        if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
            let open = self
                .store
                .journal_rows_with_open_items(first.journal_id, last.journal_id)
                .await?;
            for entry in batch.iter_mut().filter(|e| open.contains(&e.journal_id)) {
                items::settle(entry);
            }
        }
        Ok(Fetched {
            batch,
            received,
            last,
            pass,
        })
    }

    /// Applies what [`Projector::fetch`] read.
    async fn apply(&self, fetched: Fetched) -> Result<Pass, StoreError> {
        let Fetched {
            batch,
            received,
            mut pass,
            ..
        } = fetched;
        let now = UnixMs::now().0;
        // Many entries per transaction, in journal order, with a bound on the work per commit
        // so the intake's journal writes are never held up for long.
        let mut start = 0;
        while start < batch.len() {
            let mut end = start;
            let mut ops = 0;
            while end < batch.len()
                && (end == start || ops + batch[end].ops.len() <= MAX_OPS_PER_COMMIT)
            {
                ops += batch[end].ops.len();
                end += 1;
            }
            self.defer_to_intake().await;
            match self.store.apply_projections(&batch[start..end], now).await {
                Ok(summary) => {
                    let entries = &batch[start..end];
                    let ops = entries
                        .iter()
                        .flat_map(|e| e.ops.iter().map(|o| (e.journal_id, o)));
                    pass.item_dead_letters += self.committed(ops, &summary).await;
                    pass.projected += end - start;
                    let at = UnixMs::now().0;
                    for e in entries {
                        if let Some(r) = received.get(&e.journal_id) {
                            metrics::histogram!("switchboard_projection_delay_seconds")
                                .record((at - r).max(0) as f64 / 1000.0);
                        }
                    }
                }
                // One entry the database refuses must not stop every entry after it: apply
                // them one by one, and keep the one that fails as a dead letter.
                Err(e) => self.isolate(&batch[start..end], now, e, &mut pass).await?,
            }
            start = end;
        }
        Ok(pass)
    }

    /// What follows a commit of `ops` (each with its journal row): templates to pull, consent
    /// keywords to answer, live updates, metrics. Returns how many items it dead-lettered.
    fn committed<'s, 'a>(
        &'s self,
        ops: impl Iterator<Item = (i64, &'a Op)>,
        summary: &'s ProjectionSummary,
    ) -> impl Future<Output = usize> + Send + 's {
        // Looked through before the future: it holds no iterator over borrowed ops.
        let (templates, dead) = Self::looked_through(ops);
        async move {
            if templates {
                self.templates_changed.notify_one();
            }
            self.answer_keywords(&summary.keywords).await;
            let mut seen = std::collections::HashSet::new();
            for (conversation, kind) in &summary.changed {
                if seen.insert((*conversation, *kind)) {
                    self.events
                        .publish(kind, Some(*conversation), serde_json::Value::Null);
                }
            }
            metrics::counter!("switchboard_projected_messages_total")
                .increment(summary.messages_new as u64);
            metrics::counter!("switchboard_projected_statuses_total")
                .increment(summary.statuses_new as u64);
            metrics::counter!("switchboard_webhook_duplicates_total")
                .increment(summary.duplicates as u64);
            dead
        }
    }

    /// Whether committed ops changed a template, and how many items they dead-lettered (each
    /// logged, without its reason, and counted).
    fn looked_through<'a>(ops: impl Iterator<Item = (i64, &'a Op)>) -> (bool, usize) {
        let (mut templates, mut dead) = (false, 0);
        for (journal_id, op) in ops {
            match op {
                Op::TemplateState { .. } => templates = true,
                Op::Item(ItemOp::DeadLetter(d)) => {
                    dead += 1;
                    // The reason may quote the item: it is kept for admins, not logged.
                    tracing::warn!(
                        journal_id,
                        place = %d.place,
                        code = d.code.as_str(),
                        "an item of a journaled webhook kept as a dead letter; the rest applied (GET /api/v1/webhook-events/items says why)"
                    );
                    metrics::counter!("switchboard_webhook_item_dead_letters_total", "code" => d.code.as_str())
                        .increment(1);
                }
                _ => {}
            }
        }
        (templates, dead)
    }

    /// Applies journal row `journal_id`, which the database refused whole, item by item
    /// (`items::isolate`).
    async fn isolate_items(
        &self,
        journal_id: i64,
        now: i64,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let isolated = items::isolate(&self.store, &self.ctx, journal_id, now).await?;
        for (ops, summary) in &isolated.commits {
            let ops = ops.iter().map(|o| (journal_id, o));
            pass.item_dead_letters += self.committed(ops, summary).await;
        }
        if isolated.whole {
            metrics::counter!("switchboard_webhook_dead_letters_total").increment(1);
            pass.dead_letters += 1;
        } else {
            pass.projected += 1;
        }
        Ok(())
    }

    /// Applies item dead letter `id` again with today's code, resolved `by` someone
    /// (`items::replay`): what it applied, or why not.
    pub async fn replay_item(&self, id: i64, by: &str) -> Result<ProjectionSummary, ReplayError> {
        let now = UnixMs::now().0;
        let replayed = items::replay(&self.store, &self.ctx, id, by, now).await?;
        let ops = replayed.ops.iter().map(|o| (replayed.journal_id, o));
        self.committed(ops, &replayed.summary).await;
        Ok(replayed.summary)
    }

    async fn isolate(
        &self,
        entries: &[Journaled],
        now: i64,
        first: StoreError,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        // The database (or, on SQLite, the journal's writer) is away: retry the whole batch
        // later rather than call entries that may have been applied dead letters.
        if items::away(&self.store, &first).await {
            return Err(first);
        }
        for entry in entries {
            match self
                .store
                .apply_projections(std::slice::from_ref(entry), now)
                .await
            {
                Ok(summary) => {
                    let ops = entry.ops.iter().map(|o| (entry.journal_id, o));
                    pass.item_dead_letters += self.committed(ops, &summary).await;
                    pass.projected += 1;
                }
                // This entry, alone: down to the item the database refuses.
                Err(e) if items::away(&self.store, &e).await => return Err(e),
                Err(_) => self.isolate_items(entry.journal_id, now, pass).await?,
            }
        }
        Ok(())
    }

    /// Sends consent keywords' automatic replies through `state`'s send service from now on.
    pub fn answer_keywords_with(&self, state: &crate::AppState) {
        let _ = self.sender.set(Arc::downgrade(&state.0));
    }

    /// Answers the consent keywords a projection recorded with the configured reply (none when
    /// it is empty), as a service reply from the number the customer wrote to. The customer's
    /// message is the idempotency key, so a replayed journal row is not answered twice. A
    /// reply that cannot be queued is logged; the consent itself is already recorded.
    async fn answer_keywords(&self, keywords: &[KeywordSeen]) {
        let Some(state) = self
            .sender
            .get()
            .and_then(|s| s.upgrade())
            .map(crate::AppState)
        else {
            return;
        };
        let state = &state;
        for k in keywords {
            let text = if k.opt_in {
                &self.ctx.opt_in_reply
            } else {
                &self.ctx.opt_out_reply
            };
            if text.trim().is_empty() {
                continue;
            }
            let mut body = serde_json::json!({
                "from": k.phone_number_id, "type": "text", "text": {"body": text},
            });
            match (&k.contact.wa_id, &k.contact.bsuid) {
                (Some(w), _) => body["to"] = format!("+{w}").into(),
                (None, Some(b)) => body["recipient"] = b.clone().into(),
                (None, None) => continue,
            }
            let queued = async {
                let mut send =
                    crate::outbound::submit::read(state, body.to_string().as_bytes()).await?;
                send.idempotency_key = Some(format!("keyword:{}", k.wamid));
                send.created_by = Some("consent_keyword".into());
                crate::outbound::submit::submit(state, &[send]).await
            };
            if let Err(e) = queued.await {
                tracing::error!(error = %e, "could not queue the reply to a consent keyword");
            }
        }
    }

    /// Publishes how far projection is behind, every second until `stop`:
    /// `switchboard_projection_backlog` (journal rows not projected yet) and
    /// `switchboard_projection_lag_seconds` (how long ago the oldest of them was acknowledged;
    /// 0 when caught up). `/readyz` reads the same.
    pub async fn publish_backlog(self, stop: CancellationToken) {
        loop {
            if let Ok(b) = Backlog::read(&self.store).await {
                metrics::gauge!("switchboard_projection_backlog").set(b.rows as f64);
                metrics::gauge!("switchboard_projection_lag_seconds").set(b.lag_seconds);
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Projects until nothing is pending (for tests and start-up).
    pub async fn drain(&self) -> Result<Pass, StoreError> {
        let mut total = Pass::default();
        loop {
            let p = self.pipeline(None).await?;
            if p.projected + p.dead_letters == 0 {
                return Ok(total);
            }
            total = total.add(p);
        }
    }

    /// Projects until a read after the last batch finds nothing (or `stop`), reading and
    /// parsing the next batch while the current one is written: the database's work and the
    /// projector's overlap on two cores. The read ahead starts after the batch in flight (a
    /// cursor); each call starts from the oldest unprojected row, so a replay behind the cursor,
    /// or a batch that failed, is read again by the next call.
    async fn pipeline(&self, stop: Option<&CancellationToken>) -> Result<Pass, StoreError> {
        let mut total = Pass::default();
        self.finish_isolations(&mut total).await?;
        let mut next = self.fetch(0, PASS_ROWS).await?;
        while let Some(after) = next.last {
            let ahead = {
                let me = self.clone();
                tokio::spawn(async move { me.fetch(after, PASS_ROWS).await })
            };
            let applied = self.apply(next).await;
            let stopping = stop.is_some_and(|s| s.is_cancelled());
            match applied {
                Ok(p) => total = total.add(p),
                Err(e) => {
                    ahead.abort();
                    return Err(e);
                }
            }
            if stopping {
                ahead.abort();
                break;
            }
            next = match ahead.await {
                Ok(fetched) => fetched?,
                Err(e) => {
                    tracing::error!(error = %e, "the projector's read ahead ended; starting again");
                    break;
                }
            };
        }
        Ok(total)
    }

    /// Runs until `stop`: woken by the intake, and every second in case a wake-up was missed.
    /// A stop is honoured between batches, however long the backlog: what is left stays in the
    /// journal for the next start.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            if stop.is_cancelled() {
                return;
            }
            match self.pipeline(Some(&stop)).await {
                Ok(p) if p.projected + p.dead_letters > 0 => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %crate::error::error_chain(&e), "projection failed; retrying")
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Journal rows read and turned into ops, waiting to be applied.
struct Fetched {
    batch: Vec<Journaled>,
    /// When each row was acknowledged.
    received: std::collections::HashMap<i64, i64>,
    /// The last journal row read (the cursor of the next read ahead).
    last: Option<i64>,
    /// Dead letters kept while reading.
    pass: Pass,
}

/// How far projection is behind the journal.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Backlog {
    /// Journal rows acknowledged and not projected yet.
    pub rows: i64,
    /// Seconds since the oldest of them was acknowledged (0 when there is none).
    pub lag_seconds: f64,
}

impl Backlog {
    pub async fn read(store: &Store) -> Result<Backlog, StoreError> {
        let (rows, oldest) = store.projection_backlog().await?;
        let lag_seconds = oldest.map_or(0.0, |at| (UnixMs::now().0 - at).max(0) as f64 / 1000.0);
        Ok(Backlog { rows, lag_seconds })
    }
}
