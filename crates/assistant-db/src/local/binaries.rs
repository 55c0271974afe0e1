//! Finding the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Environment variable naming a directory that holds the server binaries.
pub const PG_BIN_ENV: &str = "ASSISTANT_DB_PG_BIN";

/// A directory holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    dir: PathBuf,
}

const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

impl PgBinaries {
    /// Looks in `$ASSISTANT_DB_PG_BIN`, then `PATH`, then `/usr/lib/postgresql/<newest>/bin`.
    pub fn locate() -> Result<Self> {
        if let Some(dir) = std::env::var_os(PG_BIN_ENV) {
            let dir = PathBuf::from(dir);
            return Self::in_dir(&dir).ok_or_else(|| {
                Error::Local(format!(
                    "{PG_BIN_ENV}={} does not contain initdb, pg_ctl and postgres",
                    dir.display()
                ))
            });
        }
        let on_path = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default();
        on_path
            .iter()
            .find_map(|dir| Self::in_dir(dir))
            .or_else(|| Self::newest_in(Path::new("/usr/lib/postgresql")))
            .ok_or_else(|| {
                Error::Local(
                    "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in \
                     /usr/lib/postgresql/<version>/bin; install them (Debian/Ubuntu: \
                     `apt-get install postgresql`, Fedora: `dnf install postgresql-server`, \
                     macOS: `brew install postgresql`), or set DATABASE_URL to use an \
                     existing server"
                        .into(),
                )
            })
    }

    /// The binaries in `dir`, if all three are there.
    fn in_dir(dir: &Path) -> Option<Self> {
        REQUIRED
            .iter()
            .all(|name| dir.join(name).is_file())
            .then(|| PgBinaries {
                dir: dir.to_path_buf(),
            })
    }

    /// The highest-numbered `<root>/<version>/bin` that holds all three binaries.
    fn newest_in(root: &Path) -> Option<Self> {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
            .ok()?
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .collect();
        versions.sort();
        versions.iter().rev().find_map(|(_, bin)| Self::in_dir(bin))
    }

    /// Path of one of the binaries, e.g. `pg_ctl`.
    pub fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The directory the binaries are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_directory_wins() {
        let root = tempfile::tempdir().expect("tempdir");
        for version in ["9", "14", "16"] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).expect("mkdir");
            if version != "16" {
                for tool in REQUIRED {
                    std::fs::write(bin.join(tool), "").expect("write");
                }
            }
        }
        // 16 is incomplete, so 14 is the newest usable one.
        let found = PgBinaries::newest_in(root.path()).expect("found");
        assert_eq!(found.dir(), root.path().join("14").join("bin"));
    }
}
