//! Layering: embedded defaults, then the file, then `ALEXA_ENDPOINT_*`
//! variables, merged into one TOML table while remembering where every
//! value came from; relative paths resolved; the result deserialized with
//! errors that name the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::{ConfigError, Problem, ValueSource, ENV_PREFIX};

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "verification.skill_ids",
    "alexa_api.allowed_endpoints",
    "dedup.redis_cluster_nodes",
];

/// Keys holding file paths; `*` stands for every key of a table. A
/// relative path written in the config file is taken relative to the
/// file's directory.
pub(crate) const PATH_KEYS: &[&str] = &[
    "server.tls.cert",
    "server.tls.key",
    "verification.extra_roots",
    "verification.preloaded_certs.*",
    "dedup.redis_tls_ca",
    "handler.queue.redis_tls_ca",
];

/// Where each value (leaf) of the merged table came from.
#[derive(Clone, Default)]
pub(crate) struct Sources {
    leaves: BTreeMap<Vec<String>, ValueSource>,
    /// The values as loaded (serialized as `check-config` shows them), to
    /// tell a value changed in code since from one that was loaded.
    loaded: Option<serde_json::Value>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("leaves", &self.leaves.len())
            .finish_non_exhaustive()
    }
}

impl Sources {
    /// Remember `values` (the loaded configuration, serialized) as loaded.
    pub(crate) fn remember_loaded(&mut self, values: Option<serde_json::Value>) {
        self.loaded = values;
    }

    /// Whether the dotted `key` holds another value in `now` than it did
    /// when loaded (`false` when unknown).
    pub(crate) fn changed_since_load(&self, key: &str, now: &serde_json::Value) -> bool {
        let Some(loaded) = &self.loaded else {
            return false;
        };
        let pointer = format!("/{}", key.replace('.', "/"));
        loaded.pointer(&pointer) != now.pointer(&pointer)
    }

    /// The source of `path`: the value itself, else the first value under
    /// it (a table), else the table it is in; else the default.
    pub(crate) fn of(&self, path: &[String]) -> ValueSource {
        if let Some(source) = self.leaves.get(path) {
            return source.clone();
        }
        // Descendants sort right after their table.
        if let Some((_, source)) = self
            .leaves
            .range(path.to_vec()..)
            .next()
            .filter(|(leaf, _)| leaf.starts_with(path))
        {
            return source.clone();
        }
        (0..path.len())
            .rev()
            .find_map(|n| self.leaves.get(&path[..n]).cloned())
            .unwrap_or(ValueSource::Default)
    }

    /// The source of a dotted key (no dots inside segments).
    pub(crate) fn of_key(&self, key: &str) -> ValueSource {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        self.of(&path)
    }

    /// A [`ConfigError`] for `problem`, with the source of its key.
    pub(crate) fn error(&self, problem: Problem) -> ConfigError {
        ConfigError::Invalid {
            source_of_value: self.of_key(&problem.key),
            key: problem.key,
            reason: problem.reason,
        }
    }
}

/// The merged layers.
#[derive(Default)]
pub(crate) struct Layers {
    table: Table,
    sources: Sources,
    /// Environment values parsed as numbers or booleans, with the text as
    /// given: tried again as a string when the key wants one.
    coerced: BTreeMap<Vec<String>, String>,
}

impl Layers {
    /// Add a TOML text. `file`: where it was read from (relative paths are
    /// resolved against its directory).
    pub(crate) fn add_toml(
        &mut self,
        text: &str,
        source: ValueSource,
        file: Option<&Path>,
    ) -> Result<(), ConfigError> {
        let mut table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Load {
                path: file.map_or_else(|| PathBuf::from("<toml text>"), Path::to_path_buf),
                reason: syntax_error(text, &e),
            })?;
        if let Some(dir) = file.and_then(Path::parent) {
            resolve_paths(&mut table, dir);
        }
        merge(
            &mut self.table,
            table,
            &source,
            &mut Vec::new(),
            &mut self.sources,
        );
        Ok(())
    }

    /// Add a TOML file.
    pub(crate) fn add_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        // Relative paths in the file are relative to the file, wherever the
        // process runs from.
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.add_toml(
            &text,
            ValueSource::File(path.to_path_buf()),
            Some(&absolute),
        )
    }

    /// Add `ALEXA_ENDPOINT_<SECTION>__<KEY>` variables (other names are
    /// ignored). Values that read as a boolean or a number are taken as one.
    pub(crate) fn add_env(&mut self, env: impl IntoIterator<Item = (String, String)>) {
        let prefix = format!("{ENV_PREFIX}_");
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(&prefix) && k.len() > prefix.len())
            .collect();
        vars.sort();
        for (var, text) in vars {
            let path: Vec<String> = var[prefix.len()..]
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect();
            let dotted = path.join(".");
            let value = if LIST_KEYS.contains(&dotted.as_str()) {
                Value::Array(
                    text.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                )
            } else {
                let value = scalar(&text);
                if !value.is_str() {
                    self.coerced.insert(path.clone(), text.clone());
                }
                value
            };
            let mut table = Table::new();
            insert_path(&mut table, &path, value);
            merge(
                &mut self.table,
                table,
                &ValueSource::Env(var.clone()),
                &mut Vec::new(),
                &mut self.sources,
            );
        }
    }

    /// Deserialize the merged table; an error names the key and where its
    /// value came from.
    pub(crate) fn deserialize<T: DeserializeOwned>(mut self) -> Result<(T, Sources), ConfigError> {
        loop {
            let value = Value::Table(self.table.clone());
            match serde_path_to_error::deserialize::<_, T>(value) {
                Ok(t) => return Ok((t, self.sources)),
                Err(e) => {
                    let path = segments(e.path());
                    // A variable that looked like a number but names a
                    // string key: take it as the text it was.
                    let retry: Vec<Vec<String>> = self
                        .coerced
                        .keys()
                        .filter(|k| k.starts_with(&path))
                        .cloned()
                        .collect();
                    if retry.is_empty() {
                        let problem = describe(&path, e.inner().message());
                        return Err(self.sources.error(problem));
                    }
                    for key in retry {
                        if let Some(text) = self.coerced.remove(&key) {
                            insert_path(&mut self.table, &key, Value::String(text));
                        }
                    }
                }
            }
        }
    }
}

/// A variable's text as TOML would read it: boolean, integer, float or
/// string.
fn scalar(text: &str) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Boolean(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Boolean(false);
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Integer(i);
    }
    if text.contains('.')
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ".-+eE".contains(c))
    {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::String(text.to_owned())
}

/// A TOML syntax error as its position and message only: toml's own text
/// quotes the offending line, which may hold a password or a secret.
fn syntax_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let Some(at) = e.span().map(|span| span.start.min(text.len())) else {
        return format!("TOML syntax error: {message}");
    };
    let before = text.as_bytes().get(..at).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    format!("TOML syntax error at line {line}, column {column}: {message}")
}

fn insert_path(table: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for part in parents {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), value);
}

/// Merge `from` into `into` (tables key by key, anything else replaced),
/// recording the source of every leaf.
fn merge(
    into: &mut Table,
    from: Table,
    source: &ValueSource,
    path: &mut Vec<String>,
    sources: &mut Sources,
) {
    for (key, value) in from {
        path.push(key.clone());
        match (into.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(new)) => {
                merge(existing, new, source, path, sources);
            }
            (_, value) => {
                sources.leaves.retain(|leaf, _| !leaf.starts_with(path));
                record(&value, source, path, sources);
                into.insert(key, value);
            }
        }
        path.pop();
    }
}

fn record(value: &Value, source: &ValueSource, path: &mut Vec<String>, sources: &mut Sources) {
    match value {
        Value::Table(table) if !table.is_empty() => {
            for (key, v) in table {
                path.push(key.clone());
                record(v, source, path, sources);
                path.pop();
            }
        }
        _ => {
            sources.leaves.insert(path.clone(), source.clone());
        }
    }
}

/// Rewrite relative paths of [`PATH_KEYS`] in `table` (one file's) to be
/// relative to `dir`.
fn resolve_paths(table: &mut Table, dir: &Path) {
    for key in PATH_KEYS {
        let parts: Vec<&str> = key.split('.').collect();
        resolve_at(table, &parts, dir);
    }
}

fn resolve_at(table: &mut Table, parts: &[&str], dir: &Path) {
    match parts {
        [] => {}
        ["*"] => {
            for (_, value) in table.iter_mut() {
                resolve_value(value, dir);
            }
        }
        [last] => {
            if let Some(value) = table.get_mut(*last) {
                resolve_value(value, dir);
            }
        }
        [first, rest @ ..] => {
            if let Some(Value::Table(inner)) = table.get_mut(*first) {
                resolve_at(inner, rest, dir);
            }
        }
    }
}

fn resolve_value(value: &mut Value, dir: &Path) {
    if let Value::String(text) = value {
        let path = Path::new(text.as_str());
        if !text.is_empty() && path.is_relative() {
            *text = dir.join(path).to_string_lossy().into_owned();
        }
    }
}

fn segments(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Seq { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// Turn serde's message at `path` into a key and a reason an operator can
/// act on: unknown and missing keys are named in full, an unknown enum
/// value lists the valid ones.
fn describe(path: &[String], message: &str) -> Problem {
    let at = |extra: Option<&str>| {
        let mut key = path.join(".");
        // serde_path_to_error's path already ends at an unknown key.
        if let Some(extra) = extra.filter(|e| path.last().map(String::as_str) != Some(*e)) {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(extra);
        }
        key
    };
    // serde lists names in backticks: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
    let listed = |rest: &str| -> String {
        rest.split('`')
            .skip(1)
            .step_by(2)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known = listed(expected);
        let reason = if known.is_empty() {
            "is not a known key".to_owned()
        } else {
            format!("is not a known key (expected one of: {known})")
        };
        return Problem::new(at(Some(name)), reason);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return Problem::new(at(Some(name)), "is required");
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let valid = listed(expected);
        return Problem::new(
            at(None),
            format!("unknown value {value:?}, expected one of: {valid}"),
        );
    }
    Problem::new(at(None), message.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        a: Section,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Section {
        n: u64,
        name: String,
        kind: Kind,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum Kind {
        Log,
        ListSync,
    }

    fn layers(env: &[(&str, &str)]) -> Layers {
        let mut l = Layers::default();
        l.add_toml(
            "[a]\nn = 1\nname = \"x\"\nkind = \"log\"",
            ValueSource::Default,
            None,
        )
        .unwrap();
        l.add_env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        l
    }

    #[test]
    fn env_values_override_and_a_numeric_text_stays_a_string_where_one_is_wanted() {
        let (doc, sources) = layers(&[
            ("ALEXA_ENDPOINT_A__N", "7"),
            ("ALEXA_ENDPOINT_A__NAME", "1234"),
        ])
        .deserialize::<Doc>()
        .unwrap();
        assert_eq!(doc.a.n, 7);
        assert_eq!(doc.a.name, "1234");
        assert!(matches!(doc.a.kind, Kind::Log));
        assert_eq!(
            sources.of_key("a.n"),
            ValueSource::Env("ALEXA_ENDPOINT_A__N".into())
        );
        assert_eq!(sources.of_key("a.kind"), ValueSource::Default);
    }

    #[test]
    fn errors_name_the_key_the_variable_and_the_valid_values() {
        let err = layers(&[("ALEXA_ENDPOINT_A__KIND", "logg")])
            .deserialize::<Doc>()
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                key: "a.kind".into(),
                source_of_value: ValueSource::Env("ALEXA_ENDPOINT_A__KIND".into()),
                reason: "unknown value \"logg\", expected one of: log, list-sync".into(),
            }
        );
        let err = layers(&[("ALEXA_ENDPOINT_A__TYPO", "1")])
            .deserialize::<Doc>()
            .unwrap_err();
        assert_eq!(err.key(), Some("a.typo"));
        assert!(err.to_string().contains("ALEXA_ENDPOINT_A__TYPO"), "{err}");
        assert!(
            err.to_string().contains("expected one of: n, name, kind"),
            "{err}"
        );
    }

    #[test]
    fn a_syntax_error_names_the_position_but_never_quotes_the_line() {
        let err = Layers::default()
            .add_toml(
                "[dedup]\nbackend = \"redis\"\nredis_url = \"redis://:s3cret@cache:6379\n",
                ValueSource::Text,
                None,
            )
            .unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            text.contains("TOML syntax error at line 3, column "),
            "{text}"
        );
    }

    #[test]
    fn relative_paths_in_a_file_are_relative_to_its_directory() {
        let mut l = Layers::default();
        l.add_toml(
            "[server.tls]\ncert = \"tls/cert.pem\"\nkey = \"/abs/key.pem\"\n\
             [verification.preloaded_certs]\n\"https://s3.amazonaws.com/echo.api/c.pem\" = \"c.pem\"",
            ValueSource::File("/etc/ae/c.toml".into()),
            Some(Path::new("/etc/ae/c.toml")),
        )
        .unwrap();
        let t = &l.table;
        assert_eq!(
            t["server"]["tls"]["cert"].as_str(),
            Some("/etc/ae/tls/cert.pem")
        );
        assert_eq!(t["server"]["tls"]["key"].as_str(), Some("/abs/key.pem"));
        assert_eq!(
            t["verification"]["preloaded_certs"]["https://s3.amazonaws.com/echo.api/c.pem"]
                .as_str(),
            Some("/etc/ae/c.pem")
        );
    }
}
