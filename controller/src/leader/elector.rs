//! The leader elector: takes, renews and releases the `Lease` through the API server, and runs
//! the leader's work for exactly as long as the lease is certainly this replica's.
//!
//! The timing is client-go's: a candidate retries every `retry_period`; the leader renews every
//! `retry_period` and gives up when no renewal succeeded within `renew_deadline` of the last one
//! it sent; another replica takes the lease only after seeing its record unchanged for
//! `lease_duration`. Since `renew_deadline < lease_duration`, a leader that cannot renew stops
//! writing (its [`Fence`] closes by the clock) before anyone else can start.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::time::Instant;

use super::fence::Fence;
use super::metrics::LeaderMetrics;
use crate::report::error_chain;
use govcloud_core::lease::{self as record, LeaseRecord, Verdict};

/// Who takes part in which election.
#[derive(Clone, Debug)]
pub struct ElectionConfig {
    /// Namespace of the `Lease` (the controller's own).
    pub namespace: String,
    /// This replica's name in the lease (the pod's name).
    pub identity: String,
    /// The lease's name and timing.
    pub lease: LeaseSettings,
}

/// The lease's name and timing, the same for every replica.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// Name of the `Lease`.
    pub name: String,
    /// How long a claim lasts after its last renewal (client-go: 15 s).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up (client-go: 10 s).
    pub renew_deadline: Duration,
    /// How often candidates try and the leader renews (client-go: 2 s).
    pub retry_period: Duration,
}

/// A timing that cannot fence: the renew deadline must end before the lease can be taken.
#[derive(Debug, thiserror::Error)]
pub enum ElectionConfigError {
    /// `renew_deadline` is not shorter than `lease_duration`.
    #[error(
        "--renew-deadline ({renew_deadline:?}) must be shorter than --lease-duration \
         ({lease_duration:?}): a leader that cannot renew must stop before another can start"
    )]
    DeadlineNotBeforeExpiry {
        renew_deadline: Duration,
        lease_duration: Duration,
    },
    /// `retry_period` is not shorter than `renew_deadline`.
    #[error(
        "--retry-period ({retry_period:?}) must be shorter than --renew-deadline \
         ({renew_deadline:?}), or the leader never renews in time"
    )]
    RetryNotBeforeDeadline {
        retry_period: Duration,
        renew_deadline: Duration,
    },
    /// A duration below a second (the lease keeps whole seconds).
    #[error("--lease-duration must be at least one second")]
    TooShort,
}

impl ElectionConfig {
    /// Checks that the timing fences.
    pub fn validate(&self) -> Result<(), ElectionConfigError> {
        self.lease.validate()
    }
}

impl Default for LeaseSettings {
    /// The lease `govcloud-controller` with client-go's timing.
    fn default() -> Self {
        Self {
            name: Self::NAME.to_owned(),
            lease_duration: Self::LEASE_DURATION,
            renew_deadline: Self::RENEW_DEADLINE,
            retry_period: Self::RETRY_PERIOD,
        }
    }
}

impl LeaseSettings {
    /// The lease's default name.
    pub const NAME: &str = "govcloud-controller";
    /// client-go's defaults: lease 15 s, renew deadline 10 s, retry 2 s.
    pub const LEASE_DURATION: Duration = Duration::from_secs(15);
    /// See [`Self::LEASE_DURATION`].
    pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
    /// See [`Self::LEASE_DURATION`].
    pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

    /// Checks that the timing fences.
    pub fn validate(&self) -> Result<(), ElectionConfigError> {
        if self.lease_duration < Duration::from_secs(1) {
            return Err(ElectionConfigError::TooShort);
        }
        if self.renew_deadline >= self.lease_duration {
            return Err(ElectionConfigError::DeadlineNotBeforeExpiry {
                renew_deadline: self.renew_deadline,
                lease_duration: self.lease_duration,
            });
        }
        if self.retry_period >= self.renew_deadline {
            return Err(ElectionConfigError::RetryNotBeforeDeadline {
                retry_period: self.retry_period,
                renew_deadline: self.renew_deadline,
            });
        }
        Ok(())
    }
}

/// How a term ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TermEnd {
    /// No renewal within the renew deadline, or another replica holds the lease.
    Lost,
    /// The process is stopping.
    Shutdown,
}

/// The outcome of one round of reading and claiming the lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Round {
    /// The lease is ours after the round.
    Ours,
    /// Another replica holds it, for at most `remaining` more if nothing changes.
    Theirs { remaining: Duration },
}

/// Takes part in the election on one `Lease`.
pub struct Elector {
    leases: Api<Lease>,
    config: ElectionConfig,
    fence: Fence,
    metrics: LeaderMetrics,
    /// The record last read and when this replica first saw it, by its own clock.
    observed: Option<(LeaseRecord, Instant)>,
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("config", &self.config)
            .field("leading", &self.fence.is_open())
            .finish_non_exhaustive()
    }
}

impl Elector {
    /// An elector on `config`'s lease through `client` (a client that is *not* fenced: the
    /// elector's own writes are what keep the fence open).
    pub fn new(
        client: kube::Client,
        config: ElectionConfig,
        fence: Fence,
        metrics: LeaderMetrics,
    ) -> Self {
        Self {
            leases: Api::namespaced(client, &config.namespace),
            config,
            fence,
            metrics,
            observed: None,
        }
    }

    /// Runs until `shutdown` completes: waits for the lease, then runs `lead` with a future that
    /// completes when the term ends, and waits for it to return; after a lost term, it is a
    /// candidate again. At shutdown a held lease is released so that another replica takes
    /// over at once.
    pub async fn run<Lead, Work>(
        mut self,
        mut lead: Lead,
        shutdown: impl Future<Output = ()> + Send,
    ) where
        Lead: FnMut(futures::future::BoxFuture<'static, ()>) -> Work,
        Work: Future<Output = ()> + Send + 'static,
    {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = self.acquire() => {}
                () = &mut shutdown => return,
            }
            self.metrics.acquired();
            tracing::info!(
                identity = %self.config.identity,
                lease = %format!("{}/{}", self.config.namespace, self.config.lease.name),
                "became the leader: starting the controllers"
            );
            let (end_term, term_ended) = tokio::sync::oneshot::channel::<()>();
            let work = tokio::spawn(lead(Box::pin(async move {
                let _ = term_ended.await;
            })));
            let end = tokio::select! {
                () = self.keep_renewing() => TermEnd::Lost,
                () = &mut shutdown => TermEnd::Shutdown,
            };
            self.fence.close();
            let _ = end_term.send(());
            if let Err(error) = work.await
                && error.is_panic()
            {
                tracing::error!("the leader's work panicked");
            }
            match end {
                TermEnd::Shutdown => {
                    self.release().await;
                    self.metrics.stepped_down(false);
                    return;
                }
                TermEnd::Lost => {
                    self.metrics.stepped_down(true);
                    tracing::warn!(
                        identity = %self.config.identity,
                        "lost the leadership: the controllers stopped; standing again"
                    );
                }
            }
        }
    }

    /// Tries every retry period until the lease is ours, and opens the fence.
    async fn acquire(&mut self) {
        loop {
            let sent = Instant::now();
            let wait = match self.try_acquire_or_renew().await {
                Ok(Round::Ours) => {
                    self.fence
                        .open_until(sent + self.config.lease.renew_deadline);
                    return;
                }
                // Try again as soon as the holder's claim can have lapsed.
                Ok(Round::Theirs { remaining }) => remaining.min(self.config.lease.retry_period),
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "failed to read or claim the lease");
                    self.config.lease.retry_period
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Renews every retry period; returns once no renewal succeeded within the renew deadline
    /// of the last one sent, or another replica holds the lease.
    async fn keep_renewing(&mut self) {
        let mut last_sent = Instant::now();
        loop {
            tokio::time::sleep(self.config.lease.retry_period).await;
            let deadline = last_sent + self.config.lease.renew_deadline;
            let sent = Instant::now();
            if sent >= deadline {
                tracing::warn!("the renew deadline passed before a renewal could be sent");
                return;
            }
            match tokio::time::timeout_at(deadline, self.try_acquire_or_renew()).await {
                Ok(Ok(Round::Ours)) => {
                    last_sent = sent;
                    self.fence
                        .open_until(sent + self.config.lease.renew_deadline);
                }
                Ok(Ok(Round::Theirs { .. })) => return,
                Ok(Err(error)) => {
                    tracing::warn!(error = %error_chain(&error), "failed to renew the lease");
                }
                Err(_) => {
                    tracing::warn!("no renewal of the lease within the renew deadline");
                    return;
                }
            }
        }
    }

    /// One round: reads the lease, decides, writes the claim. A conflict (someone wrote in
    /// between) counts as the lease being someone else's for now.
    async fn try_acquire_or_renew(&mut self) -> Result<Round, kube::Error> {
        let now = Timestamp::now();
        let Some(lease) = self.leases.get_opt(&self.config.lease.name).await? else {
            return self.create(now).await;
        };
        let current = LeaseRecord::from_spec(&lease.spec.clone().unwrap_or_default());
        let seen_at = match &self.observed {
            Some((record, at)) if *record == current => *at,
            _ => Instant::now(),
        };
        self.observed = Some((current.clone(), seen_at));
        let verdict = record::decide(
            Some(&current),
            seen_at.elapsed(),
            &self.config.identity,
            self.config.lease.lease_duration,
            now,
        );
        let (record, acquired) = match verdict {
            Verdict::Claim { record, acquired } => (record, acquired),
            Verdict::HeldBy { remaining, .. } => return Ok(Round::Theirs { remaining }),
        };
        let mut updated = lease;
        record.write_into(updated.spec.get_or_insert_with(LeaseSpec::default));
        match self
            .leases
            .replace(&self.config.lease.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {
                if acquired {
                    tracing::info!(
                        previous = current.holder.as_deref().unwrap_or("(none)"),
                        transitions = record.transitions,
                        "took the lease"
                    );
                }
                self.observed = Some((record, Instant::now()));
                Ok(Round::Ours)
            }
            Err(kube::Error::Api(status)) if status.is_conflict() => Ok(self.contended()),
            Err(error) => Err(error),
        }
    }

    /// Someone else wrote the lease between our read and our write: try again after a retry.
    fn contended(&self) -> Round {
        Round::Theirs {
            remaining: self.config.lease.retry_period,
        }
    }

    async fn create(&mut self, now: Timestamp) -> Result<Round, kube::Error> {
        let Verdict::Claim { record, .. } = record::decide(
            None,
            Duration::ZERO,
            &self.config.identity,
            self.config.lease.lease_duration,
            now,
        ) else {
            return Ok(self.contended());
        };
        let mut spec = LeaseSpec::default();
        record.write_into(&mut spec);
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.config.lease.name.clone()),
                namespace: Some(self.config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
        };
        match self.leases.create(&PostParams::default(), &lease).await {
            Ok(_) => {
                tracing::info!("created the lease");
                self.observed = Some((record, Instant::now()));
                Ok(Round::Ours)
            }
            Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(self.contended()),
            Err(error) => Err(error),
        }
    }

    /// Gives the lease up if it is still ours, so that the next candidate takes it at once.
    async fn release(&mut self) {
        let result = async {
            let Some(mut lease) = self.leases.get_opt(&self.config.lease.name).await? else {
                return Ok(());
            };
            let current = LeaseRecord::from_spec(&lease.spec.clone().unwrap_or_default());
            if current.holder.as_deref() != Some(self.config.identity.as_str()) {
                return Ok(());
            }
            record::released(&current, Timestamp::now())
                .write_into(lease.spec.get_or_insert_with(LeaseSpec::default));
            self.leases
                .replace(&self.config.lease.name, &PostParams::default(), &lease)
                .await
                .map(drop)
        };
        match tokio::time::timeout(self.config.lease.retry_period, result).await {
            Ok(Ok(())) => tracing::info!("released the lease"),
            Ok(Err(error)) => {
                tracing::warn!(error = %error_chain(&error), "failed to release the lease; it expires by itself");
            }
            Err(_) => tracing::warn!("releasing the lease took too long; it expires by itself"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lease: u64, deadline: u64, retry: u64) -> LeaseSettings {
        LeaseSettings {
            name: "l".to_owned(),
            lease_duration: Duration::from_secs(lease),
            renew_deadline: Duration::from_secs(deadline),
            retry_period: Duration::from_secs(retry),
        }
    }

    #[test]
    fn the_timing_must_fence() {
        assert!(config(15, 10, 2).validate().is_ok());
        let error = config(10, 10, 2).validate().expect_err("deadline = lease");
        assert!(error.to_string().contains("--renew-deadline"), "{error}");
        let error = config(15, 10, 10).validate().expect_err("retry = deadline");
        assert!(error.to_string().contains("--retry-period"), "{error}");
        assert!(config(0, 0, 0).validate().is_err());
    }
}
