//! Routing: which agent of a team gets a new conversation. Round-robin (the agent assigned
//! longest ago) or least-open (the fewest open conversations), among agents who are online and
//! under their capacity, during the team's business hours. Nobody free, or outside hours: the
//! conversation waits in the queue (unassigned) until someone is.

use serde::{Deserialize, Serialize};

use crate::UnixMs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    RoundRobin,
    LeastOpen,
}

/// A team's business hours: per weekday (0 = Monday) a list of [start, end) minutes of the
/// day, in the team's UTC offset. Empty: always open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Hours {
    #[serde(default)]
    pub utc_offset_minutes: i32,
    #[serde(default)]
    pub weekly: Vec<(u8, u16, u16)>,
}

impl Hours {
    pub fn open_at(&self, t: UnixMs) -> bool {
        if self.weekly.is_empty() {
            return true;
        }
        let local_min = t.0.div_euclid(60_000) + i64::from(self.utc_offset_minutes);
        let day_min = local_min.rem_euclid(1_440) as u16;
        // 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
        let weekday = ((local_min.div_euclid(1_440) + 3).rem_euclid(7)) as u8;
        self.weekly
            .iter()
            .any(|(d, start, end)| *d == weekday && *start <= day_min && day_min < *end)
    }
}

/// A team's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TeamRules {
    #[serde(default)]
    pub strategy: Strategy,
    /// Most open conversations one agent holds at once (0: no limit).
    #[serde(default)]
    pub capacity: u32,
    #[serde(default)]
    pub hours: Hours,
    /// The numbers whose new conversations go to this team (empty: every number).
    #[serde(default)]
    pub numbers: Vec<String>,
}

/// What routing knows about one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLoad {
    pub user_id: i64,
    pub online: bool,
    pub open: u32,
    /// When they were last given a conversation (round-robin order).
    pub last_assigned_at: Option<i64>,
}

/// The agent to give the next conversation to, or `None` (it waits in the queue).
pub fn choose(rules: &TeamRules, agents: &[AgentLoad], now: UnixMs) -> Option<i64> {
    if !rules.hours.open_at(now) {
        return None;
    }
    let free = agents
        .iter()
        .filter(|a| a.online && (rules.capacity == 0 || a.open < rules.capacity));
    match rules.strategy {
        Strategy::RoundRobin => free
            .min_by_key(|a| (a.last_assigned_at.unwrap_or(i64::MIN), a.user_id))
            .map(|a| a.user_id),
        Strategy::LeastOpen => free
            .min_by_key(|a| (a.open, a.last_assigned_at.unwrap_or(i64::MIN), a.user_id))
            .map(|a| a.user_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: i64, online: bool, open: u32, last: Option<i64>) -> AgentLoad {
        AgentLoad {
            user_id: id,
            online,
            open,
            last_assigned_at: last,
        }
    }

    #[test]
    fn round_robin_takes_whoever_waited_longest_among_the_online_and_free() {
        let rules = TeamRules {
            capacity: 3,
            ..Default::default()
        };
        let agents = [
            agent(1, true, 0, Some(30)),
            agent(2, true, 1, Some(10)),
            agent(3, false, 0, None),
            agent(4, true, 3, None),
        ];
        assert_eq!(
            choose(&rules, &agents, UnixMs(0)),
            Some(2),
            "3 is offline, 4 is full"
        );
    }

    #[test]
    fn least_open_takes_the_lightest_load() {
        let rules = TeamRules {
            strategy: Strategy::LeastOpen,
            ..Default::default()
        };
        let agents = [
            agent(1, true, 2, None),
            agent(2, true, 1, Some(99)),
            agent(3, true, 1, Some(5)),
        ];
        assert_eq!(choose(&rules, &agents, UnixMs(0)), Some(3));
    }

    #[test]
    fn nobody_free_or_outside_hours_means_the_queue() {
        let full = TeamRules {
            capacity: 1,
            ..Default::default()
        };
        assert_eq!(choose(&full, &[agent(1, true, 1, None)], UnixMs(0)), None);
        // Monday to Friday 09:00–17:00 at UTC+2.
        let hours = Hours {
            utc_offset_minutes: 120,
            weekly: (0..5).map(|d| (d, 540, 1_020)).collect(),
        };
        let rules = TeamRules {
            hours,
            ..Default::default()
        };
        // 2026-12-07 is a Monday; 10:00 at UTC+2 is 08:00 UTC.
        let monday_10_local = UnixMs(1_796_601_600_000 + 8 * 3_600_000);
        assert!(
            rules.hours.open_at(monday_10_local),
            "{}",
            monday_10_local.iso8601()
        );
        assert!(
            !rules
                .hours
                .open_at(UnixMs(monday_10_local.0 + 8 * 3_600_000)),
            "18:00 local"
        );
        assert!(
            !rules
                .hours
                .open_at(UnixMs(monday_10_local.0 + 5 * 86_400_000)),
            "Saturday"
        );
        assert_eq!(
            choose(
                &rules,
                &[agent(1, true, 0, None)],
                UnixMs(monday_10_local.0 + 5 * 86_400_000)
            ),
            None
        );
    }
}
