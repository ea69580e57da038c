//! In-memory and failure-injecting keystores, **for tests only** (cargo
//! feature `test-store`). They never write anything to disk.

use crate::keystore::{Backend, Fault};
use crate::{Keystore, Namespace};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use zeroize::Zeroizing;

type Items = BTreeMap<(String, String), Zeroizing<Vec<u8>>>;

/// A keystore held in memory. Clones share the same items, so a test can
/// build several [`Keystore`]s (namespaces, reopenings) over one memory and
/// inspect it.
#[derive(Clone, Default)]
pub struct MemoryKeystore {
    items: Arc<Mutex<Items>>,
}

impl fmt::Debug for MemoryKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemoryKeystore({} items, [redacted])", self.lock().len())
    }
}

impl MemoryKeystore {
    /// An empty memory.
    pub fn new() -> MemoryKeystore {
        MemoryKeystore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Items> {
        // A panicking test thread cannot leave the map half-updated.
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A [`Keystore`] over this memory for `namespace`.
    pub fn keystore(&self, namespace: Namespace) -> Keystore {
        Keystore::with_backend(Arc::new(self.clone()), namespace)
    }

    /// The users (serials) that have an item under `namespace`, sorted.
    pub fn users(&self, namespace: &Namespace) -> Vec<String> {
        self.lock()
            .keys()
            .filter(|(s, _)| s == namespace.service())
            .map(|(_, u)| u.clone())
            .collect()
    }

    /// Number of items in all namespaces.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// `true` if there is no item at all.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Writes raw bytes as an item, e.g. to plant an unreadable value.
    pub fn insert_raw(&self, namespace: &Namespace, user: &str, value: &[u8]) {
        self.lock().insert(
            (namespace.service().to_string(), user.to_string()),
            Zeroizing::new(value.to_vec()),
        );
    }

    /// Deletes an item behind the store's back (a person using a keyring
    /// manager).
    pub fn remove_raw(&self, namespace: &Namespace, user: &str) -> bool {
        self.lock()
            .remove(&(namespace.service().to_string(), user.to_string()))
            .is_some()
    }
}

impl Backend for MemoryKeystore {
    fn describe(&self) -> String {
        "memory (tests only)".into()
    }

    fn put(&self, service: &str, user: &str, value: &[u8]) -> Result<(), Fault> {
        self.lock().insert(
            (service.to_string(), user.to_string()),
            Zeroizing::new(value.to_vec()),
        );
        Ok(())
    }

    fn get(&self, service: &str, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Fault> {
        Ok(self
            .lock()
            .get(&(service.to_string(), user.to_string()))
            .cloned())
    }

    fn delete(&self, service: &str, user: &str) -> Result<bool, Fault> {
        Ok(self
            .lock()
            .remove(&(service.to_string(), user.to_string()))
            .is_some())
    }
}

/// A keystore call, for [`FailingKeystore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Store a secret.
    Put,
    /// Read a secret.
    Get,
    /// Delete a secret.
    Delete,
}

/// How an injected failure looks to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Injected {
    /// The keystore is unreachable (the call does nothing).
    Unavailable,
    /// The keystore refuses access (the call does nothing).
    Locked,
    /// The keystore reports a failure and the call does nothing.
    Failure,
    /// The call takes effect, then reports a failure (an ambiguous
    /// outcome, like a lost IPC reply).
    FailureAfterEffect,
}

#[derive(Debug, Default)]
struct Plan {
    calls: BTreeMap<&'static str, usize>,
    /// (op, 1-based call number, failure)
    nth: Vec<(Op, usize, Injected)>,
    always: Option<Injected>,
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Put => "put",
        Op::Get => "get",
        Op::Delete => "delete",
    }
}

/// A [`MemoryKeystore`] that fails chosen calls: the Nth put, get or delete
/// (counted from creation), or every call.
#[derive(Clone)]
pub struct FailingKeystore {
    inner: MemoryKeystore,
    plan: Arc<Mutex<Plan>>,
}

impl fmt::Debug for FailingKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailingKeystore({:?})", self.inner)
    }
}

impl FailingKeystore {
    /// Wraps `inner` (which stays inspectable through its clones).
    pub fn new(inner: MemoryKeystore) -> FailingKeystore {
        FailingKeystore {
            inner,
            plan: Arc::default(),
        }
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A [`Keystore`] over this wrapper for `namespace`.
    pub fn keystore(&self, namespace: Namespace) -> Keystore {
        Keystore::with_backend(Arc::new(self.clone()), namespace)
    }

    /// The wrapped memory.
    pub fn memory(&self) -> &MemoryKeystore {
        &self.inner
    }

    /// Makes call number `n` (1-based, counted over the wrapper's whole
    /// life) of `op` fail with `how`.
    pub fn fail_nth(&self, op: Op, n: usize, how: Injected) {
        self.plan().nth.push((op, n, how));
    }

    /// Makes the next call of `op` fail with `how`.
    pub fn fail_next(&self, op: Op, how: Injected) {
        let mut plan = self.plan();
        let n = plan.calls.get(op_name(op)).copied().unwrap_or(0) + 1;
        plan.nth.push((op, n, how));
    }

    /// Makes every call fail with `how` (`None`: stop).
    pub fn fail_all(&self, how: Option<Injected>) {
        self.plan().always = how;
    }

    /// Cancels every planned failure (call counts are kept).
    pub fn clear_failures(&self) {
        let mut plan = self.plan();
        plan.nth.clear();
        plan.always = None;
    }

    /// How many calls of `op` were made so far (failed ones included).
    pub fn calls(&self, op: Op) -> usize {
        self.plan().calls.get(op_name(op)).copied().unwrap_or(0)
    }

    fn injected(&self, op: Op) -> Option<Injected> {
        let mut plan = self.plan();
        let count = plan.calls.entry(op_name(op)).or_insert(0);
        *count += 1;
        let n = *count;
        plan.always.or_else(|| {
            plan.nth
                .iter()
                .find(|(o, k, _)| *o == op && *k == n)
                .map(|(_, _, how)| *how)
        })
    }

    fn run<T>(&self, op: Op, call: impl FnOnce() -> Result<T, Fault>) -> Result<T, Fault> {
        match self.injected(op) {
            None => call(),
            Some(Injected::Unavailable) => Err(Fault::Unavailable("injected".into())),
            Some(Injected::Locked) => Err(Fault::Locked("injected".into())),
            Some(Injected::Failure) => Err(Fault::Failure("injected".into())),
            Some(Injected::FailureAfterEffect) => {
                call()?;
                Err(Fault::Failure("injected after effect".into()))
            }
        }
    }
}

impl Backend for FailingKeystore {
    fn describe(&self) -> String {
        "failing memory (tests only)".into()
    }

    fn put(&self, service: &str, user: &str, value: &[u8]) -> Result<(), Fault> {
        self.run(Op::Put, || self.inner.put(service, user, value))
    }

    fn get(&self, service: &str, user: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Fault> {
        self.run(Op::Get, || self.inner.get(service, user))
    }

    fn delete(&self, service: &str, user: &str) -> Result<bool, Fault> {
        self.run(Op::Delete, || self.inner.delete(service, user))
    }
}
