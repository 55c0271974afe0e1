//! The native client: `assistant_db::Client` behind blocking and awaitable methods.
//!
//! Each operation is built once (`*_op`: arguments read and validated while the GIL is
//! held) and then either waited for with the GIL released, or handed to asyncio as an
//! awaitable (the `a…` methods). The public, documented class is `assistant_db.Client`
//! in Python, which calls these.

use std::path::PathBuf;

use assistant_db::config::{DatabaseUrl, Secret};
use assistant_db::metrics::{Bucket, MetricsFilter};
use assistant_db::model::{
    AssistantMode, Escalation, IntentCategory, Interaction, KnowledgeDocument, Outcome,
    ValidationError,
};
use assistant_db::query::{Cursor, InteractionFilter, InteractionQuery, Page, Written};
use assistant_db::row::InteractionRow;
use assistant_db::{Client, Config};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::convert::{self, to_python};
use crate::errors::{invalid, to_py};
use crate::runtime::{awaitable, block_on, op, wait, Op, Owner};

/// A connected client and the configuration it was made from.
#[pyclass(name = "Client", module = "assistant_db._native", frozen)]
pub struct NativeClient {
    pub(crate) client: Client,
    pub(crate) config: Config,
    owner: Owner,
}

/// Where to connect: the environment (and `.env`), with the given values in place of it.
#[derive(Default)]
pub struct Settings {
    database_url: Option<String>,
    supabase_url: Option<String>,
    supabase_rest_url: Option<String>,
    supabase_key: Option<String>,
    home: Option<String>,
}

impl Settings {
    /// The configuration: the environment's, unless any destination is given, in which
    /// case only the given destination counts (so that `DATABASE_URL` in the environment
    /// cannot win over an explicit Supabase URL).
    pub fn config(self) -> assistant_db::Result<Config> {
        let mut config = Config::from_env()?;
        let explicit = self.database_url.is_some()
            || self.supabase_url.is_some()
            || self.supabase_rest_url.is_some()
            || self.supabase_key.is_some();
        if explicit {
            config.database_url = self
                .database_url
                .as_deref()
                .map(DatabaseUrl::parse)
                .transpose()?;
            config.supabase_url = self
                .supabase_url
                .map(|u| u.trim_end_matches('/').to_owned());
            config.supabase_rest_url = self
                .supabase_rest_url
                .map(|u| u.trim_end_matches('/').to_owned());
            config.supabase_key = self.supabase_key.map(Secret::new);
        }
        if let Some(home) = self.home {
            config.home = PathBuf::from(home);
        }
        Ok(config)
    }
}

fn connect_op(settings: Settings) -> Op {
    op(
        async move { connect(settings.config()?).await },
        |py, (client, config)| {
            let native = NativeClient {
                client,
                config,
                owner: Owner::here(),
            };
            Ok(Py::new(py, native)?.into_any())
        },
    )
}

/// Connects as `config` says.
///
/// `Client::connect` migrates the embedded database, and sqlx's migration future is not
/// provably `Send` (a higher-ranked lifetime the compiler cannot see through), so it is
/// driven on a blocking thread of the runtime; the future returned here is `Send`.
async fn connect(config: Config) -> assistant_db::Result<(Client, Config)> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        config.check_paths()?;
        let client = handle.block_on(Client::connect(&config))?;
        Ok((client, config))
    })
    .await
    .map_err(|e| assistant_db::Error::Database {
        code: None,
        message: format!("the connection task failed: {e}"),
    })?
}

#[pymethods]
impl NativeClient {
    /// Connects (see `assistant_db.Client`).
    #[new]
    #[pyo3(signature = (database_url=None, supabase_url=None, supabase_rest_url=None, supabase_key=None, home=None))]
    fn new(
        py: Python<'_>,
        database_url: Option<String>,
        supabase_url: Option<String>,
        supabase_rest_url: Option<String>,
        supabase_key: Option<String>,
        home: Option<String>,
    ) -> PyResult<Self> {
        let settings = Settings {
            database_url,
            supabase_url,
            supabase_rest_url,
            supabase_key,
            home,
        };
        let config = settings.config().map_err(|e| to_py(py, e))?;
        let (client, config) = block_on(py, connect(config))?;
        Ok(NativeClient {
            client,
            config,
            owner: Owner::here(),
        })
    }

    /// Connects without blocking the event loop; resolves to a `Client`.
    #[staticmethod]
    #[pyo3(signature = (database_url=None, supabase_url=None, supabase_rest_url=None, supabase_key=None, home=None))]
    fn aconnect(
        py: Python<'_>,
        database_url: Option<String>,
        supabase_url: Option<String>,
        supabase_rest_url: Option<String>,
        supabase_key: Option<String>,
        home: Option<String>,
    ) -> PyResult<Bound<'_, PyAny>> {
        awaitable(
            py,
            connect_op(Settings {
                database_url,
                supabase_url,
                supabase_rest_url,
                supabase_key,
                home,
            }),
        )
    }

    /// Where the client points, secrets redacted.
    #[getter]
    fn location(&self) -> String {
        self.client.location()
    }

    /// Checks that the database answers and the schema is there.
    fn test_connection(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wait(py, self.test_connection_op()?)
    }

    /// Awaitable `test_connection`.
    fn atest_connection<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.test_connection_op()?)
    }

    /// Writes one interaction; returns its id.
    fn insert_interaction(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wait(py, self.insert_interaction_op(record)?)
    }

    /// Awaitable `insert_interaction`.
    fn ainsert_interaction<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.insert_interaction_op(record)?)
    }

    /// Writes interactions and escalations in one atomic statement.
    #[pyo3(signature = (interactions, escalations=None))]
    fn log(
        &self,
        py: Python<'_>,
        interactions: &Bound<'_, PyAny>,
        escalations: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        wait(py, self.log_op(interactions, escalations)?)
    }

    /// Awaitable `log`.
    #[pyo3(signature = (interactions, escalations=None))]
    fn alog<'py>(
        &self,
        py: Python<'py>,
        interactions: &Bound<'py, PyAny>,
        escalations: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.log_op(interactions, escalations)?)
    }

    /// Writes one escalation; returns its id.
    fn insert_escalation(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wait(py, self.insert_escalation_op(record)?)
    }

    /// Awaitable `insert_escalation`.
    fn ainsert_escalation<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.insert_escalation_op(record)?)
    }

    /// Writes an interaction and its escalation atomically; returns both ids.
    fn log_escalated_interaction(
        &self,
        py: Python<'_>,
        interaction: &Bound<'_, PyAny>,
        escalation: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        wait(py, self.log_escalated_op(interaction, escalation)?)
    }

    /// Awaitable `log_escalated_interaction`.
    fn alog_escalated_interaction<'py>(
        &self,
        py: Python<'py>,
        interaction: &Bound<'py, PyAny>,
        escalation: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.log_escalated_op(interaction, escalation)?)
    }

    /// Registers a knowledge document; returns its id.
    #[pyo3(signature = (record, upsert=false))]
    fn insert_knowledge_document(
        &self,
        py: Python<'_>,
        record: &Bound<'_, PyAny>,
        upsert: bool,
    ) -> PyResult<Py<PyAny>> {
        wait(py, self.knowledge_document_op(record, upsert)?)
    }

    /// Awaitable `insert_knowledge_document`.
    #[pyo3(signature = (record, upsert=false))]
    fn ainsert_knowledge_document<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyAny>,
        upsert: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.knowledge_document_op(record, upsert)?)
    }

    /// One page of interactions, newest first.
    fn interactions(&self, py: Python<'_>, filters: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
        wait(py, self.interactions_op(filters)?)
    }

    /// Awaitable `interactions`.
    fn ainteractions<'py>(
        &self,
        py: Python<'py>,
        filters: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.interactions_op(filters)?)
    }

    /// One interaction with its escalations, or `None`.
    fn interaction(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wait(py, self.interaction_op(id)?)
    }

    /// Awaitable `interaction`.
    fn ainteraction<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.interaction_op(id)?)
    }

    /// Deletes an interaction and its escalations; true if it existed.
    fn delete_interaction(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        wait(py, self.delete_op(id)?)
    }

    /// Awaitable `delete_interaction`.
    fn adelete_interaction<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.delete_op(id)?)
    }

    /// Dashboard metrics, computed by PostgreSQL.
    fn metrics(&self, py: Python<'_>, filters: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
        wait(py, self.metrics_op(filters)?)
    }

    /// Awaitable `metrics`.
    fn ametrics<'py>(
        &self,
        py: Python<'py>,
        filters: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.metrics_op(filters)?)
    }

    /// The validation checklist as far as the transport can see.
    fn verify(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        wait(py, self.verify_op()?)
    }

    /// Awaitable `verify`.
    fn averify<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, self.verify_op()?)
    }
}

impl NativeClient {
    /// The client, after checking that this process made it.
    fn client(&self) -> PyResult<Client> {
        self.owner.check("Client")?;
        Ok(self.client.clone())
    }

    fn test_connection_op(&self) -> PyResult<Op> {
        let client = self.client()?;
        Ok(op(
            async move { client.test_connection().await },
            |py, ()| Ok(py.None()),
        ))
    }

    fn insert_interaction_op(&self, record: &Bound<'_, PyAny>) -> PyResult<Op> {
        let client = self.client()?;
        let interaction = interaction(record)?;
        Ok(op(
            async move { client.insert_interaction(&interaction).await },
            uuid_out,
        ))
    }

    fn log_op(
        &self,
        interactions: &Bound<'_, PyAny>,
        escalations: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Op> {
        let client = self.client()?;
        let interactions = parse_all(interactions, "interactions", Interaction::from_json_value)?;
        let escalations = match escalations {
            Some(list) if !list.is_none() => {
                parse_all(list, "escalations", Escalation::from_json_value)?
            }
            _ => Vec::new(),
        };
        Ok(op(
            async move { client.log(&interactions, &escalations).await },
            written_out,
        ))
    }

    fn insert_escalation_op(&self, record: &Bound<'_, PyAny>) -> PyResult<Op> {
        let client = self.client()?;
        let escalation = escalation(record)?;
        Ok(op(
            async move { client.insert_escalation(&escalation).await },
            uuid_out,
        ))
    }

    fn log_escalated_op(
        &self,
        interaction_record: &Bound<'_, PyAny>,
        escalation_record: &Bound<'_, PyAny>,
    ) -> PyResult<Op> {
        let client = self.client()?;
        let interaction = interaction(interaction_record)?;
        let escalation = escalation(escalation_record)?;
        Ok(op(
            async move {
                client
                    .log_escalated_interaction(&interaction, &escalation)
                    .await
            },
            |py, (i, e): (Uuid, Uuid)| {
                Ok((i.to_string(), e.to_string())
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            },
        ))
    }

    fn knowledge_document_op(&self, record: &Bound<'_, PyAny>, upsert: bool) -> PyResult<Op> {
        let client = self.client()?;
        let document = parse(
            record,
            "knowledge document",
            KnowledgeDocument::from_json_value,
        )?;
        Ok(op(
            async move {
                if upsert {
                    client.upsert_knowledge_document(&document).await
                } else {
                    client.insert_knowledge_document(&document).await
                }
            },
            uuid_out,
        ))
    }

    fn interactions_op(&self, filters: &Bound<'_, PyDict>) -> PyResult<Op> {
        let client = self.client()?;
        let py = filters.py();
        let filter = InteractionFilter {
            mode: choice::<AssistantMode>(filters, "mode")?,
            outcome: choice::<Outcome>(filters, "outcome")?,
            intent: text(filters, "intent")?,
            category: choice::<IntentCategory>(filters, "category")?,
            session: text(filters, "session")?,
            from: instant(filters, "date_from")?,
            to: instant(filters, "date_to")?,
            // Filters the spec's wrapper does not have keep their defaults.
            ..InteractionFilter::default()
        };
        let limit = match item(filters, "limit")? {
            None => None,
            Some(n) => Some(
                n.extract::<i64>()
                    .ok()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        invalid(
                            py,
                            ValidationError::new("limit", "must be a whole number from 1 to 1000"),
                        )
                    })?,
            ),
        };
        let after = match text(filters, "after")? {
            None => None,
            Some(cursor) => Some(cursor.parse::<Cursor>().map_err(|e| invalid(py, e))?),
        };
        let query = InteractionQuery {
            filter,
            limit,
            after,
        };
        Ok(op(
            async move { client.interactions(&query).await },
            |py, page: Page<InteractionRow>| {
                let dict = PyDict::new(py);
                dict.set_item("items", to_python(py, &page.items)?)?;
                dict.set_item("next", page.next.map(|c| c.to_string()))?;
                Ok(dict.into_any().unbind())
            },
        ))
    }

    fn interaction_op(&self, id: &Bound<'_, PyAny>) -> PyResult<Op> {
        let client = self.client()?;
        let id = uuid_arg(id, "id")?;
        Ok(op(
            async move { client.interaction(id).await },
            |py, detail| to_python(py, &detail),
        ))
    }

    fn delete_op(&self, id: &Bound<'_, PyAny>) -> PyResult<Op> {
        let client = self.client()?;
        let id = uuid_arg(id, "id")?;
        Ok(op(
            async move { client.delete_interaction(id).await },
            |py, existed: bool| {
                Ok(pyo3::types::PyBool::new(py, existed)
                    .to_owned()
                    .into_any()
                    .unbind())
            },
        ))
    }

    fn metrics_op(&self, filters: &Bound<'_, PyDict>) -> PyResult<Op> {
        let client = self.client()?;
        let py = filters.py();
        let bucket = match text(filters, "bucket")? {
            None => Bucket::default(),
            Some(b) => b.parse::<Bucket>().map_err(|e| invalid(py, e))?,
        };
        let filter = MetricsFilter {
            mode: choice::<AssistantMode>(filters, "mode")?,
            from: instant(filters, "date_from")?,
            to: instant(filters, "date_to")?,
            intent: text(filters, "intent")?,
            category: choice::<IntentCategory>(filters, "category")?,
            bucket,
            ..MetricsFilter::default()
        };
        Ok(op(
            async move { client.metrics(&filter).await },
            |py, metrics| to_python(py, &metrics),
        ))
    }

    fn verify_op(&self) -> PyResult<Op> {
        let client = self.client()?;
        Ok(op(
            async move { Ok(client.verify().await) },
            |py, report: assistant_db::verify::Report| {
                let dict = to_python(py, &report)?;
                dict.bind(py).set_item("passed", report.passed())?;
                Ok(dict)
            },
        ))
    }
}

/// An interaction record, parsed by the model.
pub fn interaction(record: &Bound<'_, PyAny>) -> PyResult<Interaction> {
    parse(record, "interaction", Interaction::from_json_value)
}

/// An escalation record, parsed by the model.
pub fn escalation(record: &Bound<'_, PyAny>) -> PyResult<Escalation> {
    parse(record, "escalation", Escalation::from_json_value)
}

/// A record parsed by the model's `from_json_value`.
pub fn parse<T>(
    record: &Bound<'_, PyAny>,
    what: &str,
    from_json: fn(Value) -> Result<T, ValidationError>,
) -> PyResult<T> {
    let map = convert::record(record, what)?;
    from_json(Value::Object(map)).map_err(|e| invalid(record.py(), e))
}

/// Records parsed by the model; an error's field is prefixed with the record's index
/// (`interactions[3].confidence_score`), as the database's refusals name it.
pub fn parse_all<T>(
    list: &Bound<'_, PyAny>,
    what: &str,
    from_json: fn(Value) -> Result<T, ValidationError>,
) -> PyResult<Vec<T>> {
    let maps = convert::records(list, what)?;
    maps.into_iter()
        .enumerate()
        .map(|(i, map): (usize, Map<String, Value>)| {
            from_json(Value::Object(map)).map_err(|e| {
                invalid(
                    list.py(),
                    ValidationError::new(format!("{what}[{i}].{}", e.field), e.rule),
                )
            })
        })
        .collect()
}

fn uuid_out(py: Python<'_>, id: Uuid) -> PyResult<Py<PyAny>> {
    Ok(PyString::new(py, &id.to_string()).into_any().unbind())
}

fn written_out(py: Python<'_>, written: Written) -> PyResult<Py<PyAny>> {
    to_python(py, &written)
}

/// An id given as a str or a `uuid.UUID`.
fn uuid_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Uuid> {
    let text = obj.str()?.extract::<String>()?;
    Uuid::parse_str(&text).map_err(|_| {
        invalid(
            obj.py(),
            ValidationError::new(name, format!("must be a UUID (got {text:?})")),
        )
    })
}

/// A filter's value; `None` when it is missing or `None`.
fn item<'py>(filters: &Bound<'py, PyDict>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(filters.get_item(name)?.filter(|v| !v.is_none()))
}

fn text(filters: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<String>> {
    convert::optional_text(item(filters, name)?.as_ref(), name)
}

fn instant(
    filters: &Bound<'_, PyDict>,
    name: &str,
) -> PyResult<Option<chrono::DateTime<chrono::Utc>>> {
    item(filters, name)?
        .map(|v| convert::instant(&v, name))
        .transpose()
}

/// One of a CHECK constraint's values; the error names the filter, not the column.
fn choice<T>(filters: &Bound<'_, PyDict>, name: &str) -> PyResult<Option<T>>
where
    T: std::str::FromStr<Err = ValidationError>,
{
    let py = filters.py();
    text(filters, name)?
        .map(|value| {
            value
                .parse::<T>()
                .map_err(|e| invalid(py, ValidationError::new(name, e.rule)))
        })
        .transpose()
}
