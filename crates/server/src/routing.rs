//! The router: gives each new (unassigned, open) conversation to an agent of the team that
//! takes its number, by the team's rules (`domain::routing`), and puts back in the queue what
//! agents who went offline were holding. Conversations nobody can take wait in the queue.
//!
//! It runs when something it acts on happens: a customer's message (from the event bus, so on
//! PostgreSQL a message another instance projected too), a conversation's change, an agent
//! coming online or a rule changing (its bell); and every [`POLL`] for what time alone changes
//! (an agent's heartbeat running out, business hours opening).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard_domain::UnixMs;
use switchboard_domain::routing::{AgentLoad, TeamRules, choose};
use switchboard_store::{Hand, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Agents seen within this long are online (the inbox sends a heartbeat).
pub const ONLINE_MS: i64 = 60_000;
/// How often the router runs when nothing wakes it.
pub const POLL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Router {
    store: Store,
    wake: Arc<Notify>,
    events: crate::events::EventBus,
    /// How many waiting conversations each team looks at per pass.
    window: i64,
}

impl Router {
    pub fn new(store: Store, wake: Arc<Notify>, events: crate::events::EventBus) -> Self {
        Router {
            store,
            wake,
            events,
            window: 500,
        }
    }

    /// Each team looks at its `n` longest-waiting conversations per pass (500 by default).
    pub fn with_window(mut self, n: i64) -> Self {
        self.window = n.max(1);
        self
    }

    /// One pass: re-queue from offline agents, then route the queue. Returns how many
    /// conversations were assigned.
    pub async fn run_once(&self, now: UnixMs) -> Result<usize, StoreError> {
        let teams: Vec<(i64, String, TeamRules)> = self
            .store
            .team_rules()
            .await?
            .into_iter()
            .filter_map(|(id, name, json)| Some((id, name, serde_json::from_str(&json).ok()?)))
            .collect();
        if teams.is_empty() {
            return Ok(0);
        }
        self.store.requeue_offline(now.0 - ONLINE_MS, now.0).await?;
        // Each team has a queue of its own (its numbers; a team for every number takes what
        // earlier teams do not), so a team nobody can serve never holds up the others.
        let mut loads: HashMap<i64, Vec<AgentLoad>> = HashMap::new();
        let mut routed = 0;
        let mut taken: Vec<String> = Vec::new();
        for (team_id, _, rules) in &teams {
            let (include, exclude): (Vec<String>, Vec<String>) = if rules.numbers.is_empty() {
                (vec![], taken.clone())
            } else {
                let mine: Vec<String> = rules
                    .numbers
                    .iter()
                    .filter(|n| !taken.contains(n))
                    .cloned()
                    .collect();
                if mine.is_empty() {
                    continue;
                }
                (mine, vec![])
            };
            taken.extend(include.iter().cloned());
            let queue = self
                .store
                .routing_queue_of(&include, &exclude, self.window)
                .await?;
            for (conversation, _number) in queue {
                if !loads.contains_key(team_id) {
                    let rows = self.store.agent_loads(*team_id).await?;
                    loads.insert(
                        *team_id,
                        rows.into_iter()
                            .map(|r| AgentLoad {
                                user_id: r.user_id,
                                online: r.last_seen_at_ms.is_some_and(|t| t >= now.0 - ONLINE_MS),
                                open: r.open as u32,
                                last_assigned_at: r.last_assigned_at,
                            })
                            .collect(),
                    );
                }
                let agents = loads.get_mut(team_id).expect("just inserted");
                let Some(user) = choose(rules, agents, now) else {
                    // Nobody of this team can take one now (offline, full, closed).
                    break;
                };
                let a = self
                    .store
                    .assign_conversation(
                        conversation,
                        Some(user),
                        None,
                        Hand::IfUnassigned,
                        switchboard_domain::conversation::EventKind::Routed,
                        now.0,
                    )
                    .await?;
                if a.applied {
                    routed += 1;
                    if let Some(agent) = agents.iter_mut().find(|x| x.user_id == user) {
                        agent.open += 1;
                        agent.last_assigned_at = Some(now.0);
                    }
                }
            }
            if rules.numbers.is_empty() {
                break; // every number left was this team's
            }
        }
        Ok(routed)
    }

    pub async fn run(self, stop: CancellationToken) {
        let mut events = self.events.subscribe();
        loop {
            if let Err(e) = self.run_once(UnixMs::now()).await {
                tracing::error!(error = %crate::error::error_chain(&e), "routing failed; retrying");
            }
            // What came while routing is seen by the pass just made: one pass for a burst.
            while events.try_recv().is_ok() {}
            let poll = tokio::time::sleep(POLL);
            tokio::pin!(poll);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = self.wake.notified() => break,
                    _ = &mut poll => break,
                    e = events.recv() => match e {
                        Ok(e) if matches!(e.kind, "message" | "conversation") => break,
                        Ok(_) => {}
                        // Missed events may have been messages: route.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            events = self.events.subscribe();
                        }
                    },
                }
            }
        }
    }
}
