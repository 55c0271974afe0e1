//! A virtualenv under the target directory with the test requirements and the package.
//!
//! The requirements (maturin, pytest; supabase-py for the benchmark) are installed once
//! and kept while their file is unchanged. The package is installed on every run with
//! `pip install ./python`, so the suite tests what a user installs; cargo's own
//! fingerprints make the rebuild cheap when nothing changed. It is compiled under the
//! workspace's target directory ([`build_dir`]), with the dev profile for the tests
//! (`MATURIN_PEP517_ARGS=--profile dev`) and in release for the benchmark.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `python/` directory: the package's sources.
pub fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("python"))
}

/// The Cargo target directory: `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    let workspace = package_dir().join("..");
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Where maturin compiles the package: the workspace's own target directory, so that
/// every dependency built with the same features as the workspace's test build is
/// reused instead of compiled a second time. Cargo keys each artifact by its features,
/// so those built with other features (tokio, hyper, sqlx, reqwest and the library
/// itself, for the package) sit beside the workspace's without overwriting them.
pub fn build_dir() -> PathBuf {
    target_dir()
}

/// A virtualenv holding the test requirements and the freshly built package.
#[derive(Debug)]
pub struct Venv {
    /// Its `python`.
    pub python: PathBuf,
}

/// How the package is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The dev profile: quick to rebuild, for the tests.
    Dev,
    /// Release, as `pip install ./python` builds it: for figures.
    Release,
}

impl Venv {
    /// The tests' virtualenv: `python/requirements-test.txt` and a dev build.
    pub fn for_tests() -> Result<Self, String> {
        Self::prepare("python-venv", "requirements-test.txt", Profile::Dev)
    }

    /// The benchmark's virtualenv: `python/bench/requirements.txt` and a release build.
    pub fn for_bench() -> Result<Self, String> {
        Self::prepare(
            "python-bench-venv",
            "bench/requirements.txt",
            Profile::Release,
        )
    }

    /// Makes (or reuses) the virtualenv `<target>/<name>` with `requirements` (relative
    /// to `python/`) and installs the package into it; the error says which step
    /// failed, with the end of its output.
    pub fn prepare(name: &str, requirements: &str, profile: Profile) -> Result<Self, String> {
        let dir = target_dir().join(name);
        let python = dir.join("bin").join("python");
        let requirements = package_dir().join(requirements);
        let wanted = std::fs::read_to_string(&requirements)
            .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
        let marker = dir.join(".installed-requirements");
        if !python.is_file() {
            let interpreter = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
            let mut command = Command::new(&interpreter);
            command.arg("-m").arg("venv").arg(&dir);
            checked(
                command,
                &format!(
                    "creating the virtualenv {} with `{} -m venv` (the Python tests need \
                     CPython 3.9 or later; set PYTHON to choose the interpreter)",
                    dir.display(),
                    interpreter.to_string_lossy()
                ),
            )?;
        }
        if std::fs::read_to_string(&marker).ok().as_deref() != Some(&*wanted) {
            let mut command = pip(&python);
            command.arg("-r").arg(&requirements);
            checked(
                command,
                &format!("installing {} (from PyPI)", requirements.display()),
            )?;
            std::fs::write(&marker, &wanted)
                .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
        }
        // Without build isolation, maturin's build hook runs the `maturin` on PATH.
        let bin = dir.join("bin");
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
            .map_err(|e| format!("cannot put the virtualenv on PATH: {e}"))?;
        let mut command = pip(&python);
        command
            .env("PATH", path)
            .args(["--no-build-isolation", "--force-reinstall", "--no-deps"])
            .arg(package_dir())
            .env("CARGO_TARGET_DIR", build_dir());
        if profile == Profile::Dev {
            command.env("MATURIN_PEP517_ARGS", "--profile dev");
        }
        checked(
            command,
            "building and installing the package (pip install ./python)",
        )?;
        Ok(Venv { python })
    }

    /// A command running this virtualenv's Python.
    pub fn command(&self) -> Command {
        Command::new(&self.python)
    }
}

fn pip(python: &Path) -> Command {
    let mut command = Command::new(python);
    command.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
    ]);
    command
}

/// Runs `command` with its output captured.
pub fn run(mut command: Command) -> std::io::Result<Output> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
}

fn checked(command: Command, what: &str) -> Result<(), String> {
    let output = run(command).map_err(|e| format!("{what} failed to start: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}\n{}",
        output.status,
        tail(&String::from_utf8_lossy(&output.stdout), 30),
        tail(&String::from_utf8_lossy(&output.stderr), 60)
    ))
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
