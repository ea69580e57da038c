//! Link inbox: the link the operating system hands over (at launch or while
//! the app runs), on its way from the OS to the UI.
//!
//! Producers are `main` (command-line URL arguments, the Android intent at
//! launch), the window event handler (iOS/macOS `Event::Opened`, on the
//! main thread) and a helper thread that reads the Android intent on every
//! resume. The consumer is the root component, which waits on
//! [`LinkInbox::next`]: a pairing link opens the pairing screen, a
//! transaction link goes to the transaction triggers. The inbox holds at
//! most one link, of either kind: a newer link replaces an unread older
//! one (the customer acts on the last link tapped). Only links of
//! [`deep_link::parse_link`] are accepted (pairing links in canonical
//! form); anything else the OS delivers is dropped here.
use super::deep_link::{self, Link};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

/// Shared handle to the inbox; clones refer to the same inbox.
#[derive(Clone, Default)]
pub struct LinkInbox {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    slot: Mutex<Option<Link>>,
    arrived: Notify,
}

impl std::fmt::Debug for LinkInbox {
    /// Says whether a link is waiting, never the link itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkInbox")
            .field("waiting", &self.is_waiting())
            .finish()
    }
}

impl LinkInbox {
    /// Offers an OS-delivered URL. Keeps it (replacing any unread link) and
    /// wakes the consumer when it is a pairing or transaction link; returns
    /// whether it was kept. Never blocks for long and never panics, so it
    /// is safe to call from the OS event loop.
    pub fn offer(&self, url: &str) -> bool {
        let Some(link) = deep_link::parse_link(url) else {
            return false;
        };
        self.put(link);
        true
    }

    /// Keeps an already parsed link (replacing any unread one) and wakes
    /// the consumer.
    pub fn put(&self, link: Link) {
        *self.slot() = Some(link);
        // Stores a permit when nobody waits yet, so the link is not missed.
        self.inner.arrived.notify_one();
    }

    /// Takes the unread link, if any.
    pub fn take(&self) -> Option<Link> {
        self.slot().take()
    }

    /// Waits for the next link and takes it. Returns at once when a link is
    /// already waiting. Cancel-safe: a link is only removed when returned.
    pub async fn next(&self) -> Link {
        loop {
            if let Some(link) = self.take() {
                return link;
            }
            self.inner.arrived.notified().await;
        }
    }

    fn is_waiting(&self) -> bool {
        self.slot().is_some()
    }

    /// The slot; a panic elsewhere while holding it cannot corrupt an
    /// `Option<Link>`, so a poisoned lock is used as is.
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Link>> {
        self.inner
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LINK: &str =
        "softtoken://pair?v=1&bank=shinkin-demo&url=https%3A%2F%2Ftoken.example.jp&kid=k1";
    const TXN: &str = "softtoken://txn?bank=shinkin-demo&serial=K7M3Q9XZ2PD0";

    fn pair(link: &str) -> Option<Link> {
        Some(Link::Pair(link.to_owned()))
    }

    #[test]
    fn keeps_transaction_links_and_a_newer_link_of_either_kind_wins() {
        let inbox = LinkInbox::default();
        assert!(!inbox.offer("softtoken://txn?bank=shinkin-demo"));
        assert!(inbox.offer(TXN));
        assert!(matches!(inbox.take(), Some(Link::Txn(t)) if t.serial.as_str() == "K7M3Q9XZ2PD0"));
        assert_eq!(inbox.take(), None);
        // Pairing then transaction: the transaction link is acted on.
        assert!(inbox.offer(LINK));
        assert!(inbox.offer(TXN));
        assert!(matches!(inbox.take(), Some(Link::Txn(_))));
        // And the other way round.
        assert!(inbox.offer(TXN));
        assert!(inbox.offer(LINK));
        assert_eq!(inbox.take(), pair(LINK));
        // A refused URL leaves the unread link alone.
        assert!(inbox.offer(TXN));
        assert!(!inbox.offer("softtoken://txn?serial=K7M3Q9XZ2PD0"));
        assert!(matches!(inbox.take(), Some(Link::Txn(_))));
    }

    #[test]
    fn keeps_only_pairing_links_in_canonical_form() {
        let inbox = LinkInbox::default();
        assert!(!inbox.offer("https://bank.example/pair?v=1"));
        assert!(!inbox.offer("softtoken://evil/pair?v=1"));
        assert_eq!(inbox.take(), None);
        assert!(inbox.offer(&LINK.replacen("softtoken://pair", "SOFTTOKEN://pair", 1)));
        assert_eq!(inbox.take(), pair(LINK));
        // Taken once.
        assert_eq!(inbox.take(), None);
    }

    #[test]
    fn a_newer_link_replaces_an_unread_one() {
        let inbox = LinkInbox::default();
        let newer = LINK.replace("kid=k1", "kid=k2");
        assert!(inbox.offer(LINK));
        assert!(inbox.offer(&newer));
        assert_eq!(inbox.take(), pair(&newer));
        assert_eq!(inbox.take(), None);
    }

    #[test]
    fn debug_never_shows_the_link() {
        let inbox = LinkInbox::default();
        inbox.offer(LINK);
        let shown = format!("{inbox:?}");
        assert_eq!(shown, "LinkInbox { waiting: true }");
    }

    #[tokio::test]
    async fn next_returns_a_link_offered_before_the_wait() {
        let inbox = LinkInbox::default();
        inbox.offer(LINK);
        let got = tokio::time::timeout(Duration::from_secs(5), inbox.next()).await;
        assert_eq!(got.ok(), pair(LINK));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn next_wakes_for_a_link_offered_from_another_thread() {
        let inbox = LinkInbox::default();
        let waiter = tokio::spawn({
            let inbox = inbox.clone();
            async move { inbox.next().await }
        });
        // Let the waiter park first (the opposite order is the test above).
        tokio::time::sleep(Duration::from_millis(50)).await;
        let producer = std::thread::spawn({
            let inbox = inbox.clone();
            move || {
                assert!(!inbox.offer("https://not.a/link"));
                assert!(inbox.offer(LINK));
            }
        });
        producer.join().expect("producer thread");
        let got = tokio::time::timeout(Duration::from_secs(5), waiter).await;
        assert_eq!(got.ok().and_then(Result::ok), pair(LINK));
        assert_eq!(inbox.take(), None);
    }

    #[tokio::test]
    async fn a_rejected_url_does_not_wake_the_consumer() {
        let inbox = LinkInbox::default();
        assert!(!inbox.offer("softtoken://pairing?v=1"));
        let got = tokio::time::timeout(Duration::from_millis(100), inbox.next()).await;
        assert!(got.is_err(), "woke without a link");
    }
}
