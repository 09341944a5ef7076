//! People who use the inbox: users (agents and admins) with Argon2id password hashes, teams,
//! sessions (only a token's hash is stored), and who holds each conversation. A conversation
//! has one assignee; every change of hands is a compare-and-set in one transaction with its
//! event, so two agents claiming at once cannot both win.

use serde::Serialize;
use switchboard_domain::conversation::EventKind;

use crate::{BeginWrite, Store, StoreError, with_pool};

#[derive(Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub team: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub disabled_at_ms: Option<i64>,
}

/// Leaves the password hash out, so a logged `UserRow` never carries it.
impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("team", &self.team)
            .field("disabled_at_ms", &self.disabled_at_ms)
            .finish_non_exhaustive()
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    user: UserRow,
    csrf_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: String,
    pub team: Option<String>,
    pub password_hash: String,
}

/// Who may take a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hand {
    /// Only if nobody holds it (a claim).
    IfUnassigned,
    /// Only if `actor` holds it (a transfer or release by the holder).
    IfHeldByActor,
    /// Whoever holds it (an explicit take-over, or an admin's assignment): recorded.
    Regardless,
}

/// What an assignment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assigned {
    pub applied: bool,
    /// The assignee before (a user id), whether or not it changed.
    pub previous: Option<i64>,
    pub assignee: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct ConversationEvent {
    pub id: i64,
    pub conversation_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: EventKind,
    pub actor_user_id: Option<i64>,
    pub previous_user_id: Option<i64>,
    pub user_id: Option<i64>,
    pub detail: Option<String>,
    pub at_ms: i64,
}

const ENSURE_TEAM: &str = "INSERT INTO teams (name, created_at_ms) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";
const INSERT_USER: &str = "INSERT INTO users (email, name, role, team_id, password_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (email) DO NOTHING RETURNING id";
const BY_EMAIL: &str = "SELECT u.id, u.email, u.name, u.role, t.name AS team, u.password_hash, u.disabled_at_ms FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.email = $1";
const BY_ID: &str = "SELECT u.id, u.email, u.name, u.role, t.name AS team, u.password_hash, u.disabled_at_ms FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.id = $1";
const ALL: &str = "SELECT u.id, u.email, u.name, u.role, t.name AS team, u.password_hash, u.disabled_at_ms FROM users u LEFT JOIN teams t ON t.id = u.team_id ORDER BY u.id";
const INSERT_SESSION: &str = "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)";
const SESSION: &str = "SELECT u.id, u.email, u.name, u.role, t.name AS team, u.password_hash, u.disabled_at_ms, s.csrf_token \
     FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN teams t ON t.id = u.team_id \
     WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND u.disabled_at_ms IS NULL";
const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";
const SET_PASSWORD: &str = "UPDATE users SET password_hash = $2 WHERE id = $1";
const DELETE_SESSIONS_OF: &str = "DELETE FROM sessions WHERE user_id = $1";
const ASSIGNEE: &str = "SELECT assignee FROM conversations WHERE id = $1";
// Compare-and-set: only if the assignee is still the one read (two claims cannot both win,
// on PostgreSQL's READ COMMITTED too).
const SET_ASSIGNEE: &str = "UPDATE conversations SET assignee = $2 WHERE id = $1 AND COALESCE(assignee, '') = COALESCE($3, '')";
const INSERT_EVENT: &str = "INSERT INTO conversation_events (conversation_id, kind, actor_user_id, previous_user_id, user_id, detail, at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const EVENTS: &str = "SELECT id, conversation_id, kind, actor_user_id, previous_user_id, user_id, detail, at_ms FROM conversation_events \
     WHERE conversation_id = $1 ORDER BY id";
const TAKEN_FROM: &str = "SELECT id, conversation_id, kind, actor_user_id, previous_user_id, user_id, detail, at_ms FROM conversation_events \
     WHERE previous_user_id = $1 AND kind = 'taken_over' AND id > $2 ORDER BY id LIMIT 100";
// The customer's newest message: an agent's own sends are not news to them.
const LAST_MESSAGE: &str =
    "SELECT MAX(id) FROM messages WHERE conversation_id = $1 AND direction = 'in'";
const CONVERSATION_TARGET: &str = "SELECT v.phone_number_id, c.wa_id, c.bsuid FROM conversations v JOIN contacts c ON c.id = v.contact_id WHERE v.id = $1";

impl Store {
    /// Creates a user (and their team, if new). `None` when the email is taken.
    pub async fn create_user(&self, u: &NewUser, now_ms: i64) -> Result<Option<i64>, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let team: Option<i64> = match &u.team {
                Some(name) => Some(sqlx::query_as::<_, (i64,)>(ENSURE_TEAM).bind(name).bind(now_ms).fetch_one(&mut *tx).await?.0),
                None => None,
            };
            let id: Option<(i64,)> = sqlx::query_as(INSERT_USER).bind(u.email.to_lowercase()).bind(&u.name).bind(&u.role).bind(team)
                .bind(&u.password_hash).bind(now_ms).fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            Ok(id.map(|r| r.0))
        })
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(BY_EMAIL).bind(email.to_lowercase()).fetch_optional(p).await?))
    }

    pub async fn user(&self, id: i64) -> Result<UserRow, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(BY_ID).bind(id).fetch_one(p).await?))
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(ALL).fetch_all(p).await?))
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(INSERT_SESSION).bind(token_hash).bind(user_id).bind(csrf).bind(now_ms).bind(expires_at_ms).execute(p).await?;
            Ok(())
        })
    }

    /// The live session's user and CSRF token.
    pub async fn session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(UserRow, String)>, StoreError> {
        with_pool!(&self.pool, p => {
            let row: Option<SessionRow> = sqlx::query_as(SESSION).bind(token_hash).bind(now_ms).fetch_optional(p).await?;
            Ok(row.map(|r| (r.user, r.csrf_token)))
        })
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            sqlx::query(DELETE_SESSION).bind(token_hash).execute(p).await?;
            Ok(())
        })
    }

    /// Sets a user's password hash and ends every session of theirs, in one transaction: a
    /// changed password logs out whoever else was using the old one.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let changed = sqlx::query(SET_PASSWORD).bind(user_id).bind(password_hash).execute(&mut *tx).await?;
            if changed.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query(DELETE_SESSIONS_OF).bind(user_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Hands a conversation to `to` (or nobody) if `hand` allows it, recording the event.
    pub async fn assign_conversation(
        &self,
        conversation_id: i64,
        to: Option<i64>,
        actor: Option<i64>,
        hand: Hand,
        kind: EventKind,
        now_ms: i64,
    ) -> Result<Assigned, StoreError> {
        with_pool!(&self.writer, p => {
            let mut tx = p.begin_write().await?;
            let (current,): (Option<String>,) = sqlx::query_as(ASSIGNEE).bind(conversation_id).fetch_one(&mut *tx).await?;
            let previous = current.as_deref().and_then(|s| s.parse::<i64>().ok());
            let allowed = match hand {
                Hand::IfUnassigned => previous.is_none(),
                Hand::IfHeldByActor => actor.is_some() && previous == actor,
                Hand::Regardless => true,
            };
            if !allowed || previous == to {
                tx.rollback().await?;
                return Ok(Assigned { applied: allowed && previous == to, previous, assignee: previous });
            }
            let set = sqlx::query(SET_ASSIGNEE).bind(conversation_id).bind(to.map(|t| t.to_string())).bind(current.as_deref()).execute(&mut *tx).await?;
            if set.rows_affected() == 0 {
                // Someone else changed hands first.
                tx.rollback().await?;
                return Ok(Assigned { applied: false, previous, assignee: previous });
            }
            sqlx::query(INSERT_EVENT).bind(conversation_id).bind(kind.as_str()).bind(actor).bind(previous).bind(to).bind(None::<String>).bind(now_ms)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Assigned { applied: true, previous, assignee: to })
        })
    }

    pub async fn conversation_events(
        &self,
        conversation_id: i64,
    ) -> Result<Vec<ConversationEvent>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(EVENTS).bind(conversation_id).fetch_all(p).await?))
    }

    /// Conversations taken over from `user_id` after event `after` (what they are told).
    pub async fn taken_from(
        &self,
        user_id: i64,
        after: i64,
    ) -> Result<Vec<ConversationEvent>, StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(TAKEN_FROM).bind(user_id).bind(after).fetch_all(p).await?))
    }

    /// The newest thread message of a conversation (to warn a reply written against an older
    /// view).
    pub async fn last_message_id(&self, conversation_id: i64) -> Result<Option<i64>, StoreError> {
        with_pool!(&self.pool, p => {
            let (n,): (Option<i64>,) = sqlx::query_as(LAST_MESSAGE).bind(conversation_id).fetch_one(p).await?;
            Ok(n)
        })
    }

    /// Where a reply in a conversation goes: (number, wa_id, bsuid).
    pub async fn conversation_target(
        &self,
        conversation_id: i64,
    ) -> Result<(String, Option<String>, Option<String>), StoreError> {
        with_pool!(&self.pool, p => Ok(sqlx::query_as(CONVERSATION_TARGET).bind(conversation_id).fetch_one(p).await?))
    }
}
