//! Configuration read from environment variables, the same way for every configuration of the
//! toolbar (the toolbar's `DEBUG_TOOLBAR_*` variables, the OpenTelemetry panel's `OTEL_*` ones).
//!
//! A configuration applies its variables with one function `apply(builder, var)` that fails on
//! the first invalid value; [`lossy`] turns it into the lenient form, which logs each invalid
//! value and keeps the default. The parsers here name the variable and what it accepts in their
//! [`ConfigError`], and never put a secret in it: URLs lose their credentials, and lists of
//! `key=value` pairs are reported by entry and key, never by value.

use std::time::Duration;

use url::Url;

use crate::ConfigError;
use crate::redact::mask_url;

/// Reads a variable: the process environment, or a map in tests.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A variable's value through `var`, `None` when it is unset or only white space (the
/// OpenTelemetry specification treats an empty value as unset).
pub fn get(var: Lookup<'_>, name: &str) -> Option<String> {
    var(name).filter(|v| !v.trim().is_empty())
}

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The first of `names` that is set, with its name: a signal-specific variable listed before
/// the generic one wins over it.
pub fn first(var: Lookup<'_>, names: &[&'static str]) -> Option<(&'static str, String)> {
    names
        .iter()
        .find_map(|name| get(var, name).map(|v| (*name, v)))
}

/// `builder` with `apply` run over the variables `var` reads, leaving out each variable whose
/// value `apply` rejects: the rejection is logged at WARN (target `target`) with what the
/// variable accepts, and the default stays.
pub fn lossy<B: Clone>(
    builder: B,
    var: Lookup<'_>,
    target: &'static str,
    apply: impl Fn(B, Lookup<'_>) -> Result<B, ConfigError>,
) -> B {
    let mut rejected: Vec<&'static str> = Vec::new();
    loop {
        let lookup = |name: &str| {
            if rejected.contains(&name) {
                None
            } else {
                var(name)
            }
        };
        match apply(builder.clone(), &lookup) {
            Ok(applied) => return applied,
            Err(e) => {
                tracing::warn!(target: "debug_toolbar", config = target, "{e}; using the default instead");
                if rejected.contains(&e.variable()) {
                    return builder;
                }
                rejected.push(e.variable());
            }
        }
    }
}

/// `true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`, in any case.
pub fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(
            variable,
            value,
            "true or false (1/0, yes/no, on/off)",
        )),
    }
}

/// An `http://` or `https://` URL with a host. The error shows the value without its
/// credentials.
pub fn parse_url(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    let value = value.trim();
    // Browsers' URL parsing skips extra slashes (`http:///x` has the host `x`): a missing host
    // is a mistake here.
    let has_authority = value
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.starts_with('/'));
    Url::parse(value)
        .ok()
        .filter(|url| {
            has_authority && matches!(url.scheme(), "http" | "https") && url.host().is_some()
        })
        .ok_or_else(|| {
            ConfigError::new(
                variable,
                mask_url(value),
                "an http:// or https:// URL, e.g. http://localhost:4318",
            )
        })
}

/// A whole number of milliseconds greater than 0.
pub fn parse_millis(variable: &'static str, value: &str) -> Result<Duration, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| {
            ConfigError::new(
                variable,
                value,
                "a whole number of milliseconds greater than 0",
            )
        })
}

/// A whole number greater than 0.
pub fn parse_count(variable: &'static str, value: &str) -> Result<usize, ConfigError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ConfigError::new(variable, value, "a whole number greater than 0"))
}

/// The items of a comma-separated list, trimmed, empty ones left out.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `key=value,key2=value2` with percent-encoded values (the W3C Baggage form the OpenTelemetry
/// specification uses for `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS`). An
/// invalid entry is reported by its number and key, never its value: header values are API
/// keys.
pub fn parse_pairs(
    variable: &'static str,
    value: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    const EXPECTED: &str = "comma-separated key=value pairs, values percent-encoded";
    split_list(value)
        .enumerate()
        .map(|(index, pair)| {
            let entry = index + 1;
            let (key, val) = pair
                .split_once('=')
                .ok_or_else(|| ConfigError::in_entry(variable, entry, None, EXPECTED))?;
            let key = key.trim();
            if key.is_empty() {
                return Err(ConfigError::in_entry(variable, entry, None, EXPECTED));
            }
            let val = percent_decode(val.trim())
                .ok_or_else(|| ConfigError::in_entry(variable, entry, Some(key), EXPECTED))?;
            Ok((key.to_owned(), val))
        })
        .collect()
}

/// `value` percent-decoded; `None` when a `%` is not followed by two hex digits or the result
/// is not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let escapes_valid = value.match_indices('%').all(|(at, _)| {
        value
            .as_bytes()
            .get(at + 1..at + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_valid {
        return None;
    }
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {

    use std::collections::HashMap;

    use super::*;

    #[test]
    fn booleans_read_every_spelling_and_reject_the_rest() {
        for (value, expected) in [
            ("1", true),
            ("TRUE", true),
            (" yes ", true),
            ("On", true),
            ("0", false),
            ("false", false),
            ("No", false),
            ("off", false),
        ] {
            assert_eq!(parse_bool("X", value), Ok(expected), "{value}");
        }
        let err = parse_bool("OTEL_SDK_DISABLED", "yes please").unwrap_err();
        assert_eq!(err.variable(), "OTEL_SDK_DISABLED");
        assert!(err.to_string().contains("true or false"), "{err}");
    }

    #[test]
    fn urls_need_a_web_scheme_and_a_host_and_lose_credentials_in_errors() {
        let url = parse_url("X", " https://collector.example:4318/v1/traces ").unwrap();
        assert_eq!(url.host_str(), Some("collector.example"));
        assert_eq!(url.port(), Some(4318));
        for bad in ["collector:4317", "ftp://x", "http:///v1/traces", "http://"] {
            assert!(parse_url("X", bad).is_err(), "{bad}");
        }
        let err = parse_url("X", "ftp://user:sekr@collector:4317").unwrap_err();
        assert!(!err.to_string().contains("sekr"), "{err}");
        assert!(err.to_string().contains("collector:4317"), "{err}");
    }

    #[test]
    fn pairs_are_percent_decoded_and_reported_without_values() {
        assert_eq!(
            parse_pairs("X", "a=b%20c, d=%E2%9C%93,,").unwrap(),
            [
                ("a".to_owned(), "b c".to_owned()),
                ("d".to_owned(), "✓".to_owned())
            ]
        );
        for (value, position) in [
            ("=nameless", "entry 1 is"),
            ("x=1,api-key=sekr%4", "entry 2 (key \"api-key\")"),
            ("api-key=sekr%zz", "entry 1 (key \"api-key\")"),
            ("api-key=%FF", "entry 1 (key \"api-key\")"),
            ("k1=1,Bearer sekr", "entry 2 is"),
        ] {
            let message = parse_pairs("X", value).unwrap_err().to_string();
            assert!(message.contains(position), "{message}");
            assert!(!message.contains("sekr"), "{message}");
        }
    }

    #[test]
    fn the_lossy_form_keeps_defaults_for_rejected_variables_only() {
        let vars: HashMap<&str, &str> = [("A", "7"), ("B", "many"), ("C", "0")].into();
        let var = |name: &str| vars.get(name).map(|v| (*v).to_owned());
        let apply = |mut totals: Vec<usize>, var: Lookup<'_>| {
            for name in ["A", "B", "C"] {
                if let Some(v) = get(var, name) {
                    totals.push(parse_count(name, &v)?);
                }
            }
            Ok(totals)
        };
        assert_eq!(lossy(Vec::new(), &var, "test", apply), [7]);
        assert!(apply(Vec::new(), &var).is_err(), "the strict form fails");
    }

    #[test]
    fn signal_specific_names_come_first_and_blank_means_unset() {
        let vars: HashMap<&str, &str> = [("GENERIC", "g"), ("SPECIFIC", "  ")].into();
        let var = |name: &str| vars.get(name).map(|v| (*v).to_owned());
        assert_eq!(
            first(&var, &["SPECIFIC", "GENERIC"]),
            Some(("GENERIC", "g".to_owned()))
        );
        assert_eq!(get(&var, "SPECIFIC"), None);
    }
}
