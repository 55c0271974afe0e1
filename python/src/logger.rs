//! The native logger: `assistant_db::logger::Logger` behind blocking and awaitable
//! methods. Its spool and drain run on the module's runtime; the public class
//! (`assistant_db.Logger`, in Python) adds the context manager and the flush at exit.

use std::time::Duration;

use assistant_db::logger::{Entry, EscalatedInteraction, Logger, WhenFull};
use assistant_db::model::{Escalation, Interaction, ValidationError};
use pyo3::prelude::*;
use serde_json::Value;

use crate::client::{escalation, NativeClient};
use crate::convert::{self, to_python};
use crate::errors::{invalid, to_py};
use crate::runtime::{awaitable, block_on, op, wait, Op, Owner};

/// A running logger.
#[pyclass(name = "Logger", module = "assistant_db._native", frozen)]
pub struct NativeLogger {
    logger: Logger,
    owner: Owner,
}

#[pymethods]
impl NativeLogger {
    /// Opens the spool and starts draining it to `client`'s database.
    #[new]
    #[pyo3(signature = (client, spool_path=None, batch_size=None, flush_interval=None, max_records=None, max_bytes=None, full_wait=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        client: &Bound<'_, NativeClient>,
        spool_path: Option<String>,
        batch_size: Option<usize>,
        flush_interval: Option<f64>,
        max_records: Option<u64>,
        max_bytes: Option<u64>,
        full_wait: Option<f64>,
    ) -> PyResult<Self> {
        let native = client.get();
        let mut config = native.config.logger_config();
        if let Some(path) = spool_path {
            config.spool_path = path.into();
        }
        if let Some(n) = batch_size {
            config.batch_size = positive(py, n as f64, "batch_size")? as usize;
        }
        if let Some(seconds) = flush_interval {
            config.flush_interval = seconds_arg(py, seconds, "flush_interval")?;
        }
        if let Some(n) = max_records {
            config.max_records = positive(py, n as f64, "max_records")? as u64;
        }
        if let Some(n) = max_bytes {
            config.max_bytes = positive(py, n as f64, "max_bytes")? as u64;
        }
        if let Some(seconds) = full_wait {
            config.when_full = if seconds == 0.0 {
                WhenFull::Reject
            } else {
                WhenFull::Wait(seconds_arg(py, seconds, "full_wait")?)
            };
        }
        let db = native.client.clone();
        let logger = block_on(py, async move { Logger::start(db, config).await })?;
        Ok(NativeLogger {
            logger,
            owner: Owner::here(),
        })
    }

    /// The spool file.
    #[getter]
    fn spool_path(&self) -> String {
        self.logger.spool_path().display().to_string()
    }

    /// Spools an interaction (and the escalations it carries); returns once on disk.
    fn log(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wait(py, self.log_op(record)?)
    }

    /// Awaitable `log`.
    fn alog<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.log_op(record)?)
    }

    /// Spools many interactions with one disk sync.
    fn log_many(&self, py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wait(py, self.log_many_op(records)?)
    }

    /// Awaitable `log_many`.
    fn alog_many<'py>(
        &self,
        py: Python<'py>,
        records: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.log_many_op(records)?)
    }

    /// Spools an escalation of an interaction logged earlier.
    fn log_escalation(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wait(py, self.log_escalation_op(record)?)
    }

    /// Awaitable `log_escalation`.
    fn alog_escalation<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.log_escalation_op(record)?)
    }

    /// Hands an interaction (with at most one escalation) to the in-memory buffer.
    fn log_nowait(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<()> {
        self.owner.check("Logger")?;
        let item = escalated(record)?;
        let mut escalations = item.escalations.into_iter();
        let escalation = escalations.next();
        if escalations.next().is_some() {
            return Err(invalid(
                py,
                ValidationError::new(
                    "escalations",
                    "log_nowait takes at most one escalation; use log for more",
                ),
            ));
        }
        let escalation = escalation.map(|e| Escalation {
            interaction_id: Some(item.interaction.id),
            ..e
        });
        self.logger
            .log_entry_nowait(Entry {
                interaction: Some(item.interaction),
                escalation,
            })
            .map_err(|e| to_py(py, e))
    }

    /// Waits until everything logged so far is stored.
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        wait(py, self.flush_op(py, timeout, false)?)
    }

    /// Awaitable `flush`.
    fn aflush<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.flush_op(py, timeout, false)?)
    }

    /// Flushes, then stops; what is still spooled stays for the next logger.
    fn shutdown(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        wait(py, self.flush_op(py, timeout, true)?)
    }

    /// Awaitable `shutdown`.
    fn ashutdown<'py>(&self, py: Python<'py>, timeout: f64) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.flush_op(py, timeout, true)?)
    }

    /// The counters.
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wait(py, self.stats_op()?)
    }

    /// Awaitable `stats`.
    fn astats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.stats_op()?)
    }
}

impl NativeLogger {
    fn logger(&self) -> PyResult<Logger> {
        self.owner.check("Logger")?;
        Ok(self.logger.clone())
    }

    fn log_op(&self, record: &Bound<'_, PyAny>) -> PyResult<Op> {
        let logger = self.logger()?;
        let item = escalated(record)?;
        Ok(op(
            async move {
                if item.escalations.is_empty() {
                    logger.log(item.interaction).await
                } else {
                    logger.log_with_escalations(vec![item]).await
                }
            },
            none,
        ))
    }

    fn log_many_op(&self, records: &Bound<'_, PyAny>) -> PyResult<Op> {
        let logger = self.logger()?;
        let py = records.py();
        let maps = convert::records(records, "records")?;
        let items = maps
            .into_iter()
            .enumerate()
            .map(|(i, map)| {
                escalated_from(map).map_err(|e| {
                    invalid(
                        py,
                        ValidationError::new(format!("records[{i}].{}", e.field), e.rule),
                    )
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(op(
            async move { logger.log_with_escalations(items).await },
            none,
        ))
    }

    fn log_escalation_op(&self, record: &Bound<'_, PyAny>) -> PyResult<Op> {
        let logger = self.logger()?;
        let escalation = escalation(record)?;
        Ok(op(
            async move { logger.log_escalation(escalation).await },
            none,
        ))
    }

    fn flush_op(&self, py: Python<'_>, timeout: f64, shutdown: bool) -> PyResult<Op> {
        let logger = self.logger()?;
        let timeout = seconds_arg(py, timeout, "timeout")?;
        Ok(op(
            async move {
                if shutdown {
                    logger.shutdown(timeout).await
                } else {
                    logger.flush(timeout).await
                }
            },
            none,
        ))
    }

    fn stats_op(&self) -> PyResult<Op> {
        let logger = self.logger()?;
        Ok(op(async move { logger.stats().await }, |py, stats| {
            to_python(py, &stats)
        }))
    }
}

fn none(py: Python<'_>, (): ()) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

/// An interaction record and the escalations it carries under `"escalations"` (as the
/// HTTP API takes them).
fn escalated(record: &Bound<'_, PyAny>) -> PyResult<EscalatedInteraction> {
    let map = convert::record(record, "interaction")?;
    escalated_from(map).map_err(|e| invalid(record.py(), e))
}

fn escalated_from(
    mut map: serde_json::Map<String, Value>,
) -> Result<EscalatedInteraction, ValidationError> {
    let escalations = match map.remove("escalations") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .into_iter()
            .enumerate()
            .map(|(i, value)| {
                Escalation::from_json_value(value).map_err(|e| {
                    ValidationError::new(format!("escalations[{i}].{}", e.field), e.rule)
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ValidationError::new(
                "escalations",
                "must be a list of escalation records",
            ))
        }
    };
    let interaction = Interaction::from_json_value(Value::Object(map))?;
    Ok(EscalatedInteraction {
        interaction,
        escalations,
    })
}

/// A duration given in seconds: finite and not negative.
fn seconds_arg(py: Python<'_>, seconds: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        invalid(
            py,
            ValidationError::new(
                name,
                format!("must be a finite number of seconds, at least 0 (got {seconds})"),
            ),
        )
    })
}

/// A count that must be at least 1.
fn positive(py: Python<'_>, n: f64, name: &str) -> PyResult<f64> {
    if n >= 1.0 {
        Ok(n)
    } else {
        Err(invalid(
            py,
            ValidationError::new(name, format!("must be at least 1 (got {n})")),
        ))
    }
}
