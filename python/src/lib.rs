//! The native core of the Python package `assistant_db`: the library's client and
//! logger as Python classes, over one Tokio runtime.
//!
//! The public API is written in Python (`assistant_db/*.py`: documented classes, the
//! spec's `SupabaseClient`, the exceptions); this module does the work. Calls release the
//! GIL while they wait, and every waiting call has an awaitable twin (`a…`) for asyncio.
//! The library's log events (the logger retrying while the database is down, for
//! example) go to Python's `logging`, under logger names such as
//! `assistant_db.logger.drain`.

mod client;
mod convert;
mod errors;
mod logger;
mod runtime;

use assistant_db::local::LocalCluster;
use assistant_db::Config;
use pyo3::prelude::*;

use crate::errors::to_py;

/// Where the environment points (secrets redacted), without connecting; a configuration
/// error raises `ConfigError`.
#[pyfunction]
fn configured_location(py: Python<'_>) -> PyResult<String> {
    let describe = || -> assistant_db::Result<String> {
        let config = Config::from_env()?;
        Ok(match config.target()? {
            assistant_db::config::Target::Postgres(url) => url.redacted(),
            assistant_db::config::Target::Rest { rest_url, .. } => {
                assistant_db::config::redact_url(&rest_url)
            }
            assistant_db::config::Target::Local(home) => {
                format!("local PostgreSQL in {}", home.display())
            }
        })
    };
    describe().map_err(|e| to_py(py, e))
}

/// Stops the embedded PostgreSQL under `home` (default: `ASSISTANT_DB_HOME` or its
/// default); true if it was running.
#[pyfunction]
#[pyo3(signature = (home=None))]
fn stop_embedded(py: Python<'_>, home: Option<String>) -> PyResult<bool> {
    let home = match home {
        Some(home) => home.into(),
        None => Config::from_env().map_err(|e| to_py(py, e))?.home,
    };
    py.detach(|| LocalCluster::new(home).and_then(|cluster| cluster.stop()))
        .map_err(|e| to_py(py, e))
}

/// The extension module `assistant_db._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The library logs through `tracing`, whose events become `log` records while no
    // subscriber is installed; those at INFO and above go to Python's `logging`, each
    // checked against the Python logger's level when it is emitted.
    let _ = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::Loggers)?
        .filter(log::LevelFilter::Info)
        .install();
    m.add_class::<client::NativeClient>()?;
    m.add_class::<logger::NativeLogger>()?;
    m.add_function(wrap_pyfunction!(configured_location, m)?)?;
    m.add_function(wrap_pyfunction!(stop_embedded, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
