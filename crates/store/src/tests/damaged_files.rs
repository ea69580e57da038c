//! Damaged and too-new files: kept, reported, never written.

use super::*;

fn damaged_variants(valid: &str) -> Vec<(&'static str, Vec<u8>, ErrorKind)> {
    let bytes = valid.as_bytes();
    let one_token = serde_json::from_str::<serde_json::Value>(valid).unwrap()["tokens"][0].clone();
    let duplicate =
        serde_json::json!({"version": 1, "tokens": [one_token.clone(), one_token.clone()]});
    let mut unknown_field = one_token.clone();
    unknown_field["secret"] = serde_json::json!("GEZDGNBV");
    let unknown = serde_json::json!({"version": 1, "tokens": [unknown_field]});
    let newer = serde_json::json!({"version": 2, "tokens": "whatever the future holds"});
    let mut bad_serial = one_token;
    bad_serial["meta"]["serial"] = serde_json::json!("K7M3Q9XZ2PD1");
    let bad_serial = serde_json::json!({"version": 1, "tokens": [bad_serial]});
    vec![
        (
            "partial file",
            bytes[..bytes.len() / 2].to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "truncated JSON",
            bytes[..bytes.len() - 3].to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        ("empty file", Vec::new(), ErrorKind::MetadataCorrupt),
        (
            "garbage",
            b"\x00\xffPK\x03\x04 garbage".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "zeros (lost blocks)",
            vec![0; 512],
            ErrorKind::MetadataCorrupt,
        ),
        (
            "not an object",
            b"[1,2,3]".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "no version",
            b"{\"tokens\":[]}".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "version as text",
            b"{\"version\":\"1\",\"tokens\":[]}".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "version 0",
            b"{\"version\":0,\"tokens\":[]}".to_vec(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "duplicate serial",
            duplicate.to_string().into_bytes(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "unknown field",
            unknown.to_string().into_bytes(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "bad serial",
            bad_serial.to_string().into_bytes(),
            ErrorKind::MetadataCorrupt,
        ),
        (
            "newer version",
            newer.to_string().into_bytes(),
            ErrorKind::MetadataTooNew,
        ),
    ]
}

#[test]
fn damaged_or_newer_file_is_kept_reported_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, failing) = failing_store(dir.path());
    add(&mut store, 1);
    drop(store);
    let valid = file_text(dir.path());
    for (what, bytes, kind) in damaged_variants(&valid) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &bytes).unwrap();
        let calls = failing.calls(Op::Get) + failing.calls(Op::Delete);
        let err = TokenStore::open(dir.path(), failing.keystore(ns())).unwrap_err();
        assert_eq!(err.kind(), kind, "{what}: {err}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{what}: {text}");
        assert!(text.contains("untouched"), "{what}: {text}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: file unchanged"
        );
        assert_eq!(
            failing.calls(Op::Get) + failing.calls(Op::Delete),
            calls,
            "{what}: keystore untouched"
        );
        assert_eq!(failing.memory().len(), 1, "{what}: secrets kept");
        // Refuses again at the next start, until the person decides.
        assert!(TokenStore::open(dir.path(), failing.keystore(ns())).is_err());
        // The person sets it aside: kept under a new name, fresh start.
        let aside = TokenStore::set_aside(dir.path(), 1_700_000_000)
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(&aside).unwrap(), bytes, "{what}: kept aside");
        let (fresh, _) = TokenStore::open(dir.path(), failing.keystore(ns())).unwrap();
        assert!(fresh.entries().is_empty());
    }
}

#[test]
fn set_aside_never_replaces_an_earlier_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, b"first").unwrap();
    let a = TokenStore::set_aside(dir.path(), 42).unwrap().unwrap();
    std::fs::write(&path, b"second").unwrap();
    let b = TokenStore::set_aside(dir.path(), 42).unwrap().unwrap();
    assert_ne!(a, b);
    assert_eq!(std::fs::read(&a).unwrap(), b"first");
    assert_eq!(std::fs::read(&b).unwrap(), b"second");
    assert_eq!(TokenStore::set_aside(dir.path(), 42).unwrap(), None);
}

#[cfg(unix)]
#[test]
fn files_and_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("profile");
    let mem = MemoryKeystore::new();
    let (mut store, _) = TokenStore::open(&dir, mem.keystore(ns())).unwrap();
    add(&mut store, 1);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(FILE_NAME)), 0o600);
}
