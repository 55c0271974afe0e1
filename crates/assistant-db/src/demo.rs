//! Realistic synthetic assistant traffic, seeded and deterministic.
//!
//! [`Generator`] plays the assistant's pipeline (intent classification → routing →
//! retrieval → response → confidence → escalation) over a time window and yields one
//! [`DemoTurn`] per interaction: the row for `interactions` and, when the turn was handed
//! to a human, its row for `escalations`. [`knowledge_documents`] gives the documents the
//! responses cite, for `knowledge_documents`.
//!
//! The shape of the traffic:
//!
//! - about 70 % of conversations come from the `customer` assistant, the rest from the
//!   `banker` assistant, each with its own intents and query templates (≈80 characters);
//! - intents are `automatable` (balance, branch hours, wire cut-off…), `sensitive`
//!   (disputes, loan eligibility, fraud…) or `human_only` (account closure, complaints,
//!   legal requests…), each routed its own way;
//! - automatable and sensitive intents retrieve knowledge chunks, answer in ≈600
//!   characters with 2–3 numbered citations, and get a confidence drawn from a beta-like
//!   distribution (high for automatable, lower for sensitive); a confidence below
//!   [`CONFIDENCE_THRESHOLD`] escalates as `low_confidence`, fewer than
//!   [`MIN_CHUNKS`] retrieved chunks as `insufficient_evidence`;
//! - human-only intents are always escalated (`human_only`) with a hand-off message;
//! - conversations have 1–5 turns sharing a `thread_…` session id and end at an
//!   escalation; they start at times following a daily rhythm (customers in the evening,
//!   bankers in business hours on weekdays);
//! - processing times are log-normal (mostly 200–4000 ms) with a long tail.
//!
//! Everything, ids included, is drawn from one seeded random generator: the same
//! [`DemoConfig`] gives the same records, so writing them twice writes nothing new.
//! Ids are UUIDv7 built from the record's own time and seeded random bits.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::{Builder, Uuid};

use crate::model::{
    AssistantMode, Citation, Confidence, ContentType, Escalation, IntentCategory, Interaction,
    Jsonb, KnowledgeDocument, NonNegativeInt, Outcome, RequiredText, RequiredVarChar, Rule, Text,
    ValidationError, VarChar,
};

/// Seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;
/// Number of interactions generated when not told otherwise.
pub const DEFAULT_INTERACTIONS: usize = 2000;
/// Length of the default window, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// A response whose confidence is below this is escalated as `low_confidence`.
pub const CONFIDENCE_THRESHOLD: f64 = 0.6;
/// A retrieval with fewer chunks than this is escalated as `insufficient_evidence`.
pub const MIN_CHUNKS: u32 = 2;

/// The generated records are valid by construction; the unit tests check every template.
const BY_CONSTRUCTION: &str = "demo records are valid by construction";

/// What to generate: how much, over which window, from which seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Seed of the random generator: the same configuration gives the same records.
    pub seed: u64,
    /// Number of interactions to generate.
    pub interactions: usize,
    /// Start of the time window.
    pub start: DateTime<Utc>,
    /// Length of the window in days (0 is read as 1).
    pub days: u32,
}

impl DemoConfig {
    /// The default amount and seed over `days` days ending at the start of `end`'s hour,
    /// so that runs within the same hour generate the same records.
    pub fn ending_at(end: DateTime<Utc>, days: u32) -> Self {
        let end = start_of_hour(end);
        DemoConfig {
            seed: DEFAULT_SEED,
            interactions: DEFAULT_INTERACTIONS,
            start: end - Duration::days(i64::from(days.max(1))),
            days,
        }
    }

    /// End of the time window (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.start + Duration::days(i64::from(self.days.max(1)))
    }
}

impl Default for DemoConfig {
    /// [`DEFAULT_INTERACTIONS`] interactions over the [`DEFAULT_DAYS`] days ending now.
    fn default() -> Self {
        Self::ending_at(Utc::now(), DEFAULT_DAYS)
    }
}

/// One generated interaction and, when it was handed to a human, its escalation.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTurn {
    /// The row for `interactions`.
    pub interaction: Interaction,
    /// The row for `escalations`, pointing at the interaction; `Some` exactly when the
    /// interaction's outcome is `escalated`.
    pub escalation: Option<Escalation>,
}

/// Splits turns into the interactions and escalations to write together.
pub fn into_records(
    turns: impl IntoIterator<Item = DemoTurn>,
) -> (Vec<Interaction>, Vec<Escalation>) {
    let mut interactions = Vec::new();
    let mut escalations = Vec::new();
    for turn in turns {
        interactions.push(turn.interaction);
        escalations.extend(turn.escalation);
    }
    (interactions, escalations)
}

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
fn start_of_hour(at: DateTime<Utc>) -> DateTime<Utc> {
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

// ---------------------------------------------------------------------------------------
// The catalog: knowledge documents, intents, template slots and canned sentences.
// ---------------------------------------------------------------------------------------

/// A knowledge document of the catalog.
#[derive(Debug)]
struct Doc {
    slug: &'static str,
    title: &'static str,
    url: Option<&'static str>,
    content_type: ContentType,
    collection: &'static str,
    pages: u32,
    tags: &'static [&'static str],
    /// A sentence the responses quote, starting in lower case.
    fact: &'static str,
}

const fn public(
    slug: &'static str,
    title: &'static str,
    url: &'static str,
    collection: &'static str,
    pages: u32,
    tags: &'static [&'static str],
    fact: &'static str,
) -> Doc {
    Doc {
        slug,
        title,
        url: Some(url),
        content_type: ContentType::Public,
        collection,
        pages,
        tags,
        fact,
    }
}

const fn synthetic(
    slug: &'static str,
    title: &'static str,
    collection: &'static str,
    pages: u32,
    tags: &'static [&'static str],
    fact: &'static str,
) -> Doc {
    Doc {
        slug,
        title,
        url: None,
        content_type: ContentType::Synthetic,
        collection,
        pages,
        tags,
        fact,
    }
}

const DOCS: &[Doc] = &[
    public("consumer-fees", "Consumer Fee Schedule", "https://bank.example.com/disclosures/consumer-fee-schedule.pdf", "fees", 6, &["fees", "checking", "savings"],
        "the monthly maintenance fee is $12 on Everyday Checking and is waived with $1,500 in daily balance or $500 in monthly direct deposits."),
    public("business-fees", "Business Account Fee Schedule", "https://bank.example.com/disclosures/business-fee-schedule.pdf", "fees", 9, &["fees", "business", "wires"],
        "outgoing domestic wires cost $30 and international wires $45, while incoming wires are $15 and free on Premier Business accounts."),
    public("overdraft-policy", "Overdraft and NSF Policy", "https://bank.example.com/disclosures/overdraft-policy", "fees", 4, &["fees", "overdraft"],
        "an overdraft fee of $35 applies per item, with at most three fees per day and no fee when the account is overdrawn by $50 or less."),
    synthetic("fee-waiver-matrix", "Fee Waiver Authority Matrix", "fees", 3, &["fees", "waivers", "internal"],
        "branch bankers may waive up to $100 per client per quarter, and larger or repeated waivers need a branch manager's approval in the CRM."),
    public("wire-policy", "Wire Transfer Policy and Cut-off Times", "https://bank.example.com/help/wire-transfers", "payments", 5, &["wires", "cutoff", "payments"],
        "domestic wires submitted before 4:00 p.m. ET on a business day are sent the same day; later requests go out the next business day."),
    public("international-wires", "International Wire Transfer Guide", "https://bank.example.com/help/international-wires", "payments", 7, &["wires", "international", "fx"],
        "international wires must be released by 2:00 p.m. ET, need the beneficiary's IBAN or SWIFT code, and usually arrive in one to three business days."),
    synthetic("wire-recall", "Wire Recall and Amendment Procedures", "payments", 4, &["wires", "recall", "internal"],
        "a recall request is sent to the receiving bank within one business day, but funds can only come back with the beneficiary bank's cooperation."),
    public("card-disputes", "Card Dispute and Chargeback Process", "https://bank.example.com/help/card-disputes", "cards", 5, &["cards", "disputes", "chargebacks"],
        "disputes may be opened up to 60 days after the statement date, and a provisional credit is usually posted within 10 business days."),
    public("card-activation", "Card Activation and Limits Guide", "https://bank.example.com/help/cards", "cards", 3, &["cards", "activation", "limits"],
        "new cards are activated in the mobile app under Cards › Activate, and the default daily ATM limit is $500 with purchases up to $3,000."),
    synthetic("reg-e-playbook", "Regulation E Error Resolution Playbook", "cards", 8, &["cards", "regulation-e", "internal"],
        "Regulation E requires the investigation to finish within 10 business days, or 45 days when provisional credit is given to the client."),
    public("mortgage-rates", "Mortgage Rate Sheet", "https://bank.example.com/rates/mortgage", "lending", 2, &["mortgage", "rates"],
        "today's 30-year fixed rate is 6.625 % (6.71 % APR) with no points, and each discount point lowers the rate by about 0.25 %."),
    synthetic("personal-loan-criteria", "Personal Loan Eligibility Criteria", "lending", 6, &["loans", "eligibility", "underwriting"],
        "personal loans need a FICO score of 660 or more and a debt-to-income ratio under 40 %, with amounts from $3,000 to $50,000."),
    synthetic("credit-limit-guidelines", "Credit Limit Increase Guidelines", "lending", 4, &["cards", "credit", "underwriting"],
        "an increase may be requested after six months of on-time payments, and any request above 25 % of the current limit triggers a hard inquiry."),
    public("hardship-programs", "Payment Assistance and Hardship Programs", "https://bank.example.com/help/payment-assistance", "lending", 3, &["hardship", "loans", "payments"],
        "hardship plans can defer up to three monthly payments or lower the rate for twelve months, and each plan is reviewed by a specialist."),
    public("deposit-agreement", "Deposit Account Agreement", "https://bank.example.com/disclosures/deposit-account-agreement.pdf", "accounts", 42, &["accounts", "terms", "closure"],
        "either party may close an account at any time, and pending items or holds are settled before the remaining balance is paid out."),
    public("deposit-rates", "Savings and CD Rates", "https://bank.example.com/rates/deposits", "accounts", 2, &["rates", "savings", "cd"],
        "the 12-month CD pays 4.15 % APY, the 18-month promotional CD 4.35 % APY for new money, and High-Yield Savings 3.80 % APY."),
    public("branch-hours", "Branch Locations and Hours", "https://bank.example.com/locations", "branches", 12, &["branches", "hours", "holidays"],
        "branches are open 9 a.m. to 5 p.m. on weekdays and 9 a.m. to 1 p.m. on Saturdays, and closed on federal holidays."),
    public("fraud-procedures", "Fraud Reporting and Card Lock", "https://bank.example.com/security/report-fraud", "security", 3, &["fraud", "security", "cards"],
        "a card can be locked instantly in the app, and reported fraud is covered by zero-liability protection once the claim is filed."),
    synthetic("kyc-checklist", "KYC and Beneficial Ownership Checklist", "compliance", 5, &["kyc", "business", "internal"],
        "business accounts need formation documents, an EIN letter and ID for every owner of 25 % or more plus one controlling person."),
    synthetic("aml-red-flags", "AML Red Flags and SAR Escalation", "compliance", 6, &["aml", "sar", "internal"],
        "structured cash deposits just under $10,000 are a red flag that must be referred to the BSA officer the same day, without telling the client."),
    public("digital-banking-help", "Online and Mobile Banking Help", "https://bank.example.com/help/digital-banking", "digital", 8, &["digital", "mobile", "deposits"],
        "mobile deposits made before 8 p.m. ET post the next business day, and the routing number is shown under Account › Details."),
];

/// An intent of one assistant mode with its templates and canned text.
#[derive(Debug)]
struct Intent {
    mode: AssistantMode,
    name: &'static str,
    category: IntentCategory,
    weight: u32,
    /// Why the classifier picks it.
    reason: &'static str,
    /// The answer's opening sentence; for human-only intents, the hand-off reason.
    answer: &'static str,
    /// Slugs of the documents the answer may cite.
    docs: &'static [&'static str],
    /// Query templates with `{slot}`s.
    queries: &'static [&'static str],
}

use AssistantMode::{Banker as B, Customer as C};
use IntentCategory::{Automatable as AUTO, HumanOnly as HUMAN, Sensitive as SENS};

const INTENTS: &[Intent] = &[
    // Customer, automatable.
    Intent { mode: C, name: "balance_inquiry", category: AUTO, weight: 14,
        reason: "Asks for the balance of one of their own accounts; a read-only lookup",
        answer: "You can see your available and current balances at any time in the app under Accounts; the available balance already subtracts pending card transactions and holds.",
        docs: &["digital-banking-help", "deposit-agreement", "overdraft-policy"],
        queries: &["What's the current balance on my {account} account ending in {last4}?",
            "How much money is available in my {account} account right now, including pending items?",
            "I need my available balance for the {account} account before I pay rent today."] },
    Intent { mode: C, name: "branch_hours", category: AUTO, weight: 9,
        reason: "Asks for opening hours of a branch; public information",
        answer: "Most of our branches keep the same schedule, and holiday closures follow the Federal Reserve calendar.",
        docs: &["branch-hours", "digital-banking-help", "deposit-agreement"],
        queries: &["What time does the {city} branch close on Saturdays, and is it open on holidays?",
            "Is the {branch} branch open this {weekday}, and until what time can I come in?",
            "Can I visit the {branch} branch in {city} during lunch, or does it close at noon?"] },
    Intent { mode: C, name: "card_activation", category: AUTO, weight: 8,
        reason: "Asks how to activate a card they received; a documented self-service step",
        answer: "You can activate your new card yourself in a minute, and your old card keeps working until the new one is activated.",
        docs: &["card-activation", "digital-banking-help", "fraud-procedures"],
        queries: &["I just received my new {card} in the mail. How do I activate it from the app?",
            "My replacement {card} arrived today, what are the steps to activate it safely?",
            "Do I need to call someone to activate my {card}, or can I do it online myself?"] },
    Intent { mode: C, name: "fee_schedule", category: AUTO, weight: 10,
        reason: "Asks about a published fee; answered from the fee schedules",
        answer: "Our fees are published in the fee schedules, and several of them can be avoided with balance or direct deposit requirements.",
        docs: &["consumer-fees", "overdraft-policy", "business-fees"],
        queries: &["How much is the monthly maintenance fee on a {account} account, and can it be waived?",
            "What does the bank charge for an overdraft, and is there a daily limit on those fees?",
            "Why was I charged a fee on my {account} account {when}? I thought it was free."] },
    Intent { mode: C, name: "wire_cutoff", category: AUTO, weight: 6,
        reason: "Asks for wire transfer deadlines; published cut-off times",
        answer: "Wire deadlines depend on whether the transfer is domestic or international, and they apply on business days only.",
        docs: &["wire-policy", "international-wires", "business-fees"],
        queries: &["What's the cutoff time for sending a domestic wire today so it arrives the same day?",
            "If I send {amount} to family in {country} by wire this afternoon, when will it arrive?"] },
    Intent { mode: C, name: "atm_limits", category: AUTO, weight: 6,
        reason: "Asks about card limits; published defaults",
        answer: "Every card has daily ATM and purchase limits, and you can see yours in the app next to the card.",
        docs: &["card-activation", "consumer-fees", "fraud-procedures"],
        queries: &["What's the daily ATM withdrawal limit on my {card}, and can I raise it for a day?",
            "I need to take out {amount} in cash tomorrow. Is that over my {card} limit?"] },
    Intent { mode: C, name: "routing_number", category: AUTO, weight: 5,
        reason: "Asks for account details for direct deposit; self-service information",
        answer: "For direct deposit you need the bank's routing number and your full account number, both shown in the app.",
        docs: &["digital-banking-help", "deposit-agreement", "wire-policy"],
        queries: &["Where can I find the routing number for direct deposit into my {account} account?",
            "My employer is asking for my account and routing numbers. Where do I get them?"] },
    Intent { mode: C, name: "mobile_deposit", category: AUTO, weight: 5,
        reason: "Asks about a mobile check deposit's status; documented posting times",
        answer: "Mobile check deposits go through a short review before the funds post, and the timing depends on when you submitted the check.",
        docs: &["digital-banking-help", "deposit-agreement", "consumer-fees"],
        queries: &["Why is my mobile check deposit of {amount} still pending, and when will it clear?",
            "I deposited a check in the app {when}; when can I use the money in my {account}?"] },
    Intent { mode: C, name: "savings_rates", category: AUTO, weight: 5,
        reason: "Asks about published deposit rates",
        answer: "Our deposit rates are set weekly and published on the rates page, and CDs lock the rate for their whole term.",
        docs: &["deposit-rates", "deposit-agreement", "consumer-fees"],
        queries: &["What APY are you offering on a 12-month CD compared with a {account} account?",
            "Is the promotional CD rate still available if I move {amount} from another bank?"] },
    // Customer, sensitive.
    Intent { mode: C, name: "dispute_charge", category: SENS, weight: 10,
        reason: "Disputes a card transaction; regulated process that needs careful wording",
        answer: "You can dispute a charge you don't recognize, and we'll investigate it while protecting you from liability for unauthorized use.",
        docs: &["card-disputes", "reg-e-playbook", "fraud-procedures"],
        queries: &["I don't recognize a {amount} charge from {merchant} on my {card}. How do I dispute it?",
            "{merchant} charged me twice for the same order {when}. Can you get one of them reversed?",
            "I returned an item to {merchant} weeks ago but the {amount} refund never showed up."] },
    Intent { mode: C, name: "loan_eligibility", category: SENS, weight: 8,
        reason: "Asks whether they qualify for credit; an answer must not read as a credit decision",
        answer: "I can explain the general criteria we use, but only a full application gives a decision on your eligibility.",
        docs: &["personal-loan-criteria", "mortgage-rates", "credit-limit-guidelines"],
        queries: &["Would I qualify for a {loan} of about {big_amount} with my income and credit score?",
            "My credit score is around {fico}. Is that good enough to get a {loan} from you?"] },
    Intent { mode: C, name: "fraud_report", category: SENS, weight: 7,
        reason: "Reports possible fraud; urgent and security-relevant",
        answer: "Please lock your card right away in the app so no new charges can go through, then we'll review the transactions with you.",
        docs: &["fraud-procedures", "card-disputes", "reg-e-playbook"],
        queries: &["I think someone used my {card} without permission at {merchant}. What do I do now?",
            "I got a text asking me to confirm a {amount} payment I never made. Is my account hacked?"] },
    Intent { mode: C, name: "mortgage_rates", category: SENS, weight: 6,
        reason: "Asks about mortgage pricing; rate quotes are regulated disclosures",
        answer: "Mortgage rates change daily and depend on your credit, down payment and points, so any number here is an estimate, not a quote.",
        docs: &["mortgage-rates", "personal-loan-criteria", "hardship-programs"],
        queries: &["What are today's 30-year fixed mortgage rates, and how do points change the APR?",
            "Should I refinance my {big_amount} mortgage now, or wait for rates to come down?"] },
    Intent { mode: C, name: "overdraft_refund", category: SENS, weight: 6,
        reason: "Asks for a fee refund; depends on policy and account history",
        answer: "Overdraft fees can sometimes be refunded, depending on the circumstances and on your account history.",
        docs: &["overdraft-policy", "fee-waiver-matrix", "consumer-fees"],
        queries: &["I was charged two overdraft fees {when}. Can you refund them? It was a timing issue.",
            "My paycheck posted an hour late and I got an overdraft fee on my {account}. Can you waive it?"] },
    Intent { mode: C, name: "wire_recall", category: SENS, weight: 3,
        reason: "Wants to recall a sent wire; funds at risk",
        answer: "Wires are final once sent, but we can ask the receiving bank to return the funds if you act quickly.",
        docs: &["wire-recall", "wire-policy", "international-wires"],
        queries: &["I sent a wire of {amount} to the wrong account {when}. Can it still be recalled?"] },
    // Customer, human only.
    Intent { mode: C, name: "close_account", category: HUMAN, weight: 5,
        reason: "Wants to close an account; requires identity verification by staff",
        answer: "Account closure requires identity verification and settlement of pending items by a banker.",
        docs: &[], queries: &["I want to close my {account} account and move everything to another bank. How?",
            "Please close my {account} account ending in {last4} and send me a check for the balance."] },
    Intent { mode: C, name: "complaint", category: HUMAN, weight: 4,
        reason: "Files a formal complaint; complaints are handled by people and tracked",
        answer: "Formal complaints must be logged and answered by the customer relations team.",
        docs: &[], queries: &["I want to file a formal complaint about how my {product} issue was handled in {city}.",
            "This is the third time my {product} problem was ignored. I want to speak to a manager."] },
    Intent { mode: C, name: "legal_request", category: HUMAN, weight: 2,
        reason: "Legal or court-related request; handled by the legal department",
        answer: "Requests for records in legal proceedings are handled by the legal department.",
        docs: &[], queries: &["My lawyer needs certified statements for the last 24 months for a court case. Who does that?"] },
    Intent { mode: C, name: "bereavement", category: HUMAN, weight: 2,
        reason: "Deceased account holder; needs the estate services team",
        answer: "Accounts of a deceased client are handled by the estate services team, who verify the executor's documents.",
        docs: &[], queries: &["My father passed away last month. How do I access his accounts as the executor?"] },
    Intent { mode: C, name: "hardship_request", category: HUMAN, weight: 3,
        reason: "Asks for payment relief; hardship plans are decided by a specialist",
        answer: "Hardship plans are individual decisions made by a payment assistance specialist.",
        docs: &[], queries: &["I lost my job and can't make my {loan} payment this month. Can we set up a plan?"] },
    // Banker, automatable.
    Intent { mode: B, name: "wire_cutoff", category: AUTO, weight: 10,
        reason: "Staff asks for wire deadlines; published operations policy",
        answer: "The wire room applies different release deadlines to domestic and international wires.",
        docs: &["wire-policy", "international-wires", "business-fees"],
        queries: &["Client wants to wire {amount} to {country} today. What's the international cutoff?",
            "What's the latest I can submit a domestic wire for a client and still have it go out today?"] },
    Intent { mode: B, name: "fee_schedule", category: AUTO, weight: 9,
        reason: "Staff asks for a published fee",
        answer: "Both fee schedules are current as of this quarter, and Premier relationships get some fees waived automatically.",
        docs: &["business-fees", "consumer-fees", "overdraft-policy"],
        queries: &["What's the current fee for an outgoing international wire on a business account?",
            "Does a Premier Checking client pay the {amount} stop-payment fee or is it waived?"] },
    Intent { mode: B, name: "kyc_requirements", category: AUTO, weight: 8,
        reason: "Staff asks which documents onboarding needs; documented checklist",
        answer: "Onboarding a business account follows the KYC checklist, including beneficial ownership certification.",
        docs: &["kyc-checklist", "deposit-agreement", "business-fees"],
        queries: &["Which documents do I need to open a business account for an LLC with two owners?",
            "Does a sole proprietor need an EIN letter to open a business checking account with us?"] },
    Intent { mode: B, name: "product_comparison", category: AUTO, weight: 6,
        reason: "Staff compares deposit products; published terms",
        answer: "The checking products differ mainly in their balance requirements, fee waivers and included services.",
        docs: &["consumer-fees", "deposit-rates", "deposit-agreement"],
        queries: &["What's the difference in minimum balance between Premier Checking and Everyday Checking?",
            "Client has {amount} to park for a year. Is the CD or High-Yield Savings the better fit?"] },
    Intent { mode: B, name: "rate_sheet", category: AUTO, weight: 5,
        reason: "Staff asks for current rates; published rate sheets",
        answer: "Today's rate sheets were published this morning and are valid until the next weekly update.",
        docs: &["deposit-rates", "mortgage-rates", "consumer-fees"],
        queries: &["Where is today's rate sheet for CDs, and what's the 18-month promo APY for new money?"] },
    // Banker, sensitive.
    Intent { mode: B, name: "loan_eligibility", category: SENS, weight: 8,
        reason: "Staff asks about a client's credit eligibility; underwriting guidance only",
        answer: "Based on the published criteria only, and subject to underwriting, here is how the client's profile compares.",
        docs: &["personal-loan-criteria", "credit-limit-guidelines", "mortgage-rates"],
        queries: &["Client has a {fico} FICO and {dti}% DTI. Do they qualify for a {loan} of {big_amount}?",
            "Can a client with {dti}% debt-to-income still get a {loan} if they add a co-signer?"] },
    Intent { mode: B, name: "fee_waiver_policy", category: SENS, weight: 7,
        reason: "Staff asks about waiving fees; governed by approval limits",
        answer: "Fee waivers are allowed within your approval authority, and every waiver has to be documented in the CRM.",
        docs: &["fee-waiver-matrix", "overdraft-policy", "consumer-fees"],
        queries: &["Can I waive a {amount} overdraft fee for a long-time client, and who needs to approve it?",
            "A client got three NSF fees {when}. How much am I allowed to refund without a manager?"] },
    Intent { mode: B, name: "aml_alert", category: SENS, weight: 5,
        reason: "Staff reports suspicious activity; compliance-sensitive",
        answer: "This pattern matches an AML red flag and must follow the SAR escalation procedure.",
        docs: &["aml-red-flags", "kyc-checklist", "deposit-agreement"],
        queries: &["A client made three cash deposits just under $10,000 this week. What's the procedure?",
            "A new business client is receiving many wires from {country} and withdrawing cash. Next steps?"] },
    Intent { mode: B, name: "dispute_charge", category: SENS, weight: 6,
        reason: "Staff handles a client's card dispute; Regulation E timelines apply",
        answer: "For a client's card dispute, the Regulation E timelines decide when provisional credit is due.",
        docs: &["reg-e-playbook", "card-disputes", "fraud-procedures"],
        queries: &["Client disputes a {amount} charge from {merchant}. What's the provisional credit timeline?"] },
    Intent { mode: B, name: "credit_limit_increase", category: SENS, weight: 4,
        reason: "Staff asks about a credit line change; underwriting guidance only",
        answer: "Credit limit increases follow the underwriting guidelines, and large increases need a new credit review.",
        docs: &["credit-limit-guidelines", "personal-loan-criteria", "card-activation"],
        queries: &["Client wants the limit on their {card} raised to {amount}. What are the criteria?"] },
    // Banker, human only.
    Intent { mode: B, name: "legal_request", category: HUMAN, weight: 4,
        reason: "Subpoena or legal order; only the legal department may respond",
        answer: "Subpoenas and legal orders must go to the legal department; branches must not release records.",
        docs: &[], queries: &["We received a subpoena for a client's records from a {city} county court. What now?"] },
    Intent { mode: B, name: "exception_approval", category: HUMAN, weight: 5,
        reason: "Asks for a policy exception; needs a manager's decision",
        answer: "Policy exceptions need a documented decision by a branch manager or the operations team.",
        docs: &[], queries: &["I need an exception to the hold policy on a {amount} check for a VIP client. Who approves?",
            "Can we override the wire limit for a client sending {big_amount} today? They're a VIP."] },
    Intent { mode: B, name: "complaint", category: HUMAN, weight: 3,
        reason: "A client's formal complaint; logged and handled by customer relations",
        answer: "Formal complaints must be logged with customer relations within one business day.",
        docs: &[], queries: &["A client wants to file a formal complaint about a denied {loan}. How do I log it?"] },
];

const ACCOUNTS: &[&str] = &[
    "checking",
    "savings",
    "money market",
    "Everyday Checking",
    "Premier Checking",
    "joint checking",
    "High-Yield Savings",
];
const CARDS: &[&str] = &[
    "debit card",
    "Visa Signature card",
    "Cashback Mastercard",
    "business debit card",
    "Platinum credit card",
];
const MERCHANTS: &[&str] = &[
    "Amazon Marketplace",
    "UBER *TRIP",
    "Shell Oil 5734",
    "Target T-1842",
    "Spotify",
    "Delta Air Lines",
    "Best Buy #412",
    "DoorDash",
    "Walgreens",
    "APPLE.COM/BILL",
];
const CITIES: &[&str] = &[
    "Portland", "Austin", "Denver", "Columbus", "Raleigh", "Phoenix", "Madison", "Tampa",
];
const BRANCHES: &[&str] = &[
    "Main Street",
    "Downtown",
    "Riverside",
    "Northgate",
    "Airport Plaza",
    "University",
];
const WEEKDAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const COUNTRIES: &[&str] = &[
    "Germany",
    "Mexico",
    "Japan",
    "the United Kingdom",
    "India",
    "Canada",
    "Brazil",
];
const WHEN: &[&str] = &[
    "yesterday",
    "last Friday",
    "on the 14th",
    "over the weekend",
    "two days ago",
];
const LOANS: &[&str] = &[
    "personal loan",
    "auto loan",
    "home equity line",
    "30-year mortgage",
    "small business loan",
];
const PRODUCTS: &[&str] = &[
    "mortgage",
    "credit card",
    "auto loan",
    "checking account",
    "wire transfer",
];

const FOLLOW_UP_LEADS: &[&str] = &[
    "Thanks. ",
    "Okay, one more thing. ",
    "Got it. ",
    "One more question. ",
    "Follow-up question: ",
];

const CUSTOMER_CLOSINGS: &[&str] = &[
    "Is there anything else I can help you with today?",
    "Let me know if you'd like me to walk you through the next steps.",
    "You can also find these details in the app at any time.",
];
const BANKER_CLOSINGS: &[&str] = &[
    "Please confirm the client's details in the core system before proceeding.",
    "Check the client's relationship tier in the CRM, as it may change the outcome.",
    "Document the conversation in the CRM once you have responded to the client.",
];
const LOW_CONFIDENCE_CLOSINGS: &[&str] = &[
    "I'm not fully certain this covers your situation, so a specialist will review it.",
    "Because the sources only partly match the question, this answer is being checked by a person.",
];
const CUSTOMER_HANDOFFS: &[&str] = &[
    "I can't complete this request here, so I'm connecting you with a member of our team. A specialist will follow up within one business day.",
    "This needs a person on our side. I've passed your request and this conversation to our team, who will contact you shortly.",
    "I'm transferring you to a banker who can help with this. You won't need to repeat yourself: they can see this conversation.",
];
const BANKER_HANDOFFS: &[&str] = &[
    "This request needs a specialist. It has been routed to the responsible team's queue with this conversation attached.",
    "I can't answer this one. A ticket has been opened for the responsible team, who will reply in the case within one business day.",
];

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use chrono::Timelike;

    use super::*;

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
