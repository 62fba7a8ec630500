//! One run of a source at a time: an OS lock on `<data_dir>/<source>.lock`. The kernel releases
//! it when the process dies, so a run found `running` in the store while the lock is free belongs
//! to a dead process and can be resumed.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use anyhow::Context;

/// Held while a source runs.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Takes the lock of `source`, or `None` if another process or task holds it.
pub fn try_lock_source(data_dir: &Path, source: &str) -> anyhow::Result<Option<RunLock>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create `{}`", data_dir.display()))?;
    let path = data_dir.join(format!("{source}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(RunLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock `{}`", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let first = try_lock_source(dir.path(), "francetravail").unwrap();
        assert!(first.is_some());
        assert!(
            try_lock_source(dir.path(), "francetravail")
                .unwrap()
                .is_none()
        );
        assert!(try_lock_source(dir.path(), "other").unwrap().is_some());
        drop(first);
        assert!(
            try_lock_source(dir.path(), "francetravail")
                .unwrap()
                .is_some()
        );
    }
}
