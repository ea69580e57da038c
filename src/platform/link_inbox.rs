//! Link inbox: the pairing link the operating system hands over while the
//! app is already running, on its way from the OS event loop to the UI.
//!
//! Producers are the window event handler (iOS `Event::Opened`, on the
//! main thread) and a helper thread that reads the Android intent on every
//! resume. The consumer is the root component, which waits on
//! [`LinkInbox::next`] and opens the pairing screen. The inbox holds at
//! most one link: a newer link replaces an unread older one (the customer
//! acts on the last link tapped). Only pairing links are accepted, in the
//! canonical form of [`super::deep_link::pairing_link`]; anything else the
//! OS delivers is dropped here.
use super::deep_link;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

/// Shared handle to the inbox; clones refer to the same inbox.
#[derive(Clone, Default)]
pub struct LinkInbox {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    slot: Mutex<Option<String>>,
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
    /// wakes the consumer when it is a pairing link; returns whether it was
    /// kept. Never blocks for long and never panics, so it is safe to call
    /// from the OS event loop.
    pub fn offer(&self, url: &str) -> bool {
        let Some(link) = deep_link::pairing_link(url) else {
            return false;
        };
        *self.slot() = Some(link);
        // Stores a permit when nobody waits yet, so the link is not missed.
        self.inner.arrived.notify_one();
        true
    }

    /// Takes the unread link, if any.
    pub fn take(&self) -> Option<String> {
        self.slot().take()
    }

    /// Waits for the next link and takes it. Returns at once when a link is
    /// already waiting. Cancel-safe: a link is only removed when returned.
    pub async fn next(&self) -> String {
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
    /// `Option<String>`, so a poisoned lock is used as is.
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
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

    #[test]
    fn keeps_only_pairing_links_in_canonical_form() {
        let inbox = LinkInbox::default();
        assert!(!inbox.offer("https://bank.example/pair?v=1"));
        assert!(!inbox.offer("softtoken://evil/pair?v=1"));
        assert_eq!(inbox.take(), None);
        assert!(inbox.offer(&LINK.replacen("softtoken://pair", "SOFTTOKEN://pair", 1)));
        assert_eq!(inbox.take(), Some(LINK.to_owned()));
        // Taken once.
        assert_eq!(inbox.take(), None);
    }

    #[test]
    fn a_newer_link_replaces_an_unread_one() {
        let inbox = LinkInbox::default();
        let newer = LINK.replace("kid=k1", "kid=k2");
        assert!(inbox.offer(LINK));
        assert!(inbox.offer(&newer));
        assert_eq!(inbox.take(), Some(newer));
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
        assert_eq!(got.ok(), Some(LINK.to_owned()));
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
        assert_eq!(got.ok().and_then(Result::ok), Some(LINK.to_owned()));
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
