//! Scheduling with Lambda semantics: one request per instance; an idle instance is reused
//! (warm), otherwise a new one starts (cold) while the function is under its concurrency limit;
//! above it requests wait in a bounded queue, and beyond that they are throttled.
//!
//! Idle instances are retired by an [`EvictionPolicy`]; the pool applies it lazily when it picks
//! an instance (so keep-alive is exact) and a sweeper applies it in the background (so idle
//! instances do not linger).

use std::collections::VecDeque;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::instance::Instance;

/// Decides when idle instances are retired.
pub trait EvictionPolicy: Send + Sync + Debug {
    /// Whether an instance that has been idle for `idle` must be retired rather than reused.
    fn expired(&self, idle: Duration) -> bool;
    /// Whether instances are reused at all (a keep-alive of zero means never).
    fn reuses(&self) -> bool {
        true
    }
    /// How often the background sweeper should look at idle instances.
    fn sweep_interval(&self) -> Duration;
    /// A short description for logs.
    fn describe(&self) -> String;
}

/// Lambda-like fixed keep-alive: an instance idle for longer than the TTL is evicted.
#[derive(Debug, Clone, Copy)]
pub struct FixedKeepAlive(pub Duration);

impl EvictionPolicy for FixedKeepAlive {
    fn expired(&self, idle: Duration) -> bool {
        idle > self.0
    }
    fn reuses(&self) -> bool {
        !self.0.is_zero()
    }
    fn sweep_interval(&self) -> Duration {
        (self.0 / 4).clamp(Duration::from_millis(50), Duration::from_secs(10))
    }
    fn describe(&self) -> String {
        format!("fixed keep-alive of {:?}", self.0)
    }
}

/// What a caller got from the pool.
pub(crate) enum Slot {
    /// An idle instance to reuse.
    Warm(Arc<Instance>),
    /// Permission to start a new instance (a concurrency slot is reserved).
    Cold,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Concurrency limit reached and the queue is full.
    Throttled,
    /// Waited in the queue for longer than allowed.
    QueueTimeout,
}

struct Waiter {
    id: u64,
    tx: oneshot::Sender<Slot>,
}

struct State {
    /// Idle instances with the time they became idle; the most recent last (reused first).
    idle: Vec<(Arc<Instance>, Instant)>,
    /// Executions in progress, including instances being started for them.
    busy: usize,
    waiters: VecDeque<Waiter>,
    next_waiter: u64,
}

/// The instances of one function.
pub(crate) struct Pool {
    state: Mutex<State>,
    /// Concurrency limit.
    pub(crate) limit: usize,
    /// Queue capacity beyond the limit.
    pub(crate) queue: usize,
    /// Eviction policy.
    pub(crate) policy: Arc<dyn EvictionPolicy>,
}

impl Pool {
    pub(crate) fn new(limit: usize, queue: usize, policy: Arc<dyn EvictionPolicy>) -> Pool {
        Pool {
            state: Mutex::new(State {
                idle: Vec::new(),
                busy: 0,
                waiters: VecDeque::new(),
                next_waiter: 0,
            }),
            limit: limit.max(1),
            queue,
            policy,
        }
    }

    /// Get a warm instance or a cold slot, waiting in the queue up to `wait`.
    pub(crate) async fn acquire(&self, wait: Duration) -> Result<Slot, Rejected> {
        let (id, rx) = {
            let mut state = self.state.lock().expect("lock");
            while let Some((instance, since)) = state.idle.pop() {
                if !instance.is_alive() {
                    continue;
                }
                if self.policy.expired(since.elapsed()) {
                    instance.kill();
                    continue;
                }
                state.busy += 1;
                return Ok(Slot::Warm(instance));
            }
            if state.busy < self.limit {
                state.busy += 1;
                return Ok(Slot::Cold);
            }
            if state.waiters.len() >= self.queue {
                return Err(Rejected::Throttled);
            }
            let (tx, rx) = oneshot::channel();
            let id = state.next_waiter;
            state.next_waiter += 1;
            state.waiters.push_back(Waiter { id, tx });
            (id, rx)
        };
        let mut rx = rx;
        match tokio::time::timeout(wait, &mut rx).await {
            Ok(Ok(slot)) => Ok(slot),
            Ok(Err(_)) => Err(Rejected::QueueTimeout),
            Err(_) => {
                let removed = {
                    let mut state = self.state.lock().expect("lock");
                    let before = state.waiters.len();
                    state.waiters.retain(|w| w.id != id);
                    before != state.waiters.len()
                };
                if !removed {
                    // A slot was handed over just as the wait ended: give it back.
                    if let Ok(slot) = rx.try_recv() {
                        match slot {
                            Slot::Warm(instance) => self.release(instance, true),
                            Slot::Cold => self.release_slot(),
                        }
                    }
                }
                Err(Rejected::QueueTimeout)
            }
        }
    }

    /// Hand a slot to the oldest waiter still waiting; gives the slot back if there is none.
    fn hand_over(state: &mut State, mut slot: Slot) -> Option<Slot> {
        while let Some(waiter) = state.waiters.pop_front() {
            match waiter.tx.send(slot) {
                Ok(()) => return None,
                Err(back) => slot = back,
            }
        }
        Some(slot)
    }

    /// An execution finished on `instance`; `reusable` if the instance is healthy.
    pub(crate) fn release(&self, instance: Arc<Instance>, reusable: bool) {
        let reusable = reusable && instance.is_alive() && self.policy.reuses();
        if !reusable {
            instance.kill();
            self.release_slot();
            return;
        }
        let mut state = self.state.lock().expect("lock");
        if let Some(Slot::Warm(instance)) = Self::hand_over(&mut state, Slot::Warm(instance)) {
            state.busy -= 1;
            state.idle.push((instance, Instant::now()));
        }
    }

    /// A concurrency slot is free (an execution ended without an instance to keep).
    pub(crate) fn release_slot(&self) {
        let mut state = self.state.lock().expect("lock");
        if Self::hand_over(&mut state, Slot::Cold).is_some() {
            state.busy -= 1;
        }
    }

    /// Retire every idle instance (`enforce_cold_start`, redeploys, shutdown).
    pub(crate) fn retire_idle(&self) -> usize {
        let idle: Vec<_> = self.state.lock().expect("lock").idle.drain(..).collect();
        let n = idle.len();
        for (instance, _) in idle {
            instance.kill();
        }
        n
    }

    /// Evict idle instances the policy says are expired; returns how many.
    pub(crate) fn sweep(&self) -> usize {
        let expired: Vec<_> = {
            let mut state = self.state.lock().expect("lock");
            let (keep, expired): (Vec<_>, Vec<_>) = state
                .idle
                .drain(..)
                .partition(|(i, since)| i.is_alive() && !self.policy.expired(since.elapsed()));
            state.idle = keep;
            expired
        };
        let n = expired.len();
        for (instance, _) in expired {
            instance.kill();
        }
        n
    }

    /// `(busy, idle, queued)`.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let state = self.state.lock().expect("lock");
        (state.busy, state.idle.len(), state.waiters.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_policy() {
        let p = FixedKeepAlive(Duration::from_secs(2));
        assert!(!p.expired(Duration::from_secs(1)));
        assert!(p.expired(Duration::from_secs(3)));
        assert!(p.reuses());
        assert!(!FixedKeepAlive(Duration::ZERO).reuses());
    }

    #[tokio::test]
    async fn limit_then_queue_then_throttle() {
        let pool = Pool::new(2, 1, Arc::new(FixedKeepAlive(Duration::from_secs(60))));
        let wait = Duration::from_millis(50);
        assert!(matches!(pool.acquire(wait).await, Ok(Slot::Cold)));
        assert!(matches!(pool.acquire(wait).await, Ok(Slot::Cold)));
        // The third waits in the queue; a fourth is throttled while it waits.
        let pool = Arc::new(pool);
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire(Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(pool.counts(), (2, 0, 1));
        assert!(matches!(pool.acquire(wait).await, Err(Rejected::Throttled)));
        // A finished execution hands its slot to the waiter.
        pool.release_slot();
        assert!(matches!(queued.await.unwrap(), Ok(Slot::Cold)));
        assert_eq!(pool.counts(), (2, 0, 0));
        // A queued request gives up after its wait.
        assert!(matches!(
            pool.acquire(Duration::from_millis(20)).await,
            Err(Rejected::QueueTimeout)
        ));
        assert_eq!(pool.counts(), (2, 0, 0));
    }
}
