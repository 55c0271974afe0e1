//! The generator: the assistant's pipeline played over a time window, one turn at a time.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::{Builder, Uuid};

use super::catalog::*;
use super::{DemoConfig, DemoTurn, CONFIDENCE_THRESHOLD, MIN_CHUNKS};
use crate::model::{
    AssistantMode, Citation, Confidence, Escalation, IntentCategory, Interaction, Jsonb,
    KnowledgeDocument, NonNegativeInt, Outcome, RequiredText, RequiredVarChar, Rule, Text,
    ValidationError, VarChar,
};

/// The generated records are valid by construction; the unit tests check every template.
const BY_CONSTRUCTION: &str = "demo records are valid by construction";

/// The seeded traffic generator: an iterator of exactly `config.interactions` turns.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: StdRng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    remaining: usize,
    session: Option<Session>,
}

/// The conversation the next turn belongs to.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    mode: AssistantMode,
    turns_left: u32,
    turn: u32,
    clock: DateTime<Utc>,
    last_intent: Option<&'static Intent>,
}

/// How the pipeline ended for one turn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Route {
    Answered,
    LowConfidence,
    InsufficientEvidence,
    HumanOnly,
}

/// What retrieval and scoring produced for one turn.
#[derive(Debug, Clone, Copy)]
struct Pipeline {
    route: Route,
    chunks: Option<u32>,
    confidence: Option<f64>,
}

impl Generator {
    /// A generator for `config`.
    pub fn new(config: &DemoConfig) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(config.seed),
            start: config.start,
            end: config.end(),
            remaining: config.interactions,
            session: None,
        }
    }

    /// The next turn, within its conversation.
    fn turn(&mut self, session: &mut Session) -> Result<DemoTurn, ValidationError> {
        let intent = self.pick_intent(session);
        let query = self.query(intent, session.turn);
        let pipeline = self.pipeline(intent);
        let at = session.clock;
        let elapsed = self.processing_ms(intent.category, pipeline.route);
        let done = at + Duration::milliseconds(elapsed);
        let id = v7(&mut self.rng, at);
        let cited = self.cite(intent, pipeline.route);
        let response = self.response_text(intent, session.mode, pipeline.route, &cited);
        let escalation_reason = escalation_reason(intent, pipeline);
        let interaction = Interaction {
            id,
            timestamp: at,
            assistant_mode: session.mode,
            session_id: Some(field(VarChar::parse(session.id.as_str()), "session_id")?),
            user_query: field(RequiredText::parse(query), "user_query")?,
            intent_name: Some(field(VarChar::parse(intent.name), "intent_name")?),
            intent_category: Some(intent.category),
            classification_reason: Some(field(
                Text::parse(self.classification_reason(intent)),
                "classification_reason",
            )?),
            step_1_intent_completed: true,
            step_2_routing_decision: Some(field(
                VarChar::parse(routing_decision(intent.category)),
                "step_2_routing_decision",
            )?),
            step_3_retrieval_performed: pipeline.chunks.is_some(),
            step_4_response_generated: !cited.is_empty(),
            step_5_confidence_score: confidence(pipeline.confidence)?,
            step_6_escalation_triggered: escalation_reason.is_some(),
            outcome: if escalation_reason.is_some() {
                Outcome::Escalated
            } else {
                Outcome::Resolved
            },
            confidence_score: confidence(pipeline.confidence)?,
            escalation_reason: escalation_reason
                .as_deref()
                .map(|r| field(Text::parse(r), "escalation_reason"))
                .transpose()?,
            response_text: Some(field(Text::parse(response), "response_text")?),
            citations: citations(&cited)?,
            retrieved_chunks_count: pipeline
                .chunks
                .map(|n| field(NonNegativeInt::new(n.into()), "retrieved_chunks_count"))
                .transpose()?,
            processing_time_ms: Some(field(NonNegativeInt::new(elapsed), "processing_time_ms")?),
            created_at: Some(done),
        };
        let escalation = match escalation_reason {
            Some(reason) => Some(Escalation {
                id: v7(&mut self.rng, done),
                interaction_id: Some(id),
                trigger_type: field(
                    RequiredVarChar::parse(trigger_type(pipeline.route)),
                    "trigger_type",
                )?,
                escalation_reason: field(RequiredText::parse(reason), "escalation_reason")?,
                created_at: Some(done),
            }),
            None => None,
        };
        let think = Duration::seconds(self.rng.gen_range(15..=150));
        session.clock = done + think;
        session.last_intent = Some(intent);
        session.turn += 1;
        Ok(DemoTurn {
            interaction,
            escalation,
        })
    }

    /// Starts a conversation: its mode, length, id and first timestamp.
    fn new_session(&mut self) -> Session {
        let mode = if self.rng.gen_bool(0.7) {
            AssistantMode::Customer
        } else {
            AssistantMode::Banker
        };
        let turns = *pick(&mut self.rng, &[(1, 40), (2, 25), (3, 17), (4, 10), (5, 8)]);
        Session {
            id: format!("thread_{}", base62(&mut self.rng, 24)),
            mode,
            turns_left: turns,
            turn: 0,
            clock: self.session_start(mode),
            last_intent: None,
        }
    }

    /// When a conversation starts: a day of the window and an hour of its mode's rhythm,
    /// early enough for five turns to fit before the window ends.
    fn session_start(&mut self, mode: AssistantMode) -> DateTime<Utc> {
        let latest = self.end - Duration::minutes(30);
        let days = (self.end - self.start).num_days().max(1);
        for _ in 0..8 {
            // Calendar days touching the window; times outside it are drawn again.
            let day = (self.start + Duration::days(self.rng.gen_range(0..=days))).date_naive();
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            let skip_weekend = match mode {
                AssistantMode::Banker => 0.85,
                AssistantMode::Customer => 0.3,
            };
            if weekend && self.rng.gen_bool(skip_weekend) {
                continue;
            }
            let hour = i64::from(*pick(&mut self.rng, &hourly_weights(mode)));
            let at = day
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .map(|midnight| {
                    midnight + Duration::seconds(hour * 3600 + self.rng.gen_range(0..3600))
                });
            if let Some(at) = at.filter(|at| *at >= self.start && *at <= latest) {
                return at;
            }
        }
        let span = (latest - self.start).num_seconds().max(1);
        self.start + Duration::seconds(self.rng.gen_range(0..span))
    }

    /// The intent of this turn: a follow-up on the last one, or a fresh pick for the mode.
    fn pick_intent(&mut self, session: &Session) -> &'static Intent {
        if let Some(last) = session.last_intent {
            if self.rng.gen_bool(0.35) {
                return last;
            }
        }
        let weights = match session.mode {
            AssistantMode::Customer => [
                (IntentCategory::Automatable, 60),
                (IntentCategory::Sensitive, 28),
                (IntentCategory::HumanOnly, 12),
            ],
            AssistantMode::Banker => [
                (IntentCategory::Automatable, 50),
                (IntentCategory::Sensitive, 38),
                (IntentCategory::HumanOnly, 12),
            ],
        };
        let category = *pick(&mut self.rng, &weights);
        let candidates: Vec<(&'static Intent, u32)> = INTENTS
            .iter()
            .filter(|i| i.mode == session.mode && i.category == category)
            .map(|i| (i, i.weight))
            .collect();
        let &intent = pick(&mut self.rng, &candidates);
        intent
    }

    /// The user's question, from one of the intent's templates.
    fn query(&mut self, intent: &Intent, turn: u32) -> String {
        let template = *pick_uniform(&mut self.rng, intent.queries);
        let query = self.fill(template);
        if turn > 0 && self.rng.gen_bool(0.6) {
            let lead = *pick_uniform(&mut self.rng, FOLLOW_UP_LEADS);
            format!("{lead}{query}")
        } else {
            query
        }
    }

    /// Retrieval, confidence and the resulting route.
    fn pipeline(&mut self, intent: &Intent) -> Pipeline {
        let (few_chunks, chunk_range, shape) = match intent.category {
            IntentCategory::HumanOnly => {
                return Pipeline {
                    route: Route::HumanOnly,
                    chunks: None,
                    confidence: None,
                }
            }
            IntentCategory::Automatable => (0.04, 3..=8, (6.0, 1.2)),
            IntentCategory::Sensitive => (0.09, 2..=6, (3.0, 1.5)),
        };
        if self.rng.gen_bool(few_chunks) {
            let chunks = self.rng.gen_range(0..MIN_CHUNKS);
            let score = kumaraswamy(&mut self.rng, shape.0, shape.1) * 0.55;
            return Pipeline {
                route: Route::InsufficientEvidence,
                chunks: Some(chunks),
                confidence: Some(round3(score.clamp(0.05, 0.99))),
            };
        }
        let chunks = self.rng.gen_range(chunk_range);
        let penalty = if chunks <= MIN_CHUNKS { 0.92 } else { 1.0 };
        let score =
            round3((kumaraswamy(&mut self.rng, shape.0, shape.1) * penalty).clamp(0.05, 0.99));
        let route = if score < CONFIDENCE_THRESHOLD {
            Route::LowConfidence
        } else {
            Route::Answered
        };
        Pipeline {
            route,
            chunks: Some(chunks),
            confidence: Some(score),
        }
    }

    /// End-to-end time: log-normal around the route's median, with a rare slow tail.
    fn processing_ms(&mut self, category: IntentCategory, route: Route) -> i64 {
        let (median, sigma): (f64, f64) = match (route, category) {
            (Route::HumanOnly, _) => (420.0, 0.45),
            (Route::InsufficientEvidence, _) => (850.0, 0.45),
            (_, IntentCategory::Sensitive) => (1350.0, 0.5),
            _ => (1050.0, 0.5),
        };
        let mut ms = (median.ln() + sigma * standard_normal(&mut self.rng)).exp();
        if self.rng.gen_bool(0.03) {
            ms *= self.rng.gen_range(2.0..4.5);
        }
        // Rounded to whole milliseconds; the bounds keep the value far inside i64.
        ms.clamp(200.0, 20_000.0).round() as i64
    }

    /// The documents the answer cites: the intent's primary source first, then one or
    /// two of its others; none when nothing is answered.
    fn cite(&mut self, intent: &Intent, route: Route) -> Vec<&'static Doc> {
        let Some((primary, others)) = intent.docs.split_first() else {
            return Vec::new();
        };
        if matches!(route, Route::HumanOnly | Route::InsufficientEvidence) {
            return Vec::new();
        }
        let wanted = if self.rng.gen_bool(0.5) { 2 } else { 3 };
        let mut others = others.to_vec();
        let mut slugs = vec![*primary];
        while slugs.len() < wanted && !others.is_empty() {
            slugs.push(others.swap_remove(self.rng.gen_range(0..others.len())));
        }
        slugs
            .iter()
            .filter_map(|slug| DOCS.iter().find(|d| d.slug == *slug))
            .collect()
    }

    /// The answer with its numbered citation markers, or the hand-off message.
    fn response_text(
        &mut self,
        intent: &Intent,
        mode: AssistantMode,
        route: Route,
        cited: &[&Doc],
    ) -> String {
        if cited.is_empty() {
            let handoffs = match mode {
                AssistantMode::Customer => CUSTOMER_HANDOFFS,
                AssistantMode::Banker => BANKER_HANDOFFS,
            };
            return (*pick_uniform(&mut self.rng, handoffs)).to_owned();
        }
        let mut text = String::with_capacity(700);
        text.push_str(intent.answer);
        for (i, doc) in cited.iter().enumerate() {
            text.push_str(&format!(" Per the {} [{}], {}", doc.title, i + 1, doc.fact));
        }
        let closings = match (mode, route) {
            (_, Route::LowConfidence) => LOW_CONFIDENCE_CLOSINGS,
            (AssistantMode::Customer, _) => CUSTOMER_CLOSINGS,
            (AssistantMode::Banker, _) => BANKER_CLOSINGS,
        };
        text.push(' ');
        let &closing = pick_uniform(&mut self.rng, closings);
        text.push_str(closing);
        text
    }

    /// Why the classifier chose the intent, with its score.
    fn classification_reason(&mut self, intent: &Intent) -> String {
        let score: f64 = self.rng.gen_range(0.72..0.99);
        format!("{} (classifier score {score:.2})", intent.reason)
    }

    /// Fills a template's `{slot}`s with random values.
    fn fill(&mut self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            out.push_str(&self.slot(&after[..close]));
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A random value for one template slot; an unknown slot is kept as its name.
    fn slot(&mut self, name: &str) -> String {
        let rng = &mut self.rng;
        let choice = |rng: &mut StdRng, values: &[&str]| (*pick_uniform(rng, values)).to_owned();
        match name {
            "account" => choice(rng, ACCOUNTS),
            "card" => choice(rng, CARDS),
            "merchant" => choice(rng, MERCHANTS),
            "city" => choice(rng, CITIES),
            "branch" => choice(rng, BRANCHES),
            "weekday" => choice(rng, WEEKDAYS),
            "country" => choice(rng, COUNTRIES),
            "when" => choice(rng, WHEN),
            "loan" => choice(rng, LOANS),
            "product" => choice(rng, PRODUCTS),
            "last4" => format!("{:04}", rng.gen_range(0..10_000)),
            "fico" => rng.gen_range(600..=810).to_string(),
            "dti" => rng.gen_range(22..=48).to_string(),
            "amount" => dollars(rng.gen_range(899..=240_000), true),
            "big_amount" => dollars(rng.gen_range(5..=450) * 100_000, false),
            other => other.to_owned(),
        }
    }
}

impl Iterator for Generator {
    type Item = DemoTurn;

    fn next(&mut self) -> Option<DemoTurn> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let mut session = match self.session.take() {
            Some(session) if session.turns_left > 0 => session,
            _ => self.new_session(),
        };
        let turn = self.turn(&mut session).expect(BY_CONSTRUCTION);
        session.turns_left -= 1;
        // A hand-off to a human ends the conversation with the assistant.
        if turn.escalation.is_none() {
            self.session = Some(session);
        }
        Some(turn)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Generator {}

/// Attaches the field name to a value's rule.
fn field<T>(value: Result<T, Rule>, name: &str) -> Result<T, ValidationError> {
    value.map_err(|rule| rule.at(name))
}

fn confidence(score: Option<f64>) -> Result<Option<Confidence>, ValidationError> {
    score
        .map(|s| field(Confidence::new(s), "confidence_score"))
        .transpose()
}

/// The citations of the cited documents, numbered from 1 in order.
fn citations(cited: &[&Doc]) -> Result<Option<Vec<Citation>>, ValidationError> {
    if cited.is_empty() {
        return Ok(None);
    }
    cited
        .iter()
        .zip(1..)
        .map(|(doc, n)| Citation::new(n, doc.title, doc.url))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `step_2_routing_decision` for a category.
const fn routing_decision(category: IntentCategory) -> &'static str {
    match category {
        IntentCategory::Automatable => "automated_answer",
        IntentCategory::Sensitive => "answer_with_guardrails",
        IntentCategory::HumanOnly => "human_handoff",
    }
}

/// `escalations.trigger_type` of an escalated route.
const fn trigger_type(route: Route) -> &'static str {
    match route {
        Route::HumanOnly => "human_only",
        Route::InsufficientEvidence => "insufficient_evidence",
        Route::LowConfidence | Route::Answered => "low_confidence",
    }
}

/// Why the turn was escalated; `None` when it was answered.
fn escalation_reason(intent: &Intent, pipeline: Pipeline) -> Option<String> {
    let score = pipeline.confidence.unwrap_or_default();
    match pipeline.route {
        Route::Answered => None,
        Route::HumanOnly => Some(intent.answer.to_owned()),
        Route::LowConfidence => Some(format!(
            "Confidence {score:.2} is below the {CONFIDENCE_THRESHOLD:.2} threshold for {} ({} intent)",
            intent.name, intent.category
        )),
        Route::InsufficientEvidence => Some(format!(
            "Only {} relevant knowledge chunk(s) retrieved for {}; at least {MIN_CHUNKS} are needed to answer",
            pipeline.chunks.unwrap_or_default(),
            intent.name
        )),
    }
}

/// A UUIDv7 for `at` whose random bits come from the seeded generator.
fn v7(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// `len` random letters and digits.
fn base62(rng: &mut StdRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// A weighted choice; the weights need not sum to anything in particular.
fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..total.max(1));
    for (item, weight) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &items[0].0
}

/// A uniform choice from a non-empty slice.
fn pick_uniform<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// A draw from Kumaraswamy(a, b), a beta-like distribution on [0, 1] with a closed-form
/// inverse CDF.
fn kumaraswamy(rng: &mut StdRng, a: f64, b: f64) -> f64 {
    let u: f64 = rng.gen();
    (1.0 - (1.0 - u).powf(1.0 / b)).powf(1.0 / a)
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `cents` as dollars with thousands separators, with or without the cents.
fn dollars(cents: u64, with_cents: bool) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if with_cents {
        format!("${grouped}.{:02}", cents % 100)
    } else {
        format!("${grouped}")
    }
}

/// `at`, minutes and below set to zero.
pub(super) fn start_of_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(3600), 0).unwrap_or(at)
}

/// Relative traffic per UTC hour of the day.
fn hourly_weights(mode: AssistantMode) -> [(u32, u32); 24] {
    let weights: [u32; 24] = match mode {
        AssistantMode::Customer => [
            2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 11, 10, 8, 8, 8, 9, 11, 12, 11, 9, 6, 3,
        ],
        AssistantMode::Banker => [
            0, 0, 0, 0, 0, 0, 1, 3, 9, 13, 13, 12, 8, 10, 12, 11, 9, 5, 2, 1, 1, 0, 0, 0,
        ],
    };
    let mut hours = [(0, 0); 24];
    for (hour, (slot, weight)) in hours.iter_mut().zip(weights).enumerate() {
        *slot = (hour as u32, weight);
    }
    hours
}

/// The knowledge documents the generated responses cite (about twenty: fee schedules,
/// wire policy, card disputes, mortgage rates…), public and synthetic, in topic
/// collections. The seed decides their OpenAI file ids and row ids.
pub fn knowledge_documents(seed: u64) -> Vec<KnowledgeDocument> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6b6e_6f77_6c65_6467);
    let base = DateTime::<Utc>::from_timestamp(1_735_722_000, 0).unwrap_or_default();
    DOCS.iter()
        .enumerate()
        .map(|(i, doc)| document(&mut rng, seed, doc, base + Duration::hours(29 * i as i64)))
        .collect::<Result<Vec<_>, _>>()
        .expect(BY_CONSTRUCTION)
}

/// The registry row of one catalog document, ingested at `ingested_at`.
fn document(
    rng: &mut StdRng,
    seed: u64,
    doc: &Doc,
    ingested_at: DateTime<Utc>,
) -> Result<KnowledgeDocument, ValidationError> {
    let metadata = json!({
        "generator": "assistant-db demo",
        "seed": seed,
        "slug": doc.slug,
        "pages": doc.pages,
        "tags": doc.tags,
        "language": "en",
        "version": "2025.1",
        "chunking": { "strategy": "auto", "max_tokens": 800, "overlap_tokens": 400 },
    });
    Ok(KnowledgeDocument {
        id: v7(rng, ingested_at),
        openai_file_id: field(
            RequiredVarChar::parse(format!("file-{}", base62(rng, 22))),
            "openai_file_id",
        )?,
        title: field(RequiredText::parse(doc.title), "title")?,
        source_url: doc
            .url
            .map(|u| field(Text::parse(u), "source_url"))
            .transpose()?,
        content_type: Some(doc.content_type),
        topic_collection: Some(field(VarChar::parse(doc.collection), "topic_collection")?),
        ingested_at: Some(ingested_at),
        metadata: Some(field(Jsonb::parse(metadata), "metadata")?),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use chrono::Timelike;

    use super::*;
    use crate::model::ContentType;

    fn config(seed: u64, interactions: usize) -> DemoConfig {
        let end = DateTime::parse_from_rfc3339("2025-03-31T12:34:56Z")
            .expect("timestamp")
            .with_timezone(&Utc);
        DemoConfig {
            seed,
            interactions,
            ..DemoConfig::ending_at(end, 30)
        }
    }

    fn generate(seed: u64, interactions: usize) -> Vec<DemoTurn> {
        Generator::new(&config(seed, interactions)).collect()
    }

    #[test]
    fn same_seed_same_records_different_seed_different_records() {
        let a = generate(7, 400);
        assert_eq!(a, generate(7, 400));
        let b = generate(8, 400);
        assert_ne!(
            a.iter()
                .map(|t| t.interaction.user_query.as_str())
                .collect::<Vec<_>>(),
            b.iter()
                .map(|t| t.interaction.user_query.as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(knowledge_documents(7), knowledge_documents(7));
        assert_ne!(knowledge_documents(7), knowledge_documents(8));
    }

    #[test]
    fn generates_exactly_the_count_within_the_window() {
        let cfg = config(1, 1234);
        let generator = Generator::new(&cfg);
        assert_eq!(generator.len(), 1234);
        let turns: Vec<_> = generator.collect();
        assert_eq!(turns.len(), 1234);
        assert_eq!(
            cfg.start,
            DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z").expect("ts")
        );
        for turn in &turns {
            let i = &turn.interaction;
            assert!(
                i.timestamp >= cfg.start && i.timestamp < cfg.end(),
                "{}",
                i.timestamp
            );
            assert_eq!(i.id.get_version_num(), 7);
            assert_eq!(
                u64::try_from(i.timestamp.timestamp_millis()).ok(),
                i.id.get_timestamp()
                    .map(|t| t.to_unix())
                    .map(|(s, n)| s * 1000 + u64::from(n) / 1_000_000)
            );
        }
        assert_eq!(generate(1, 0).len(), 0);
    }

    #[test]
    fn every_record_is_valid_and_consistent() {
        let documents = knowledge_documents(3);
        let titles: HashSet<&str> = documents.iter().map(|d| d.title.as_str()).collect();
        for turn in generate(3, 3000) {
            let i = &turn.interaction;
            let back = Interaction::from_json_value(serde_json::to_value(i).expect("serializes"))
                .expect("valid");
            assert_eq!(&back, i);
            let escalated = i.outcome == Outcome::Escalated;
            assert_eq!(escalated, turn.escalation.is_some());
            assert_eq!(escalated, i.step_6_escalation_triggered);
            assert_eq!(escalated, i.escalation_reason.is_some());
            assert!(i.step_1_intent_completed && i.step_2_routing_decision.is_some());
            assert!(i
                .session_id
                .as_ref()
                .is_some_and(|s| s.as_str().starts_with("thread_")));
            let category = i.intent_category.expect("category");
            let ms = i.processing_time_ms.expect("time").get();
            assert!((200..=20_000).contains(&ms), "{ms}");
            assert_eq!(i.confidence_score, i.step_5_confidence_score);
            if let Some(e) = &turn.escalation {
                let back =
                    Escalation::from_json_value(serde_json::to_value(e).expect("serializes"))
                        .expect("valid");
                assert_eq!(&back, e);
                assert_eq!(e.interaction_id, Some(i.id));
                assert!(["human_only", "low_confidence", "insufficient_evidence"]
                    .contains(&e.trigger_type.as_str()));
            }
            match category {
                IntentCategory::HumanOnly => {
                    assert!(
                        escalated && !i.step_3_retrieval_performed && !i.step_4_response_generated
                    );
                    assert_eq!(
                        turn.escalation.as_ref().map(|e| e.trigger_type.as_str()),
                        Some("human_only")
                    );
                    assert_eq!(i.confidence_score, None);
                }
                _ => {
                    assert!(i.step_3_retrieval_performed);
                    let score = i.confidence_score.expect("score").get();
                    let chunks = i.retrieved_chunks_count.expect("chunks").get();
                    let expected = if chunks < MIN_CHUNKS as i32 {
                        Some("insufficient_evidence")
                    } else if score < CONFIDENCE_THRESHOLD {
                        Some("low_confidence")
                    } else {
                        None
                    };
                    assert_eq!(
                        turn.escalation.as_ref().map(|e| e.trigger_type.as_str()),
                        expected
                    );
                }
            }
            if let Some(citations) = &i.citations {
                assert!(i.step_4_response_generated);
                assert!((2..=3).contains(&citations.len()));
                let text = i.response_text.as_ref().expect("response").as_str();
                for (n, c) in citations.iter().enumerate() {
                    assert_eq!(c.number.get() as usize, n + 1);
                    assert!(text.contains(&format!("[{}]", n + 1)), "{text}");
                    assert!(titles.contains(c.source.as_str()));
                }
            } else {
                assert!(!i.step_4_response_generated);
            }
        }
    }

    #[test]
    fn shares_and_sizes_are_plausible() {
        let turns = generate(11, 6000);
        let n = turns.len() as f64;
        let share =
            |f: &dyn Fn(&DemoTurn) -> bool| turns.iter().filter(|t| f(t)).count() as f64 / n;
        let customer = share(&|t| t.interaction.assistant_mode == AssistantMode::Customer);
        assert!(
            (0.62..=0.80).contains(&customer),
            "customer share {customer}"
        );
        let escalated = share(&|t| t.escalation.is_some());
        assert!(
            (0.15..=0.40).contains(&escalated),
            "escalation share {escalated}"
        );
        for trigger in ["human_only", "low_confidence", "insufficient_evidence"] {
            let s = share(&|t| {
                t.escalation
                    .as_ref()
                    .is_some_and(|e| e.trigger_type.as_str() == trigger)
            });
            assert!(s > 0.01, "{trigger} {s}");
        }
        let mean = |values: Vec<usize>| values.iter().sum::<usize>() as f64 / values.len() as f64;
        let query = mean(
            turns
                .iter()
                .map(|t| t.interaction.user_query.as_str().chars().count())
                .collect(),
        );
        assert!((60.0..=110.0).contains(&query), "query length {query}");
        let answered: Vec<usize> = turns
            .iter()
            .filter(|t| t.interaction.step_4_response_generated)
            .filter_map(|t| {
                t.interaction
                    .response_text
                    .as_ref()
                    .map(|r| r.as_str().chars().count())
            })
            .collect();
        let response = mean(answered);
        assert!(
            (450.0..=750.0).contains(&response),
            "response length {response}"
        );
        let mut times: Vec<i32> = turns
            .iter()
            .filter_map(|t| t.interaction.processing_time_ms)
            .map(|t| t.get())
            .collect();
        times.sort_unstable();
        let p50 = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        assert!(
            (600..=1500).contains(&p50) && p99 > 2500,
            "p50 {p50} p99 {p99}"
        );
        let by_category = |c| {
            turns
                .iter()
                .filter(move |t| t.interaction.intent_category == Some(c))
        };
        let avg_conf = |c| {
            let scores: Vec<f64> = by_category(c)
                .filter_map(|t| t.interaction.confidence_score)
                .map(|s| s.get())
                .collect();
            scores.iter().sum::<f64>() / scores.len() as f64
        };
        assert!(avg_conf(IntentCategory::Automatable) > avg_conf(IntentCategory::Sensitive) + 0.08);
    }

    #[test]
    fn sessions_have_one_to_five_turns_and_end_at_an_escalation() {
        let turns = generate(5, 3000);
        let mut sessions: HashMap<&str, Vec<&DemoTurn>> = HashMap::new();
        for t in &turns {
            let id = t.interaction.session_id.as_ref().expect("session").as_str();
            sessions.entry(id).or_default().push(t);
        }
        assert!(sessions.values().any(|s| s.len() > 1));
        for s in sessions.values() {
            assert!((1..=5).contains(&s.len()));
            assert!(s
                .iter()
                .all(|t| t.interaction.assistant_mode == s[0].interaction.assistant_mode));
            assert!(s
                .windows(2)
                .all(|w| w[0].interaction.timestamp < w[1].interaction.timestamp));
            assert!(s[..s.len() - 1].iter().all(|t| t.escalation.is_none()));
        }
    }

    #[test]
    fn traffic_follows_a_daily_rhythm() {
        let turns = generate(9, 4000);
        let bankers: Vec<_> = turns
            .iter()
            .filter(|t| t.interaction.assistant_mode == AssistantMode::Banker)
            .collect();
        let office = bankers
            .iter()
            .filter(|t| (7..=18).contains(&t.interaction.timestamp.hour()))
            .count();
        assert!(
            office as f64 > 0.85 * bankers.len() as f64,
            "{office} of {}",
            bankers.len()
        );
        let night = turns
            .iter()
            .filter(|t| (1..=4).contains(&t.interaction.timestamp.hour()))
            .count();
        assert!((night as f64) < 0.06 * turns.len() as f64, "{night}");
    }

    #[test]
    fn catalog_is_complete() {
        let docs = knowledge_documents(1);
        assert!((18..=25).contains(&docs.len()));
        let ids: HashSet<_> = docs.iter().map(|d| d.openai_file_id.as_str()).collect();
        assert_eq!(ids.len(), docs.len());
        assert!(docs
            .iter()
            .any(|d| d.content_type == Some(ContentType::Public)));
        assert!(docs
            .iter()
            .any(|d| d.content_type == Some(ContentType::Synthetic)));
        for intent in INTENTS {
            if intent.category == IntentCategory::HumanOnly {
                assert!(intent.docs.is_empty(), "{}", intent.name);
            } else {
                assert!(intent.docs.len() >= 3, "{}", intent.name);
                for slug in intent.docs {
                    assert!(DOCS.iter().any(|d| d.slug == *slug), "{slug}");
                }
            }
        }
        for mode in AssistantMode::ALL {
            for category in IntentCategory::ALL {
                assert!(
                    INTENTS
                        .iter()
                        .any(|i| i.mode == mode && i.category == category),
                    "{mode} {category}"
                );
            }
        }
    }

    #[test]
    fn every_template_fills_completely() {
        let mut generator = Generator::new(&config(2, 0));
        for intent in INTENTS {
            for template in intent.queries {
                let query = generator.fill(template);
                assert!(!query.contains(['{', '}']), "{query}");
                assert!(RequiredText::parse(query).is_ok());
            }
        }
        assert_eq!(dollars(123_456_789, true), "$1,234,567.89");
        assert_eq!(dollars(500_000, false), "$5,000");
        assert_eq!(dollars(99, true), "$0.99");
    }
}
