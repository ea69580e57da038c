//! One desktop app per profile for links: a launch with `softtoken:` URL
//! arguments while an app of the same profile runs hands the URLs to the
//! running app and exits, as phones do (Android `singleTask`, iOS).
//!
//! The running app listens on a Unix socket in `$XDG_RUNTIME_DIR` (a
//! folder only its user can enter), named after the profile folder. A
//! second launch connects, writes its URLs one a line, waits for a one-byte
//! acknowledgement and exits; the running app offers each line to its
//! [`LinkInbox`], which accepts only pairing and transaction links. Without
//! `$XDG_RUNTIME_DIR`, or when the socket cannot be made, every launch runs
//! on its own (the behaviour before). A launch without URL arguments always
//! runs on its own. What crosses the socket is outside input, handled like
//! a link from the OS, and never logged.
use super::link_inbox::LinkInbox;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most bytes read from one connection (a few links).
pub const MAX_MESSAGE: u64 = 16 * 1024;

/// How long either side waits for the other.
const WAIT: Duration = Duration::from_secs(2);

/// The socket of the app that uses the profile folder `profile`, in
/// `runtime_dir`.
pub fn socket_path(runtime_dir: &Path, profile: &Path) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    profile.hash(&mut h);
    runtime_dir.join(format!("softtoken-{:016x}.sock", h.finish()))
}

/// `$XDG_RUNTIME_DIR` when it is set to an absolute path.
pub fn runtime_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
}

/// Outcome of [`claim`].
pub enum Claim {
    /// Another app of this profile took the URLs: exit.
    Handed,
    /// This app serves the profile's socket; keep the listener.
    Serve(UnixListener),
    /// Run on its own (no runtime folder, or the socket could not be made).
    Alone,
}

/// Hands `urls` to a running app of the profile whose socket is `path`,
/// or else becomes that app: binds the socket (replacing a stale one).
/// With no URLs it only binds, never hands over.
pub fn claim(path: &Path, urls: &[String]) -> Claim {
    if !urls.is_empty() && hand_over(path, urls).is_ok() {
        return Claim::Handed;
    }
    match UnixListener::bind(path) {
        Ok(l) => Claim::Serve(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            // Nobody answered on it (or it answered wrongly): stale.
            if UnixStream::connect(path).is_ok() {
                return Claim::Alone;
            }
            let _ = std::fs::remove_file(path);
            UnixListener::bind(path).map_or(Claim::Alone, Claim::Serve)
        }
        Err(_) => Claim::Alone,
    }
}

/// Writes `urls` to the app at `path` and waits for its acknowledgement.
fn hand_over(path: &Path, urls: &[String]) -> std::io::Result<()> {
    let mut s = UnixStream::connect(path)?;
    s.set_write_timeout(Some(WAIT))?;
    s.set_read_timeout(Some(WAIT))?;
    for url in urls {
        s.write_all(url.replace(['\n', '\r'], "").as_bytes())?;
        s.write_all(b"\n")?;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack)?;
    if &ack == b"k" {
        Ok(())
    } else {
        Err(std::io::Error::other("no acknowledgement"))
    }
}

/// Serves `listener` on a thread of its own for the life of the process:
/// every line of every connection goes to `inbox` (newest last, so the
/// newest is kept). Returns whether the thread started.
pub fn serve(listener: UnixListener, inbox: LinkInbox) -> bool {
    std::thread::Builder::new()
        .name("softtoken-links".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(s) => take(s, &inbox),
                    Err(e) => eprintln!("softtoken: link socket: {e}"),
                }
            }
        })
        .is_ok()
}

/// Reads one connection's lines into `inbox` and acknowledges them.
fn take(mut s: UnixStream, inbox: &LinkInbox) {
    if s.set_read_timeout(Some(WAIT)).is_err() || s.set_write_timeout(Some(WAIT)).is_err() {
        return;
    }
    let Ok(reader) = s.try_clone() else { return };
    let mut kept = 0usize;
    for line in BufReader::new(reader.take(MAX_MESSAGE)).lines() {
        let Ok(line) = line else { break };
        if inbox.offer(&line) {
            kept += 1;
        }
    }
    if kept == 0 {
        eprintln!("softtoken: a second launch handed over no softtoken link");
    }
    let _ = s.write_all(b"k");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::deep_link::Link;

    const TXN: &str = "softtoken://txn?bank=shinkin-demo&serial=K7M3Q9XZ2PD0";

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("softtoken-si-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn one_socket_per_profile_folder() {
        let run = Path::new("/run/user/1000");
        let a = socket_path(run, Path::new("/tmp/p1"));
        assert_eq!(a, socket_path(run, Path::new("/tmp/p1")));
        assert_ne!(a, socket_path(run, Path::new("/tmp/p2")));
        assert!(a.starts_with(run));
        // Short enough for a Unix socket address (108 bytes).
        assert!(a.as_os_str().len() < 100);
    }

    #[test]
    fn a_second_launch_hands_its_links_to_the_first() {
        let dir = temp_dir("hand");
        let path = socket_path(&dir, Path::new("/tmp/profile"));
        let inbox = LinkInbox::default();
        let Claim::Serve(listener) = claim(&path, &[]) else {
            panic!("the first app serves the socket");
        };
        assert!(serve(listener, inbox.clone()));
        let urls = vec!["https://not.a/link".to_owned(), TXN.to_owned()];
        assert!(matches!(claim(&path, &urls), Claim::Handed));
        assert!(matches!(inbox.take(), Some(Link::Txn(t)) if t.serial.as_str() == "K7M3Q9XZ2PD0"));
        // Nothing usable: still handed over (and acknowledged), nothing kept.
        assert!(matches!(
            claim(&path, &["softtoken://nope".to_owned()]),
            Claim::Handed
        ));
        assert_eq!(inbox.take(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stale_socket_is_replaced() {
        let dir = temp_dir("stale");
        let path = socket_path(&dir, Path::new("/tmp/profile"));
        // A socket file nobody listens on (its app ended).
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let claimed = claim(&path, &[TXN.to_owned()]);
        assert!(matches!(claimed, Claim::Serve(_)), "becomes the app");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_launch_without_a_runtime_folder_runs_alone() {
        let path = Path::new("/nonexistent-softtoken-dir/x.sock");
        assert!(matches!(claim(path, &[TXN.to_owned()]), Claim::Alone));
    }
}
