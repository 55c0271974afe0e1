//! The module's one Tokio runtime, and the two ways a Python call waits on it.
//!
//! Every operation is a future on one multi-threaded runtime, created on first use and
//! shared with `pyo3-async-runtimes`, so that the logger's background tasks and the
//! pools live on one runtime whichever way they are called. A blocking call releases the
//! GIL while it waits, waking every 200 ms to let Python handle a signal (Ctrl-C); an
//! awaitable call hands the future to the runtime and completes an asyncio future, so it
//! never blocks the event loop.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::errors;

/// An operation: the library's future, its result already turned into a Python object.
pub type Op = Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

/// How often a blocking wait wakes to let Python run signal handlers.
const SIGNAL_CHECK: Duration = Duration::from_millis(200);

/// The process that created the runtime.
static CREATED_IN: OnceLock<u32> = OnceLock::new();

/// The runtime, created on first use.
///
/// A forked child inherits the runtime without its threads, where every wait would hang;
/// it gets an error saying so instead.
pub fn runtime() -> PyResult<&'static Runtime> {
    let creator = *CREATED_IN.get_or_init(std::process::id);
    if creator != std::process::id() {
        return Err(PyRuntimeError::new_err(format!(
            "assistant_db was used in process {creator} before it forked; its threads did not \
             survive the fork: use assistant_db only after forking (with gunicorn, make \
             clients in each worker, not in the preloaded master)"
        )));
    }
    Ok(pyo3_async_runtimes::tokio::get_runtime())
}

/// An operation from a library future and the conversion of its result.
pub fn op<T, F>(future: F, out: fn(Python<'_>, T) -> PyResult<Py<PyAny>>) -> Op
where
    F: Future<Output = assistant_db::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    Box::pin(async move {
        let result = future.await;
        Python::attach(|py| match result {
            Ok(value) => out(py, value),
            Err(e) => Err(errors::to_py(py, e)),
        })
    })
}

/// Runs `op` to completion with the GIL released.
pub fn wait(py: Python<'_>, op: Op) -> PyResult<Py<PyAny>> {
    drive(py, op)?
}

/// Runs a library future to completion with the GIL released.
pub fn block_on<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = assistant_db::Result<T>> + Send,
    T: Send,
{
    drive(py, future)?.map_err(|e| errors::to_py(py, e))
}

/// Drives `future` on the runtime from this thread, the GIL released, waking every
/// [`SIGNAL_CHECK`] to run Python's signal handlers; a raised signal (Ctrl-C) drops the
/// future, which cancels the operation (writes are idempotent by id, so the caller may
/// simply try again).
fn drive<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    let runtime = runtime()?;
    let mut future = std::pin::pin!(future);
    loop {
        let step = py.detach(|| {
            runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK, future.as_mut()).await })
        });
        match step {
            Ok(done) => return Ok(done),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// `op` as an awaitable for asyncio.
pub fn awaitable<'py>(py: Python<'py>, op: Op) -> PyResult<Bound<'py, PyAny>> {
    runtime()?;
    pyo3_async_runtimes::tokio::future_into_py(py, op)
}

/// The process an object was made in; a forked child cannot use it, since the runtime's
/// threads and the pool's connections stayed in the parent.
#[derive(Debug, Clone, Copy)]
pub struct Owner(u32);

impl Owner {
    /// This process.
    pub fn here() -> Self {
        Owner(std::process::id())
    }

    /// Fails in any process but the one that made the object.
    pub fn check(self, what: &str) -> PyResult<()> {
        if self.0 == std::process::id() {
            Ok(())
        } else {
            Err(PyRuntimeError::new_err(format!(
                "this {what} was made in process {} before a fork; make a new one in each \
                 process (after the fork)",
                self.0
            )))
        }
    }
}
