//! The token store: the journal that keeps metadata and keystore in step.

use crate::metadata;
use crate::{Keystore, PendingFinish, Phase, StoreError, TokenEntry, TokenMeta};
use softtoken_core::stk1::messages::{FinishRequest, TokenState};
use softtoken_core::{Secret, Serial};
use std::path::{Path, PathBuf};

/// What [`TokenStore::open`] found and did about operations that an earlier
/// run left unfinished (crash, kill, power loss, keystore error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovered {
    /// A token was being added and its secret is in the keystore, but the
    /// pairing was not confirmed. It stays [`Phase::Pending`]: the app
    /// resends the (idempotent) STK1 `finish`, or asks the bank for the
    /// token's status, then calls [`TokenStore::commit_add`] or
    /// [`TokenStore::abort_add`].
    PendingAdd {
        /// The token.
        serial: Serial,
        /// The `finish` request to resend, if one was kept.
        finish: Option<PendingFinish>,
    },
    /// A token was being added but its secret never reached the keystore:
    /// its metadata entry was dropped (the add is rolled back).
    RolledBackAdd {
        /// The token.
        serial: Serial,
    },
    /// A token was being removed: its secret is now deleted and its entry
    /// dropped (the removal is completed).
    CompletedRemove {
        /// The token.
        serial: Serial,
    },
    /// A ready token's secret is missing from the keystore. The entry is
    /// kept (the person must learn that this token is gone; the app offers
    /// to remove it).
    SecretMissing {
        /// The token.
        serial: Serial,
    },
    /// A ready token's keystore item is not a key this app wrote. The
    /// entry and the item are kept; [`TokenStore::secret`] reports
    /// [`StoreError::SecretUnreadable`] and the app offers to remove it.
    SecretUnreadable {
        /// The token.
        serial: Serial,
    },
    /// A temporary file of an interrupted metadata write was deleted (it
    /// never was the authoritative list).
    StaleTempRemoved {
        /// Its path.
        path: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Readable,
    Missing,
    Unreadable,
}

/// The tokens of one profile: metadata in `<dir>/tokens.json`, secrets in
/// the [`Keystore`].
///
/// Journal (each metadata step is an atomic, fsynced file replacement that
/// completes before the keystore call that follows it):
/// * add: entry `pending` → keystore put → ([`TokenStore::commit_add`])
///   entry `ready`;
/// * remove: entry `removing` → keystore delete → entry dropped.
///
/// Invariant, kept through any failure or crash once
/// [`TokenStore::open`] has run: every `ready` entry's secret was stored;
/// every secret the store put has an entry (`pending`, `ready` or
/// `removing`). A method that returns an error has deleted no secret of a
/// ready token and no metadata entry whose secret may exist.
///
/// One process per profile directory (the app is single-instance); the
/// store does not lock the directory.
#[derive(Debug)]
pub struct TokenStore {
    dir: PathBuf,
    keystore: Keystore,
    entries: Vec<TokenEntry>,
}

impl TokenStore {
    /// Opens (creating the directory if needed) the token list of `dir`
    /// and finishes or rolls back what an earlier run left unfinished, as
    /// listed in the returned [`Recovered`] items. Reads the secret of
    /// every ready token once to check it is there.
    ///
    /// Errors: [`StoreError::MetadataCorrupt`] or
    /// [`StoreError::MetadataTooNew`] if `tokens.json` is not a token list
    /// this build can read: the file is left untouched and nothing can be
    /// written until the person decides (update the app, restore a backup,
    /// or [`TokenStore::set_aside`]); keystore errors (nothing deleted, the
    /// recovery resumes at the next open); I/O errors.
    pub fn open(
        dir: &Path,
        keystore: Keystore,
    ) -> Result<(TokenStore, Vec<Recovered>), StoreError> {
        metadata::ensure_dir(dir)?;
        let mut recovered = Vec::new();
        let entries = metadata::read(dir)?.unwrap_or_default();
        if let Some(path) = metadata::remove_stale_temp(dir)? {
            recovered.push(Recovered::StaleTempRemoved { path });
        }
        let mut store = TokenStore {
            dir: dir.to_path_buf(),
            keystore,
            entries,
        };
        store.recover(&mut recovered)?;
        Ok((store, recovered))
    }

    fn recover(&mut self, recovered: &mut Vec<Recovered>) -> Result<(), StoreError> {
        let mut kept = Vec::with_capacity(self.entries.len());
        let mut changed = false;
        let mut failure = None;
        for entry in std::mem::take(&mut self.entries) {
            if failure.is_some() {
                kept.push(entry);
                continue;
            }
            let serial = entry.serial().clone();
            let outcome = match entry.phase {
                Phase::Ready => self.presence(&serial).map(|presence| {
                    match presence {
                        Presence::Readable => {}
                        Presence::Missing => recovered.push(Recovered::SecretMissing {
                            serial: serial.clone(),
                        }),
                        Presence::Unreadable => recovered.push(Recovered::SecretUnreadable {
                            serial: serial.clone(),
                        }),
                    }
                    true
                }),
                Phase::Pending => self.presence(&serial).map(|presence| {
                    // Something is stored (even unreadable): keep the entry,
                    // never leave a keystore item without one.
                    if presence != Presence::Missing {
                        recovered.push(Recovered::PendingAdd {
                            serial: serial.clone(),
                            finish: entry.pending_finish.clone(),
                        });
                        true
                    } else {
                        recovered.push(Recovered::RolledBackAdd {
                            serial: serial.clone(),
                        });
                        false
                    }
                }),
                Phase::Removing => self.keystore.delete(&serial).map(|_| {
                    recovered.push(Recovered::CompletedRemove {
                        serial: serial.clone(),
                    });
                    false
                }),
            };
            match outcome {
                Ok(true) => kept.push(entry),
                Ok(false) => changed = true,
                Err(e) => {
                    failure = Some(e);
                    kept.push(entry);
                }
            }
        }
        if changed {
            // Entries dropped so far had no secret (left); on a write error
            // the next open simply finds and drops them again.
            metadata::write(&self.dir, &kept)?;
        }
        self.entries = kept;
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether the keystore holds a readable secret for `serial`.
    fn presence(&self, serial: &Serial) -> Result<Presence, StoreError> {
        match self.keystore.get(serial) {
            Ok(Some(_)) => Ok(Presence::Readable),
            Ok(None) => Ok(Presence::Missing),
            Err(StoreError::SecretUnreadable { .. }) => Ok(Presence::Unreadable),
            Err(e) => Err(e),
        }
    }

    /// Moves a damaged or too-new `tokens.json` of `dir` out of the way (to
    /// `tokens.json.aside-<unix time>`, never replacing a file) so that
    /// the next [`TokenStore::open`] starts with an empty token list. This
    /// is the person's explicit decision; the app asks first. Secrets of the
    /// tokens listed in that file stay in the keystore (they are not
    /// deleted: restoring the file brings the tokens back). Returns the new
    /// path, or `None` if there was no file.
    pub fn set_aside(dir: &Path, now_unix: u64) -> Result<Option<PathBuf>, StoreError> {
        metadata::set_aside(dir, now_unix)
    }

    /// The profile directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keystore.
    pub fn keystore(&self) -> &Keystore {
        &self.keystore
    }

    /// Every entry in pairing order, whatever its phase.
    pub fn entries(&self) -> &[TokenEntry] {
        &self.entries
    }

    /// The usable ([`Phase::Ready`]) tokens in pairing order.
    pub fn tokens(&self) -> impl Iterator<Item = &TokenMeta> + '_ {
        self.entries
            .iter()
            .filter(|e| e.phase == Phase::Ready)
            .map(|e| &e.meta)
    }

    /// The entry of `serial`, whatever its phase.
    pub fn get(&self, serial: &Serial) -> Option<&TokenEntry> {
        self.entries.iter().find(|e| e.serial() == serial)
    }

    fn index(&self, serial: &Serial) -> Result<usize, StoreError> {
        self.entries
            .iter()
            .position(|e| e.serial() == serial)
            .ok_or_else(|| StoreError::UnknownToken {
                serial: serial.clone(),
            })
    }

    fn wrong_phase(&self, i: usize, expected: &'static str) -> StoreError {
        StoreError::WrongPhase {
            serial: self.entries[i].serial().clone(),
            phase: self.entries[i].phase,
            expected,
        }
    }

    /// Writes `entries` and adopts them only if the write succeeded.
    fn commit(&mut self, entries: Vec<TokenEntry>) -> Result<(), StoreError> {
        metadata::write(&self.dir, &entries)?;
        self.entries = entries;
        Ok(())
    }

    /// First half of an add: writes a `pending` entry, then stores the
    /// secret in the keystore. Call it after the STK1 `init` checked out and
    /// before sending `finish`; keep `finish` so that it can be resent after
    /// a crash. The token is not listed by [`TokenStore::tokens`] until
    /// [`TokenStore::commit_add`].
    ///
    /// Calling it again for a serial that is still pending (a retry after an
    /// error) replaces that entry and stores the secret again; a ready or
    /// removing serial gives [`StoreError::AlreadyExists`].
    ///
    /// On a keystore error the secret is deleted again if it might have been
    /// stored, the pending entry is dropped and the error returned; if even
    /// that cleanup fails, the pending entry stays (never a secret without
    /// an entry) and the next [`TokenStore::open`] resolves it.
    pub fn begin_add(
        &mut self,
        meta: TokenMeta,
        secret: &Secret,
        finish: Option<&FinishRequest>,
    ) -> Result<(), StoreError> {
        let serial = meta.serial.clone();
        let entry = TokenEntry {
            phase: Phase::Pending,
            meta,
            pending_finish: finish.cloned().map(PendingFinish::new),
        };
        let mut entries = self.entries.clone();
        match entries.iter().position(|e| e.serial() == &serial) {
            None => entries.push(entry),
            Some(i) if entries[i].phase == Phase::Pending => entries[i] = entry,
            Some(_) => return Err(StoreError::AlreadyExists { serial }),
        }
        self.commit(entries)?;
        let Err(put_error) = self.keystore.put(&serial, secret) else {
            return Ok(());
        };
        // The put may have stored the secret before failing: delete it
        // before dropping the entry, or keep the entry.
        if self.keystore.delete(&serial).is_ok() {
            let mut entries = self.entries.clone();
            entries.retain(|e| e.serial() != &serial);
            // A failed write leaves a pending entry without secret, which
            // the next open rolls back.
            let _ = self.commit(entries);
        }
        Err(put_error)
    }

    /// Second half of an add, after the bank confirmed `finish`: the pending
    /// token becomes `ready`. Checks first that the keystore holds its
    /// secret ([`StoreError::SecretMissing`] otherwise, e.g. after a failed
    /// [`TokenStore::begin_add`]), so a ready token always has one. Already
    /// ready: no-op.
    pub fn commit_add(&mut self, serial: &Serial) -> Result<(), StoreError> {
        let i = self.index(serial)?;
        match self.entries[i].phase {
            Phase::Pending => {}
            Phase::Ready => return Ok(()),
            Phase::Removing => return Err(self.wrong_phase(i, "pending")),
        }
        if self.keystore.get(serial)?.is_none() {
            return Err(StoreError::SecretMissing {
                serial: serial.clone(),
            });
        }
        let mut entries = self.entries.clone();
        entries[i].phase = Phase::Ready;
        entries[i].pending_finish = None;
        self.commit(entries)
    }

    /// Undoes a pending add (the bank refused `finish`, the session
    /// expired, the person cancelled): the same journal as
    /// [`TokenStore::remove`]. Refuses ready tokens.
    pub fn abort_add(&mut self, serial: &Serial) -> Result<(), StoreError> {
        let i = self.index(serial)?;
        if self.entries[i].phase == Phase::Ready {
            return Err(self.wrong_phase(i, "pending"));
        }
        self.remove(serial)
    }

    /// The secret of a ready or pending token, read from the keystore.
    /// [`StoreError::SecretMissing`] if the keystore has lost it.
    pub fn secret(&self, serial: &Serial) -> Result<Secret, StoreError> {
        let i = self.index(serial)?;
        if self.entries[i].phase == Phase::Removing {
            return Err(self.wrong_phase(i, "ready or pending"));
        }
        self.keystore
            .get(serial)?
            .ok_or_else(|| StoreError::SecretMissing {
                serial: serial.clone(),
            })
    }

    /// Records the token's state at the bank and when it was learned.
    /// Metadata only.
    pub fn set_state(
        &mut self,
        serial: &Serial,
        state: TokenState,
        checked_at: u64,
    ) -> Result<(), StoreError> {
        let i = self.index(serial)?;
        let mut entries = self.entries.clone();
        entries[i].meta.bank_state = Some(crate::BankState { state, checked_at });
        self.commit(entries)
    }

    /// Records the bank's registration deadline (`bind_by` of the `finish`
    /// response). Metadata only.
    pub fn set_bind_by(&mut self, serial: &Serial, bind_by: u64) -> Result<(), StoreError> {
        let i = self.index(serial)?;
        let mut entries = self.entries.clone();
        entries[i].meta.bind_by = Some(bind_by);
        self.commit(entries)
    }

    /// Records the last measured `server_time - local_time`, in seconds.
    /// Metadata only.
    pub fn set_clock_offset(
        &mut self,
        serial: &Serial,
        seconds: i64,
        measured_at: u64,
    ) -> Result<(), StoreError> {
        let i = self.index(serial)?;
        let mut entries = self.entries.clone();
        entries[i].meta.clock_offset = Some(crate::ClockOffset {
            seconds,
            measured_at,
        });
        self.commit(entries)
    }

    /// Removes a token: marks it `removing`, deletes its secret, drops the
    /// entry. On a keystore error the entry stays `removing` (not usable,
    /// listed by [`TokenStore::entries`]) and the error is returned; calling
    /// `remove` again, or the next [`TokenStore::open`], finishes the job.
    /// A secret that is already gone is not an error.
    pub fn remove(&mut self, serial: &Serial) -> Result<(), StoreError> {
        let i = self.index(serial)?;
        if self.entries[i].phase != Phase::Removing {
            let mut entries = self.entries.clone();
            entries[i].phase = Phase::Removing;
            self.commit(entries)?;
        }
        self.keystore.delete(serial)?;
        let mut entries = self.entries.clone();
        entries.retain(|e| e.serial() != serial);
        self.commit(entries)
    }
}
