//! The `softtoken://txn?bank=…&serial=…` link (STK1-TXN): web banking's
//! 取引認証 page links to the app so that it checks that token's pending
//! transactions at once. The link carries no transaction data and grants
//! nothing: it only names which token to poll, and the app polls only a
//! token it holds for that bank.
use softtoken_core::Serial;

/// Longest link accepted.
pub const MAX_TXN_LINK_LEN: usize = 512;

/// What a transaction link names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLink {
    /// The bank's id (as in the bank directory and `TokenMeta::bank_id`).
    pub bank: String,
    /// The token to poll.
    pub serial: Serial,
}

/// Parses a transaction link: scheme and host case-insensitive, white
/// space around it and a `/` before the query tolerated; `bank` (1..=64
/// of `[A-Za-z0-9._-]`) and `serial` (a strict STK1 serial) each exactly
/// once; other parameters ignored. `None` for anything else.
pub fn parse_txn_link(url: &str) -> Option<TxnLink> {
    let url = url.trim();
    if url.len() > MAX_TXN_LINK_LEN || url.chars().any(char::is_control) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("softtoken") {
        return None;
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    if !host.eq_ignore_ascii_case("txn") {
        return None;
    }
    let query = tail.strip_prefix('/').unwrap_or(tail).strip_prefix('?')?;
    let query = query.split('#').next().unwrap_or("");
    let (mut bank, mut serial) = (None, None);
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match k {
            "bank" => &mut bank,
            "serial" => &mut serial,
            _ => continue,
        };
        if slot.replace(v).is_some() {
            return None;
        }
    }
    let bank = bank?;
    if bank.is_empty()
        || bank.len() > 64
        || !bank
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return None;
    }
    let serial = Serial::parse_strict(serial?).ok()?;
    Some(TxnLink {
        bank: bank.to_owned(),
        serial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_link_in_the_forms_the_os_delivers() {
        let want = TxnLink {
            bank: "shinkin-demo".into(),
            serial: Serial::parse_strict("K7M3Q9XZ2PD0").unwrap(),
        };
        for link in [
            "softtoken://txn?bank=shinkin-demo&serial=K7M3Q9XZ2PD0",
            "  SoftToken://TXN/?serial=K7M3Q9XZ2PD0&bank=shinkin-demo\n",
            "softtoken://txn?bank=shinkin-demo&serial=K7M3Q9XZ2PD0&x=1#f",
        ] {
            assert_eq!(parse_txn_link(link), Some(want.clone()), "{link:?}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "softtoken://pair?bank=shinkin-demo&serial=K7M3Q9XZ2PD0",
            "https://txn?bank=shinkin-demo&serial=K7M3Q9XZ2PD0",
            "softtoken://txn",
            "softtoken://txn?bank=shinkin-demo",
            "softtoken://txn?serial=K7M3Q9XZ2PD0",
            "softtoken://txn?bank=&serial=K7M3Q9XZ2PD0",
            "softtoken://txn?bank=a%2Fb&serial=K7M3Q9XZ2PD0",
            "softtoken://txn?bank=x&bank=y&serial=K7M3Q9XZ2PD0",
            "softtoken://txn?bank=x&serial=K7M3Q9XZ2PD1",
            "softtoken://txn?bank=x&serial=K7M3Q9XZ2PD0\u{7}",
        ] {
            assert_eq!(parse_txn_link(bad), None, "{bad:?}");
        }
        let long = format!(
            "softtoken://txn?bank=x&serial=K7M3Q9XZ2PD0&pad={}",
            "a".repeat(600)
        );
        assert_eq!(parse_txn_link(&long), None);
    }
}
