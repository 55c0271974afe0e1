//! What to do with each kind (mask, hash or leave), the hash key, and user rules; read
//! from the environment or built in code.
//!
//! | variable | value |
//! |---|---|
//! | `ASSISTANT_DB_REDACT_CARD`, `_IBAN`, `_EMAIL`, `_PHONE`, `_SSN`, `_ACCOUNT`, `_CVV` | `mask` (default), `hash` or `off` |
//! | `ASSISTANT_DB_REDACT_HASH_KEY` | the HMAC-SHA256 key, ≥ 32 characters; needed by `hash` |
//! | `ASSISTANT_DB_REDACT_RULES` | a JSON object `{"NAME": "regex", …}`; matches become `[NAME]` |

use std::collections::HashMap;
use std::fmt;

use crate::redact::Kind;
use crate::secret::Secret;

/// Environment variable holding the key of the `hash` policy.
pub const HASH_KEY_VAR: &str = "ASSISTANT_DB_REDACT_HASH_KEY";
/// Environment variable holding the user rules, a JSON object of name → regex.
pub const RULES_VAR: &str = "ASSISTANT_DB_REDACT_RULES";
/// The shortest hash key accepted: 32 characters, the HMAC-SHA256 block's half.
pub const MIN_HASH_KEY_LEN: usize = 32;

/// The environment variable setting `kind`'s policy, e.g. `ASSISTANT_DB_REDACT_CARD`.
pub fn policy_var(kind: Kind) -> String {
    format!("ASSISTANT_DB_REDACT_{}", kind.label())
}

/// What happens to a value of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Replaced by a token that keeps at most what may be shown (`[CARD ••••1234]`).
    #[default]
    Mask,
    /// Replaced by a keyed hash token (`[CARD #1a2b3c4d5e6f]`): the same value always
    /// gives the same token, so repeats can still be counted.
    Hash,
    /// Left as written.
    Off,
}

impl Policy {
    /// Parses `mask`, `hash` or `off` (any case, surrounding spaces ignored).
    pub fn parse(value: &str) -> Option<Policy> {
        match value.trim().to_ascii_lowercase().as_str() {
            "mask" => Some(Policy::Mask),
            "hash" => Some(Policy::Hash),
            "off" => Some(Policy::Off),
            _ => None,
        }
    }

    /// The policy's name as configured.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Mask => "mask",
            Policy::Hash => "hash",
            Policy::Off => "off",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user rule: matches of `pattern` become `[NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRule {
    /// Upper-case name, shown in the token.
    pub name: String,
    /// A regular expression in Rust's `regex` syntax.
    pub pattern: String,
}

/// Why a redaction configuration was refused; each names the variable or rule at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A policy variable holds something other than mask, hash or off.
    #[error("{variable} must be mask, hash or off, not `{value}`")]
    UnknownPolicy {
        /// The variable, e.g. `ASSISTANT_DB_REDACT_CARD`.
        variable: String,
        /// What it held.
        value: String,
    },
    /// A kind is set to `hash` but no key is configured.
    #[error("{variable}=hash needs a secret key in {HASH_KEY_VAR} (at least {MIN_HASH_KEY_LEN} characters)")]
    MissingHashKey {
        /// The policy variable set to `hash`.
        variable: String,
    },
    /// The hash key is too short to keep hashed values from being guessed.
    #[error("{HASH_KEY_VAR} must be at least {MIN_HASH_KEY_LEN} characters, it has {length}")]
    WeakHashKey {
        /// The key's length in characters.
        length: usize,
    },
    /// `hash` was asked for card security codes, which may not be kept in any form.
    #[error("{variable}=hash is refused: a card security code may not be stored in any form, hashed included (PCI DSS 3.3.1.2); use mask or off")]
    HashedCvv {
        /// The policy variable.
        variable: String,
    },
    /// The user rules variable is not a JSON object of strings.
    #[error("{RULES_VAR} must be a JSON object of NAME: \"regex\" pairs ({reason})")]
    RulesNotJson {
        /// What is wrong with it.
        reason: String,
    },
    /// A user rule's name or pattern breaks a rule.
    #[error("user rule `{name}`: {problem}")]
    BadRule {
        /// The rule's name as given.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl From<ConfigError> for crate::Error {
    fn from(err: ConfigError) -> Self {
        crate::Error::Config(err.to_string())
    }
}

/// The redaction settings: a policy per built-in kind, the hash key, the user rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactionConfig {
    policies: [Policy; Kind::BUILT_IN.len()],
    hash_key: Option<Secret>,
    rules: Vec<UserRule>,
}

impl RedactionConfig {
    /// Every kind masked, no user rule: the default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the process environment, then `.env` in the working directory (never a
    /// parent directory's, as [`Config`](crate::Config) reads it).
    pub fn from_env() -> Result<Self, crate::Error> {
        let dotenv: HashMap<String, String> = match dotenvy::from_path_iter(".env") {
            Ok(iter) => iter
                .collect::<Result<_, _>>()
                .map_err(|e| crate::Error::Config(format!(".env cannot be read: {e}")))?,
            Err(e) if e.not_found() => HashMap::new(),
            Err(e) => return Err(crate::Error::Config(format!(".env cannot be read: {e}"))),
        };
        Ok(Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| dotenv.get(name).cloned())
        })?)
    }

    /// Builds the settings from any variable lookup (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = RedactionConfig::new();
        for kind in Kind::BUILT_IN {
            let variable = policy_var(kind);
            if let Some(value) = get(&variable) {
                let policy = Policy::parse(&value).ok_or_else(|| ConfigError::UnknownPolicy {
                    variable: variable.clone(),
                    value: value.chars().take(40).collect(),
                })?;
                config = config.with_policy(kind, policy);
            }
        }
        if let Some(key) = get(HASH_KEY_VAR) {
            config = config.with_hash_key(Secret::new(key.trim()));
        }
        if let Some(raw) = get(RULES_VAR) {
            let rules: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&raw)
                .map_err(|e| ConfigError::RulesNotJson {
                    reason: e.to_string(),
                })?;
            // Name order, whatever order the JSON map keeps: it settles ties between rules.
            let mut rules: Vec<_> = rules.into_iter().collect();
            rules.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, pattern) in rules {
                let serde_json::Value::String(pattern) = pattern else {
                    return Err(ConfigError::BadRule {
                        name,
                        problem: "the pattern must be a JSON string".into(),
                    });
                };
                config = config.with_rule(name, pattern);
            }
        }
        config.check()?;
        Ok(config)
    }

    /// The policy of `kind`; user rules are always masked.
    pub fn policy(&self, kind: Kind) -> Policy {
        Kind::BUILT_IN
            .iter()
            .position(|k| *k == kind)
            .map_or(Policy::Mask, |i| self.policies[i])
    }

    /// Sets the policy of a built-in kind (user rules are always masked).
    pub fn with_policy(mut self, kind: Kind, policy: Policy) -> Self {
        if let Some(i) = Kind::BUILT_IN.iter().position(|k| *k == kind) {
            self.policies[i] = policy;
        }
        self
    }

    /// Sets every built-in kind's policy at once.
    pub fn with_all(mut self, policy: Policy) -> Self {
        self.policies = [policy; Kind::BUILT_IN.len()];
        self
    }

    /// Sets the key of the `hash` policy.
    pub fn with_hash_key(mut self, key: Secret) -> Self {
        self.hash_key = Some(key);
        self
    }

    /// Adds a user rule; checked when the redactor is built.
    pub fn with_rule(mut self, name: impl Into<String>, pattern: impl Into<String>) -> Self {
        self.rules.push(UserRule {
            name: name.into(),
            pattern: pattern.into(),
        });
        self
    }

    /// The hash key, if one is set.
    pub fn hash_key(&self) -> Option<&Secret> {
        self.hash_key.as_ref()
    }

    /// The user rules, in the order they were added.
    pub fn rules(&self) -> &[UserRule] {
        &self.rules
    }

    /// Checks the settings as a whole; [`Redactor::new`](super::Redactor::new) also
    /// compiles the rules' patterns.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.policy(Kind::Cvv) == Policy::Hash {
            return Err(ConfigError::HashedCvv {
                variable: policy_var(Kind::Cvv),
            });
        }
        if let Some(kind) = Kind::BUILT_IN
            .into_iter()
            .find(|k| self.policy(*k) == Policy::Hash)
        {
            match &self.hash_key {
                None => {
                    return Err(ConfigError::MissingHashKey {
                        variable: policy_var(kind),
                    })
                }
                Some(key) if key.expose().chars().count() < MIN_HASH_KEY_LEN => {
                    return Err(ConfigError::WeakHashKey {
                        length: key.expose().chars().count(),
                    })
                }
                Some(_) => {}
            }
        }
        let mut seen = Vec::new();
        for rule in &self.rules {
            check_rule_name(&rule.name)?;
            if seen.contains(&rule.name.as_str()) {
                return Err(ConfigError::BadRule {
                    name: rule.name.clone(),
                    problem: "the name is used twice".into(),
                });
            }
            seen.push(&rule.name);
        }
        Ok(())
    }
}

/// A rule name is 1–32 of `A–Z`, `0–9`, `_`, starting with a letter, and not a
/// built-in kind's label (which would make its tokens ambiguous).
fn check_rule_name(name: &str) -> Result<(), ConfigError> {
    let bad = |problem: &str| ConfigError::BadRule {
        name: name.chars().take(40).collect(),
        problem: problem.into(),
    };
    let valid = name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(bad(
            "the name must be 1–32 upper-case letters, digits or _, starting with a letter",
        ));
    }
    if Kind::ALL.iter().any(|k| k.label() == name) {
        return Err(bad("the name is a built-in kind's"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<RedactionConfig, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RedactionConfig::from_lookup(|name| vars.get(name).cloned())
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn nothing_set_masks_everything() {
        let config = from(&[]).expect("config");
        for kind in Kind::ALL {
            assert_eq!(config.policy(kind), Policy::Mask, "{kind}");
        }
        assert!(config.rules().is_empty());
    }

    #[test]
    fn policies_and_rules_from_the_environment() {
        let config = from(&[
            ("ASSISTANT_DB_REDACT_CARD", "hash"),
            ("ASSISTANT_DB_REDACT_EMAIL", " OFF "),
            ("ASSISTANT_DB_REDACT_PHONE", ""),
            (HASH_KEY_VAR, KEY),
            (RULES_VAR, r#"{"EMPLOYEE_ID": "EMP-[0-9]{6}"}"#),
        ])
        .expect("config");
        assert_eq!(config.policy(Kind::Card), Policy::Hash);
        assert_eq!(config.policy(Kind::Email), Policy::Off);
        assert_eq!(config.policy(Kind::Phone), Policy::Mask);
        assert_eq!(
            config.rules(),
            [UserRule {
                name: "EMPLOYEE_ID".into(),
                pattern: "EMP-[0-9]{6}".into()
            }]
        );
    }

    #[test]
    fn errors_name_the_variable_and_the_rule() {
        let err = from(&[("ASSISTANT_DB_REDACT_IBAN", "blur")]).expect_err("bad policy");
        assert!(
            err.to_string().contains("ASSISTANT_DB_REDACT_IBAN"),
            "{err}"
        );
        assert!(err.to_string().contains("mask, hash or off"), "{err}");

        let err = from(&[("ASSISTANT_DB_REDACT_SSN", "hash")]).expect_err("no key");
        assert_eq!(
            err,
            ConfigError::MissingHashKey {
                variable: "ASSISTANT_DB_REDACT_SSN".into()
            }
        );
        assert!(err.to_string().contains(HASH_KEY_VAR), "{err}");

        let err = from(&[
            ("ASSISTANT_DB_REDACT_CARD", "hash"),
            (HASH_KEY_VAR, "short"),
        ])
        .expect_err("weak key");
        assert_eq!(err, ConfigError::WeakHashKey { length: 5 });

        let err = from(&[("ASSISTANT_DB_REDACT_CVV", "hash"), (HASH_KEY_VAR, KEY)])
            .expect_err("hashed CVV");
        assert!(err.to_string().contains("3.3.1.2"), "{err}");

        let err = from(&[(RULES_VAR, "EMP-[0-9]+")]).expect_err("not JSON");
        assert!(err.to_string().contains(RULES_VAR), "{err}");
        let err = from(&[(RULES_VAR, r#"{"emp": "x"}"#)]).expect_err("lower-case name");
        assert!(err.to_string().contains("`emp`"), "{err}");
        let err = from(&[(RULES_VAR, r#"{"CARD": "x"}"#)]).expect_err("built-in name");
        assert!(err.to_string().contains("built-in"), "{err}");
        let err = from(&[(RULES_VAR, r#"{"N": 5}"#)]).expect_err("not a string");
        assert!(err.to_string().contains("JSON string"), "{err}");
    }

    #[test]
    fn the_key_never_prints() {
        let config =
            from(&[("ASSISTANT_DB_REDACT_CARD", "hash"), (HASH_KEY_VAR, KEY)]).expect("config");
        let shown = format!("{config:?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }
}
