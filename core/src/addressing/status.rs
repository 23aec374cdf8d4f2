//! What the pool controller writes, computed purely: the pool's totals ([`totals`]: allocated,
//! held and free prefixes per level) and status ([`pool_status`]: the totals, `Ready` and
//! `Exhausted`), each router's prefix and `AddressAssigned` condition ([`RouterAddress`],
//! [`router_patch`]), and the events their transitions deserve.

use govcloud_crds::common::Prefix as SpecPrefix;
use govcloud_crds::network::address_pool::AddressPoolStatus;
use govcloud_crds::network::router::RouterStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;

use super::owners::{Unassigned, Wait};
use super::pass::Assignment;
use crate::conditions::{self, Desired};
use crate::ipam::{LedgerEntry, Level, Prefix, ValidPool};

/// The pool's condition that it can be allocated from.
pub const READY: &str = "Ready";
/// The pool's condition that some request found no room.
pub const EXHAUSTED: &str = "Exhausted";
/// The router's condition that it holds a prefix.
pub const ADDRESS_ASSIGNED: &str = "AddressAssigned";

/// A pool's figures per level (indexed by [`Level::index`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Active allocations.
    pub allocated: [u64; 4],
    /// Released allocations still held.
    pub held: [u64; 4],
    /// Prefixes of the level still free inside the active allocations of the levels above
    /// (for the city: inside the pool).
    pub free: [u128; 4],
}

impl Totals {
    /// Active allocations of every level.
    pub fn allocated_total(&self) -> u64 {
        self.allocated.iter().sum()
    }

    /// Held prefixes of every level.
    pub fn held_total(&self) -> u64 {
        self.held.iter().sum()
    }

    /// Allocated and held over allocated, held and free, per level; `None` with nothing.
    pub fn utilisation(&self, level: Level) -> Option<f64> {
        let i = level.index();
        let used = u128::from(self.allocated[i]) + u128::from(self.held[i]);
        let all = used.saturating_add(self.free[i]);
        #[allow(clippy::cast_precision_loss)] // a ratio: the nearest double is precise enough
        (all > 0).then(|| used as f64 / all as f64)
    }
}

/// The totals of `pool` from the ledger's `entries` (those in use at `now`: active or held).
pub fn totals(
    pool: &ValidPool,
    entries: &[LedgerEntry],
    now: chrono::DateTime<chrono::Utc>,
) -> Totals {
    let mut totals = Totals::default();
    let mut in_use: Vec<Prefix> = Vec::new();
    for entry in entries.iter().filter(|e| e.state.in_use(now)) {
        let i = entry.level.index();
        if entry.state == crate::ipam::EntryState::Active {
            totals.allocated[i] += 1;
        } else {
            totals.held[i] += 1;
        }
        in_use.push(entry.prefix);
    }
    in_use.sort();
    in_use.dedup();
    for level in Level::ALL {
        let parents: Vec<Prefix> = if level == Level::City {
            vec![pool.prefix()]
        } else {
            entries
                .iter()
                .filter(|e| e.state == crate::ipam::EntryState::Active && e.level < level)
                .map(|e| e.prefix)
                .collect()
        };
        let len = pool.length(level);
        totals.free[level.index()] = parents
            .into_iter()
            .map(|parent| free_inside(parent, len, &in_use, pool.reserved()))
            .fold(0_u128, u128::saturating_add);
    }
    totals
}

/// How many aligned prefixes of length `len` inside `parent` overlap nothing in `in_use`
/// (sorted) nor a reserved prefix. A prefix as long as its parent is free while nothing is in
/// use inside it (the city's prefix, which contains the reserved ones by design).
fn free_inside(parent: Prefix, len: u8, in_use: &[Prefix], reserved: &[Prefix]) -> u128 {
    let start = in_use.partition_point(|p| p.first() < parent.first());
    let inside = in_use[start..]
        .iter()
        .take_while(|p| p.first() <= parent.last())
        .filter(|p| parent.contains(**p));
    if len <= parent.length() {
        return u128::from(inside.count() == 0);
    }
    let shift = u32::from(128 - len);
    let block = |address: u128| address.checked_shr(shift).unwrap_or(0);
    let mut touched: Vec<(u128, u128)> = inside
        .filter(|p| p.length() > parent.length())
        .map(|p| (p.first(), p.last()))
        .chain(
            reserved
                .iter()
                .filter(|r| r.overlaps(parent))
                .map(|r| (r.first().max(parent.first()), r.last().min(parent.last()))),
        )
        .map(|(first, last)| (block(first), block(last)))
        .collect();
    touched.sort_unstable();
    let mut count = 0_u128;
    let mut current: Option<(u128, u128)> = None;
    for (first, last) in touched {
        match current {
            Some((a, b)) if first <= b.saturating_add(1) => current = Some((a, b.max(last))),
            Some((a, b)) => {
                count += b - a + 1;
                current = Some((first, last));
            }
            None => current = Some((first, last)),
        }
    }
    if let Some((a, b)) = current {
        count += b - a + 1;
    }
    parent
        .count_of(len)
        .unwrap_or(u128::MAX)
        .saturating_sub(count)
}

/// How a pool's reconcile ended, for its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolOutcome {
    /// The spec or the ledger is refused: nothing allocated. `reason` is the error's category.
    NotReady {
        reason: &'static str,
        message: String,
    },
    /// Allocated: the totals, and the messages of the requests that found no room.
    Served {
        totals: Totals,
        exhausted: Vec<String>,
    },
}

fn saturate(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The pool's status after `outcome`; the totals stay as they were when the pool is not ready.
pub fn pool_status(
    previous: &AddressPoolStatus,
    outcome: &PoolOutcome,
    generation: Option<i64>,
    now: Timestamp,
) -> AddressPoolStatus {
    let mut status = previous.clone();
    let (ready, exhausted) = match outcome {
        PoolOutcome::NotReady { reason, message } => (
            Desired {
                kind: READY,
                status: "False",
                reason,
                message: message.clone(),
            },
            Desired {
                kind: EXHAUSTED,
                status: "Unknown",
                reason: "NotReady",
                message: "the pool is not ready".to_owned(),
            },
        ),
        PoolOutcome::Served { totals, exhausted } => {
            status.allocated = totals.allocated_total();
            status.on_hold = totals.held_total();
            status.allocated_by_level = Level::ALL
                .iter()
                .map(|l| (l.name().to_owned(), totals.allocated[l.index()]))
                .collect();
            status.free_by_level = Level::ALL
                .iter()
                .map(|l| (l.name().to_owned(), saturate(totals.free[l.index()])))
                .collect();
            let ready = Desired {
                kind: READY,
                status: "True",
                reason: "Ready",
                message: format!(
                    "{} prefixes allocated, {} on hold",
                    status.allocated, status.on_hold
                ),
            };
            let exhausted = match exhausted.split_first() {
                None => Desired {
                    kind: EXHAUSTED,
                    status: "False",
                    reason: "Available",
                    message: "every request was served".to_owned(),
                },
                Some((first, rest)) => Desired {
                    kind: EXHAUSTED,
                    status: "True",
                    reason: "Exhausted",
                    message: if rest.is_empty() {
                        first.clone()
                    } else {
                        format!("{first} (and {} more requests unserved)", rest.len())
                    },
                },
            };
            (ready, exhausted)
        }
    };
    conditions::set(&mut status.conditions, &ready, generation, now);
    conditions::set(&mut status.conditions, &exhausted, generation, now);
    status.observed_generation = generation;
    status
}

/// An event: `(warning, reason, note)`.
pub type Announcement = (bool, &'static str, String);

/// The events a pool's status change deserves: `Exhausted` (Warning) when a request first
/// finds no room, `Available` when every request is served again, the refusal's category
/// (Warning) when the pool stops being ready.
pub fn pool_announcements(
    before: &AddressPoolStatus,
    after: &AddressPoolStatus,
) -> Vec<Announcement> {
    let mut events = Vec::new();
    let changed = |kind: &str| -> Option<&Condition> {
        let now = after.conditions.iter().find(|c| c.type_ == kind)?;
        (conditions::status_of(&before.conditions, kind) != Some(now.status.as_str()))
            .then_some(now)
    };
    if let Some(ready) = changed(READY).filter(|c| c.status == "False") {
        events.push((true, category(&ready.reason), ready.message.clone()));
    }
    if let Some(exhausted) = changed(EXHAUSTED) {
        match exhausted.status.as_str() {
            "True" => events.push((true, "Exhausted", exhausted.message.clone())),
            "False" if conditions::status_of(&before.conditions, EXHAUSTED) == Some("True") => {
                events.push((false, "Available", exhausted.message.clone()));
            }
            _ => {}
        }
    }
    events
}

/// A static reason for the categories the pool's `Ready` condition may carry.
fn category(reason: &str) -> &'static str {
    const KNOWN: [&str; 6] = [
        "InvalidPrefix",
        "NotNibbleAligned",
        "InvalidLengths",
        "InvalidReleaseHold",
        "PoolsOverlap",
        "LedgerInconsistent",
    ];
    KNOWN
        .into_iter()
        .find(|k| *k == reason)
        .unwrap_or("PoolNotReady")
}

/// A router's prefix and `AddressAssigned` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterAddress {
    pub prefix: Option<Prefix>,
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl Wait {
    /// The condition reason of a router that waits for this.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoUpstream | Self::UpstreamMissing { .. } | Self::ParentWithoutPrefix { .. } => {
                "WaitingForUpstream"
            }
            Self::UpstreamElsewhere { .. } => "UpstreamInOtherPool",
            Self::UpstreamNotAbove { .. } => "InvalidUpstream",
        }
    }
}

/// What a router's want got, as its status says it.
pub fn router_address(pool: &str, assignment: &Assignment) -> RouterAddress {
    match assignment {
        Assignment::Assigned(prefix) => RouterAddress {
            prefix: Some(*prefix),
            status: "True",
            reason: "Allocated",
            message: format!("{prefix} from AddressPool {pool}"),
        },
        Assignment::Kept { prefix, wait } => RouterAddress {
            prefix: Some(*prefix),
            status: "True",
            reason: "Allocated",
            message: format!("{prefix} from AddressPool {pool}, kept while {wait}"),
        },
        Assignment::Waiting(wait) => RouterAddress {
            prefix: None,
            status: "False",
            reason: wait.reason(),
            message: format!("no prefix from AddressPool {pool}: {wait}"),
        },
        Assignment::Failed(error) => RouterAddress {
            prefix: None,
            status: "False",
            reason: error.category(),
            message: format!("AddressPool {pool}: {error}"),
        },
    }
}

/// A router of a pool that is not ready: it keeps the prefix the ledger gives it, if any.
pub fn pool_not_ready(pool: &str, held: Option<Prefix>, why: &str) -> RouterAddress {
    RouterAddress {
        prefix: held,
        status: "False",
        reason: "PoolNotReady",
        message: format!("AddressPool {pool} is not ready: {why}"),
    }
}

/// A router with no pool.
pub fn unassigned(why: &Unassigned) -> RouterAddress {
    RouterAddress {
        prefix: None,
        status: "False",
        reason: why.reason(),
        message: why.to_string(),
    }
}

/// The status fields the addressing controller owns on a router, to apply, or `None` when the
/// router's status already shows them (so nothing is patched).
pub fn router_patch(
    previous: Option<&RouterStatus>,
    desired: &RouterAddress,
    generation: Option<i64>,
    now: Timestamp,
) -> Option<serde_json::Value> {
    let mut conditions: Vec<Condition> = previous.map(|s| s.conditions.clone()).unwrap_or_default();
    let before = conditions
        .iter()
        .find(|c| c.type_ == ADDRESS_ASSIGNED)
        .cloned();
    conditions::set(
        &mut conditions,
        &Desired {
            kind: ADDRESS_ASSIGNED,
            status: desired.status,
            reason: desired.reason,
            message: desired.message.clone(),
        },
        generation,
        now,
    );
    let condition = conditions
        .into_iter()
        .find(|c| c.type_ == ADDRESS_ASSIGNED)?;
    let prefix = desired
        .prefix
        .map(|p| SpecPrefix::from(p.to_string().as_str()));
    let previous_prefix = previous.and_then(|s| s.prefix.clone());
    if before.as_ref() == Some(&condition) && previous_prefix == prefix {
        return None;
    }
    let mut fields = serde_json::Map::new();
    if let Some(prefix) = prefix {
        fields.insert("prefix".into(), serde_json::json!(prefix));
    }
    fields.insert("conditions".into(), serde_json::json!([condition]));
    Some(serde_json::Value::Object(fields))
}

/// The event a router's change deserves: `PrefixAssigned` when it gets a prefix or another one,
/// `PrefixWithdrawn` (Warning) when it loses it, `AddressNotAssigned` (Warning) when it first
/// fails to get one.
pub fn router_announcement(
    previous: Option<&RouterStatus>,
    desired: &RouterAddress,
) -> Option<Announcement> {
    let before = previous
        .and_then(|s| s.prefix.as_ref())
        .map(SpecPrefix::as_str);
    let after = desired.prefix.map(|p| p.to_string());
    let was = previous
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == ADDRESS_ASSIGNED))
        .map(|c| c.reason.as_str());
    match (before, after.as_deref()) {
        (b, Some(a)) if b != Some(a) => Some((false, "PrefixAssigned", desired.message.clone())),
        (Some(b), None) => Some((true, "PrefixWithdrawn", format!("{b}: {}", desired.message))),
        (None, None) if was != Some(desired.reason) && desired.status == "False" => {
            Some((true, "AddressNotAssigned", desired.message.clone()))
        }
        _ => None,
    }
}
