//! The two aggregates the dashboard needs beyond the library's metrics: the confidence
//! distribution and the latest escalations with their interactions.
//!
//! Both are computed by PostgreSQL over the direct transport ([`Client::postgres`]).
//! Over a transport without plain SQL the histogram is left out and the escalations
//! fall back to escalated interactions read through the client.

use assistant_db::metrics::MetricsFilter;
use assistant_db::model::{Interaction, Outcome};
use assistant_db::query::{InteractionFilter, InteractionQuery};
use assistant_db::Client;
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

/// One recent escalation, with what the table shows of its interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentEscalation {
    /// The interaction's id (the row links to it).
    pub interaction_id: Uuid,
    /// When the interaction happened.
    pub timestamp: DateTime<Utc>,
    /// Which assistant.
    pub mode: String,
    /// The classified intent.
    pub intent: Option<String>,
    /// What triggered the escalation; `None` when only the interaction is known.
    pub trigger: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// Appends the metrics filter as `AND …` conditions on alias `i`.
fn push_filter<'a>(sql: &mut QueryBuilder<'a, Postgres>, filter: &'a MetricsFilter) {
    if let Some(mode) = &filter.mode {
        sql.push(" AND i.assistant_mode = ")
            .push_bind(mode.as_str());
    }
    if let Some(from) = filter.from {
        sql.push(" AND i.\"timestamp\" >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        sql.push(" AND i.\"timestamp\" <= ").push_bind(to);
    }
    if let Some(intent) = &filter.intent {
        sql.push(" AND i.intent_name = ").push_bind(intent.as_str());
    }
    if let Some(category) = &filter.category {
        sql.push(" AND i.intent_category = ")
            .push_bind(category.as_str());
    }
}

/// Interactions per tenth of `confidence_score` (the top bin includes 1.0); `None`
/// when the transport cannot run SQL.
pub async fn confidence_histogram(
    client: &Client,
    filter: &MetricsFilter,
) -> assistant_db::Result<Option<[i64; 10]>> {
    let Some(store) = client.postgres() else {
        return Ok(None);
    };
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT least(width_bucket(i.confidence_score, 0, 1, 10), 10)::int4, count(*)::int8 \
         FROM public.interactions i WHERE i.confidence_score IS NOT NULL",
    );
    push_filter(&mut sql, filter);
    sql.push(" GROUP BY 1");
    let rows: Vec<(i32, i64)> = sql.build_query_as().fetch_all(store.pool()).await?;
    let mut bins = [0; 10];
    for (bin, n) in rows {
        // width_bucket numbers the bins from 1.
        if let Some(slot) = usize::try_from(bin - 1).ok().and_then(|i| bins.get_mut(i)) {
            *slot += n;
        }
    }
    Ok(Some(bins))
}

/// The latest `limit` escalations of interactions passing `filter`, newest first.
pub async fn recent_escalations(
    client: &Client,
    filter: &MetricsFilter,
    limit: u32,
) -> assistant_db::Result<Vec<RecentEscalation>> {
    let Some(store) = client.postgres() else {
        return escalated_interactions(client, filter, limit).await;
    };
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT i.id, i.\"timestamp\", i.assistant_mode, i.intent_name, e.trigger_type, \
                e.escalation_reason \
         FROM public.escalations e JOIN public.interactions i ON i.id = e.interaction_id \
         WHERE true",
    );
    push_filter(&mut sql, filter);
    sql.push(" ORDER BY i.\"timestamp\" DESC, e.created_at DESC, e.id DESC LIMIT ")
        .push_bind(i64::from(limit));
    type Row = (Uuid, DateTime<Utc>, String, Option<String>, String, String);
    let rows: Vec<Row> = sql.build_query_as().fetch_all(store.pool()).await?;
    Ok(rows
        .into_iter()
        .map(
            |(interaction_id, timestamp, mode, intent, trigger, reason)| RecentEscalation {
                interaction_id,
                timestamp,
                mode,
                intent,
                trigger: Some(trigger),
                reason: Some(reason),
            },
        )
        .collect())
}

/// The fallback: escalated interactions, through the client.
async fn escalated_interactions(
    client: &Client,
    filter: &MetricsFilter,
    limit: u32,
) -> assistant_db::Result<Vec<RecentEscalation>> {
    let query = InteractionQuery {
        filter: InteractionFilter {
            mode: filter.mode,
            outcome: Some(Outcome::Escalated),
            intent: filter.intent.clone(),
            category: filter.category,
            session: None,
            from: filter.from,
            to: filter.to,
        },
        limit: Some(limit),
        after: None,
    };
    let page = client.interactions(&query).await?;
    Ok(page.items.iter().map(from_interaction).collect())
}

fn from_interaction(i: &Interaction) -> RecentEscalation {
    RecentEscalation {
        interaction_id: i.id,
        timestamp: i.timestamp,
        mode: i.assistant_mode.as_str().to_owned(),
        intent: i.intent_name.as_ref().map(|n| n.as_str().to_owned()),
        trigger: None,
        reason: i.escalation_reason.as_ref().map(|r| r.as_str().to_owned()),
    }
}
