//! Files only their owner may read: the spools (customer text) and the embedded
//! cluster's home get directories of mode 0700 and files of mode 0600 whatever the umask,
//! and, when running as root, a symbolic link where one of them belongs is refused rather
//! than followed.
//!
//! Why root only: root creating, chmod-ing or chown-ing the target of a link that another
//! user planted (pointing at `/etc/shadow`, or at a directory that user reads) hands that
//! user the file. Any other user following a link reaches only what they could open
//! anyway.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use crate::error::{Error, Result};

/// Mode of a directory only its owner may enter.
pub(crate) const PRIVATE_DIR: u32 = 0o700;
/// Mode of a file only its owner may read and write.
pub(crate) const PRIVATE_FILE: u32 = 0o600;
/// Mode of directories created on the way to one of ours (as `mkdir -p` would, but never
/// writable by others even under umask 000).
const PARENT_DIR: u32 = 0o755;

/// Whether this process runs as root, and so refuses symbolic links.
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Fails, when running as root, if `path` is a symbolic link; `what` names it in the error.
pub(crate) fn refuse_symlink(path: &Path, what: &str) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(symlink_refused(path, what)),
        _ => Ok(()),
    }
}

fn symlink_refused(path: &Path, what: &str) -> Error {
    Error::Config(format!(
        "{} ({what}) is a symbolic link; running as root, assistant-db does not follow links \
         there: replace it with a directory or file of its own, or choose another path",
        path.display()
    ))
}

/// Creates `dir` with `mode` (its missing parents as `mkdir -p` would), or, when it exists
/// and `tighten` is set, gives it `mode`. Refuses a symbolic link as root.
pub(crate) fn ensure_dir(dir: &Path, mode: u32, tighten: bool, what: &str) -> Result<()> {
    refuse_symlink(dir, what)?;
    let created = match fs::symlink_metadata(dir) {
        Ok(_) => false,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                DirBuilder::new()
                    .recursive(true)
                    .mode(PARENT_DIR)
                    .create(parent)
                    .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
            }
            match DirBuilder::new().mode(mode).create(dir) {
                Ok(()) => true,
                // Another process made it meanwhile.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
                Err(e) => return Err(Error::io(format!("cannot create {}", dir.display()), e)),
            }
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", dir.display()), e)),
    };
    if created || tighten {
        // The umask may have taken bits off a new directory; an old one may have more.
        set_mode(dir, mode)?;
    }
    Ok(())
}

/// Gives `path` exactly `mode`, if it has another.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    let current = fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
        .permissions()
        .mode()
        & 0o7777;
    if current != mode {
        fs::set_permissions(path, Permissions::from_mode(mode))
            .map_err(|e| Error::io(format!("cannot restrict {}", path.display()), e))?;
    }
    Ok(())
}

/// Opens `path` for writing, creating it if needed, with mode 0600 whatever the umask or
/// the mode it had. Refuses a symbolic link as root (`O_NOFOLLOW`, so no check-then-use
/// race).
pub(crate) fn private_file(path: &Path, what: &str) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE_FILE)
        .custom_flags(no_follow())
        .open(path)
        .map_err(|e| open_error(path, what, e))?;
    restrict(&file, path)?;
    Ok(file)
}

/// Gives an existing file mode 0600; nothing when there is none. Refuses a symbolic link
/// as root.
pub(crate) fn tighten_file(path: &Path, what: &str) -> Result<()> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(no_follow() | OFlag::O_NONBLOCK.bits())
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(open_error(path, what, e)),
    };
    restrict(&file, path)
}

/// `fchmod` to 0600 when the open file has another mode.
fn restrict(file: &File, path: &Path) -> Result<()> {
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if meta.permissions().mode() & 0o7777 != PRIVATE_FILE {
        file.set_permissions(Permissions::from_mode(PRIVATE_FILE))
            .map_err(|e| Error::io(format!("cannot restrict {}", path.display()), e))?;
    }
    Ok(())
}

/// `O_NOFOLLOW` when running as root.
fn no_follow() -> i32 {
    if is_root() {
        OFlag::O_NOFOLLOW.bits()
    } else {
        0
    }
}

fn open_error(path: &Path, what: &str, e: io::Error) -> Error {
    if e.raw_os_error() == Some(Errno::ELOOP as i32) {
        symlink_refused(path, what)
    } else {
        Error::io(format!("cannot open {}", path.display()), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
    }

    #[test]
    fn new_directories_and_files_are_private_and_old_ones_are_tightened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ours = dir.path().join("a/b/ours");
        ensure_dir(&ours, PRIVATE_DIR, false, "test").expect("create");
        assert_eq!(mode(&ours), PRIVATE_DIR);
        assert_eq!(
            mode(&dir.path().join("a/b")) & 0o022,
            0,
            "parents never group-writable"
        );

        let shared = dir.path().join("shared");
        fs::create_dir(&shared).expect("mkdir");
        fs::set_permissions(&shared, Permissions::from_mode(0o755)).expect("chmod");
        ensure_dir(&shared, PRIVATE_DIR, false, "test").expect("leave");
        assert_eq!(mode(&shared), 0o755, "left alone without `tighten`");
        ensure_dir(&shared, PRIVATE_DIR, true, "test").expect("tighten");
        assert_eq!(mode(&shared), PRIVATE_DIR);

        let file = ours.join("f");
        fs::write(&file, "x").expect("write");
        fs::set_permissions(&file, Permissions::from_mode(0o644)).expect("chmod");
        tighten_file(&file, "test").expect("tighten");
        assert_eq!(mode(&file), PRIVATE_FILE);
        tighten_file(&ours.join("missing"), "test").expect("nothing to do");
        private_file(&ours.join("new"), "test").expect("create");
        assert_eq!(mode(&ours.join("new")), PRIVATE_FILE);
    }
}
