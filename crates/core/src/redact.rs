//! Which names carry secrets, and how their values are shown.
//!
//! Every panel and exporter sees values after they went through this module, so a secret is
//! masked once, where it enters the toolbar (the request and response heads, the fields of
//! recorded spans and events, template contexts), and travels masked from there: to the
//! stored record, the JSON API, the panels and the OpenTelemetry export.
//!
//! - **By name.** A header, cookie, parameter, field or JSON key is secret when one of the
//!   parts of its name — split on `_`, `-`, `.`, spaces and camelCase — is one of
//!   [`SECRET_WORDS`], or ends with one of [`SECRET_ENDINGS`]: `Authorization`, `X-Auth`,
//!   `access_token`, `AuthToken`, `csrftoken` and `JSESSIONID` are secret; `author`,
//!   `keyboard` and `passenger` are not. A name whose last part says it describes the secret
//!   rather than holding it ([`DESCRIPTIVE_ENDINGS`]: `session_count`, `token_type`) is not
//!   secret. Applications add names with [`add_secret_names`]. Such a value is shown as
//!   [`MASK`].
//! - **By shape.** A JSON Web Token (`eyJ….….…`) is masked wherever it appears in a value.
//! - **In URLs.** Wherever a URL is kept — a whole value or inside a text — its userinfo
//!   (`user:password@`) and the values of secret-named query and fragment parameters (names
//!   compared after percent-decoding) become [`URL_MASK`], as the OpenTelemetry semantic
//!   conventions ask for `url.full` and `url.query`.

use std::borrow::Cow;
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use url::Url;
use url::form_urlencoded;

/// What a masked value is shown as.
pub const MASK: &str = "********";

/// What a masked part of a URL (userinfo, a query parameter's value) is shown as, as the
/// OpenTelemetry semantic conventions write it.
pub const URL_MASK: &str = "REDACTED";

/// Name parts that mark a value as secret, in lower case; compared with whole parts of a
/// name.
pub const SECRET_WORDS: &[&str] = &[
    "apikey",
    "auth",
    "authn",
    "authorization",
    "bearer",
    "cookie",
    "cookies",
    "credential",
    "credentials",
    "creds",
    "csrf",
    "hmac",
    "jwt",
    "key",
    "otp",
    "pass",
    "passcode",
    "passphrase",
    "passwd",
    "password",
    "pwd",
    "secret",
    "secrets",
    "session",
    "sessid",
    "sid",
    "sig",
    "signature",
    "token",
    "tokens",
    "totp",
    "xsrf",
];

/// Endings that make a name part secret even when written as one word (`csrftoken`,
/// `clientsecret`, `jsessionid`).
pub const SECRET_ENDINGS: &[&str] = &[
    "apikey",
    "passwd",
    "password",
    "secret",
    "sessid",
    "sessionid",
    "token",
];

/// Last name parts that describe a secret instead of holding it (`session_count`,
/// `token_type`, `password_min_length`): such names are not secret.
pub const DESCRIPTIVE_ENDINGS: &[&str] = &[
    "age", "count", "enabled", "expires", "expiry", "format", "kind", "len", "length", "max",
    "min", "name", "num", "required", "size", "timeout", "total", "ttl", "type",
];

/// Names added by the application, split into lower-case parts.
static ADDED: RwLock<Vec<Vec<String>>> = RwLock::new(Vec::new());
/// Changes whenever names are added, so that remembered answers can be dropped.
static GENERATION: AtomicUsize = AtomicUsize::new(0);

/// Adds names whose values are secret, for the whole process (values are masked where they are
/// recorded, before any toolbar sees them). A name matches where its parts appear together in
/// another name: `card_number` masks `cardNumber` and `credit-card-number`.
pub fn add_secret_names<I, S>(names: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let parsed: Vec<Vec<String>> = names
        .into_iter()
        .map(|name| {
            name_parts(name.as_ref())
                .into_iter()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|parts| !parts.is_empty())
        .collect();
    if parsed.is_empty() {
        return;
    }
    let mut added = match ADDED.write() {
        Ok(added) => added,
        Err(poisoned) => poisoned.into_inner(),
    };
    for parts in parsed {
        if !added.contains(&parts) {
            added.push(parts);
        }
    }
    GENERATION.fetch_add(1, Ordering::Release);
}

/// A number that changes whenever [`add_secret_names`] adds names.
pub(crate) fn names_generation() -> usize {
    GENERATION.load(Ordering::Acquire)
}

/// Recent answers of [`is_secret_name`], with the generation of the secret names they hold for.
type RecentNames = (usize, Vec<(Box<str>, bool)>);

thread_local! {
    /// Recent answers of [`is_secret_name`] for short names, by name: the same keys come back
    /// in every row of a list and every request. Kept for one generation of the secret names.
    static RECENT: std::cell::RefCell<RecentNames> =
        const { std::cell::RefCell::new((0, Vec::new())) };
}

/// Names remembered per thread by [`is_secret_name`], and the longest one.
const RECENT_NAMES: usize = 32;
const RECENT_NAME_LEN: usize = 32;

/// Whether a value named `name` must be masked.
pub fn is_secret_name(name: &str) -> bool {
    if name.len() > RECENT_NAME_LEN {
        return name_is_secret(name);
    }
    let generation = names_generation();
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return name_is_secret(name);
        };
        let (cached_generation, names) = &mut *recent;
        if *cached_generation != generation {
            *cached_generation = generation;
            names.clear();
        }
        if let Some((_, secret)) = names.iter().find(|(known, _)| **known == *name) {
            return *secret;
        }
        let secret = name_is_secret(name);
        if names.len() == RECENT_NAMES {
            names.remove(0);
        }
        names.push((name.into(), secret));
        secret
    })
}

fn name_is_secret(name: &str) -> bool {
    let parts = name_parts(name);
    let Some(last) = parts.last() else {
        return false;
    };
    if parts.len() > 1 && is_one_of(last, DESCRIPTIVE_ENDINGS) {
        return false;
    }
    let builtin = parts.iter().any(|part| {
        is_one_of(part, SECRET_WORDS)
            || SECRET_ENDINGS.iter().any(|ending| {
                part.len() >= ending.len()
                    && part.as_bytes()[part.len() - ending.len()..]
                        .eq_ignore_ascii_case(ending.as_bytes())
            })
    });
    builtin || (names_generation() > 0 && is_added_name(&parts))
}

fn is_one_of(part: &str, words: &[&str]) -> bool {
    words.iter().any(|word| part.eq_ignore_ascii_case(word))
}

fn is_added_name(parts: &[&str]) -> bool {
    let added = match ADDED.read() {
        Ok(added) => added,
        Err(poisoned) => poisoned.into_inner(),
    };
    added.iter().any(|wanted| {
        parts.windows(wanted.len()).any(|window| {
            window
                .iter()
                .zip(wanted)
                .all(|(part, word)| part.eq_ignore_ascii_case(word))
        })
    })
}

/// The parts of a name: split on anything but letters and digits, and where a lower-case
/// letter or digit is followed by an upper-case one (`authToken`) or an upper-case run ends in
/// a word (`APIKey` → `API`, `Key`).
fn name_parts(name: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut previous: Option<char> = None;
    let mut chars = name.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !c.is_alphanumeric() {
            if let Some(s) = start.take() {
                parts.push(&name[s..i]);
            }
            previous = None;
            continue;
        }
        if let (Some(s), Some(p)) = (start, previous)
            && c.is_uppercase()
        {
            let next_is_lower = chars.peek().is_some_and(|(_, n)| n.is_lowercase());
            if p.is_lowercase() || p.is_ascii_digit() || (p.is_uppercase() && next_is_lower) {
                parts.push(&name[s..i]);
                start = Some(i);
            }
        }
        start.get_or_insert(i);
        previous = Some(c);
    }
    if let Some(s) = start {
        parts.push(&name[s..]);
    }
    parts
}

/// `value`, or [`MASK`] when `name` looks secret.
pub fn mask_if_secret<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_name(name) { MASK } else { value }
}

/// `value` as it may be shown: [`MASK`] when `name` looks secret, else [`mask_text`] of it;
/// borrowed when nothing was masked.
pub fn mask_value<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret_name(name) {
        Cow::Owned(MASK.to_owned())
    } else {
        mask_text(value)
    }
}

/// Whether `value` has the shape of a JSON Web Token: `eyJ` (a JSON object, base64url-encoded)
/// then two to four more base64url segments separated by dots.
pub fn is_jwt(value: &str) -> bool {
    if !value.starts_with("eyJ") {
        return false;
    }
    let segments: Vec<&str> = value.split('.').collect();
    (3..=5).contains(&segments.len())
        && segments[0].len() >= 8
        && !segments[1].is_empty()
        && segments.iter().all(|segment| {
            segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `text` with JSON Web Tokens replaced by [`MASK`], and the URLs in it masked by
/// [`mask_url`]; borrowed when nothing was masked.
///
/// URLs are found as absolute URLs (`scheme://…`) or references with a query (`/path?a=b`),
/// delimited by white space, quotes and angle brackets (`Link: <…>; rel=next`).
pub fn mask_text(text: &str) -> Cow<'_, str> {
    if is_jwt(text) {
        return Cow::Owned(MASK.to_owned());
    }
    let bytes = text.as_bytes();
    // Built only once something is masked: most texts pass through untouched.
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut position = 0;
    // Only the words around a `?`, a `://` or an `eyJ` can hold a URL or a token.
    while let Some(found) = bytes[position..].iter().enumerate().position(|(i, &b)| {
        let rest = &bytes[position + i + 1..];
        b == b'?'
            || (b == b':' && rest.starts_with(b"//"))
            || (b == b'e' && rest.starts_with(b"yJ"))
    }) {
        let at = position + found;
        let word_start = bytes[..at]
            .iter()
            .rposition(|&b| is_delimiter(b))
            .map_or(0, |i| i + 1)
            .max(position);
        let word_end = bytes[at..]
            .iter()
            .position(|&b| is_delimiter(b))
            .map_or(text.len(), |end| at + end);
        if let Cow::Owned(masked) = mask_word(&text[word_start..word_end]) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..word_start]);
            out.push_str(&masked);
            copied = word_end;
        }
        position = word_end;
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// Bytes around the words of a text that may hold a URL or a token: ASCII white space,
/// quotes, angle brackets and commas.
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`' | b',')
}

/// One word of a text: a token, a URL (possibly after a prefix such as `url=`), or neither.
fn mask_word(word: &str) -> Cow<'_, str> {
    // Prose punctuation after a URL or token is not part of it.
    let body = word.trim_end_matches(['.', ';', ':', '!', ')', ']', '}']);
    let tail = &word[body.len()..];
    let token_start = body
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map_or(0, |i| i + 1);
    if is_jwt(&body[token_start..]) {
        return Cow::Owned(format!("{}{MASK}{tail}", &body[..token_start]));
    }
    let url_start = match body.as_bytes().windows(3).position(|w| w == b"://") {
        Some(colon) => body[..colon]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1),
        None if body.find('?').is_some_and(|q| body[q..].contains('=')) => 0,
        None => return Cow::Borrowed(word),
    };
    match mask_url(&body[url_start..]) {
        Cow::Borrowed(_) => Cow::Borrowed(word),
        Cow::Owned(masked) => Cow::Owned(format!("{}{masked}{tail}", &body[..url_start])),
    }
}

/// `url` with its userinfo and the values of secret-named query and fragment parameters
/// replaced by [`URL_MASK`]; borrowed, as written, when there was nothing to mask. Relative
/// references (`/path?query`) have their query and fragment masked. In a value that does not
/// parse as a URL (`postgres://u:p@db:notaport/`), everything before the `@` of the authority
/// becomes one [`URL_MASK`].
pub fn mask_url(url: &str) -> Cow<'_, str> {
    match Url::parse(url) {
        Ok(parsed) => mask_parsed(url, parsed),
        Err(url::ParseError::RelativeUrlWithoutBase) => mask_reference(url),
        Err(_) => mask_unparsed(url),
    }
}

/// A value with a scheme that the URL parser refused: its userinfo and query masked as far as
/// they can be found.
fn mask_unparsed(url: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return mask_reference(url);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let Some((_, host)) = authority.rsplit_once('@') else {
        return mask_reference(url);
    };
    Cow::Owned(format!(
        "{scheme}://{URL_MASK}@{host}{}",
        mask_reference(after)
    ))
}

fn mask_parsed(original: &str, mut url: Url) -> Cow<'_, str> {
    let mut changed = false;
    if !url.username().is_empty() {
        changed |= url.set_username(URL_MASK).is_ok();
    }
    if url.password().is_some() {
        changed |= url.set_password(Some(URL_MASK)).is_ok();
    }
    if let Some(Cow::Owned(query)) = url.query().map(mask_query) {
        url.set_query(Some(&query));
        changed = true;
    }
    if let Some(Cow::Owned(fragment)) = url.fragment().map(mask_query) {
        url.set_fragment(Some(&fragment));
        changed = true;
    }
    if changed {
        Cow::Owned(url.into())
    } else {
        Cow::Borrowed(original)
    }
}

/// A relative reference: its query and fragment masked, the rest as written.
fn mask_reference(reference: &str) -> Cow<'_, str> {
    let (before_fragment, fragment) = match reference.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (reference, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    let query = query.map(mask_query);
    let fragment = fragment.map(mask_query);
    let changed = [&query, &fragment]
        .into_iter()
        .any(|part| matches!(part, Some(Cow::Owned(_))));
    if !changed {
        return Cow::Borrowed(reference);
    }
    let mut out = path.to_owned();
    if let Some(query) = query {
        out.push('?');
        out.push_str(&query);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(&fragment);
    }
    Cow::Owned(out)
}

/// A query string (without `?`) with the values of secret-named parameters — names compared
/// after percent-decoding — and JWT-shaped values replaced by [`URL_MASK`]; URLs carried in
/// values are masked in turn. Other parameters stay as written.
pub fn mask_query(query: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut changed = false;
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let masked = mask_pair(pair);
        changed |= matches!(masked, Cow::Owned(_));
        out.push_str(&masked);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(query)
    }
}

fn mask_pair(pair: &str) -> Cow<'_, str> {
    let Some((raw_name, raw_value)) = pair.split_once('=') else {
        return Cow::Borrowed(pair);
    };
    if raw_value.is_empty() {
        return Cow::Borrowed(pair);
    }
    let Some((name, value)) = form_urlencoded::parse(pair.as_bytes()).next() else {
        return Cow::Borrowed(pair);
    };
    if is_secret_name(&name) || is_jwt(&value) {
        return Cow::Owned(format!("{raw_name}={URL_MASK}"));
    }
    match mask_text(&value) {
        Cow::Borrowed(_) => Cow::Borrowed(pair),
        Cow::Owned(masked) => {
            let encoded: String = form_urlencoded::byte_serialize(masked.as_bytes()).collect();
            Cow::Owned(format!("{raw_name}={encoded}"))
        }
    }
}

/// Masks a JSON value in place: values under secret-looking keys become [`MASK`], at any
/// depth, and strings are masked by [`mask_text`].
pub fn mask_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret_name(key) {
                    *inner = Value::String(MASK.to_owned());
                } else {
                    mask_json(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::String(text) => {
            if let Cow::Owned(masked) = mask_text(text) {
                *text = masked;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

    #[test]
    fn secret_names_are_masked_by_whole_parts_and_endings() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "x-auth",
            "auth_token",
            "AuthToken",
            "authToken",
            "APIKey",
            "apikey",
            "api-key",
            "access_token",
            "refresh_token",
            "client_secret",
            "clientSecret",
            "private_key",
            "PASSWORD",
            "pwd",
            "passwd",
            "jwt",
            "sig",
            "signature",
            "X-Amz-Signature",
            "AWSAccessKeyId",
            "sessionid",
            "session",
            "JSESSIONID",
            "PHPSESSID",
            "connect.sid",
            "ASP.NET_SessionId",
            "csrftoken",
            "X-CSRFToken",
            "_csrf",
            "XSRF-TOKEN",
            "otp",
            "user.password",
        ] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
    }

    #[test]
    fn ordinary_names_stay_visible() {
        for name in [
            "Accept",
            "user",
            "page",
            "Content-Type",
            "q",
            "author",
            "Author",
            "authors",
            "authority",
            "keyboard",
            "monkey",
            "passenger",
            "bypass",
            "design",
            "signal",
            "session_count",
            "sessionCount",
            "token_type",
            "password_min_length",
            "WWW-Authenticate",
            "",
            "_",
        ] {
            assert!(!is_secret_name(name), "{name} should not be secret");
        }
        assert_eq!(mask_if_secret("page", "2"), "2");
        assert_eq!(mask_if_secret("api_key", "abc"), MASK);
    }

    #[test]
    fn names_split_on_separators_and_camel_case() {
        for (name, parts) in [
            ("access_token", &["access", "token"][..]),
            ("X-Auth-Token", &["x", "auth", "token"]),
            ("AuthToken", &["auth", "token"]),
            ("APIKey", &["api", "key"]),
            ("AWSAccessKeyId", &["aws", "access", "key", "id"]),
            ("user.password", &["user", "password"]),
            ("oauth2Token", &["oauth2", "token"]),
            ("", &[]),
        ] {
            let lower: Vec<String> = name_parts(name).iter().map(|p| p.to_lowercase()).collect();
            assert_eq!(lower, parts, "{name}");
        }
    }

    #[test]
    fn added_names_match_as_runs_of_parts() {
        add_secret_names(["card_number", " "]);
        for name in ["card_number", "cardNumber", "credit-card-number"] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
        for name in ["card", "number", "card_holder"] {
            assert!(!is_secret_name(name), "{name} should not be secret");
        }
    }

    #[test]
    fn jwts_are_told_by_shape() {
        for value in [
            JWT,
            "eyJhbGciOiJub25lIn0.eyJhIjoxfQ.",
            "eyJhbGciOi.eyJ.a.b.c",
        ] {
            assert!(is_jwt(value), "{value}");
        }
        for value in [
            "eyJhbGciOiJIUzI1NiJ9",
            "hello.world.again",
            "eyJ.x.y",
            "eyJhbGciOi..x",
        ] {
            assert!(!is_jwt(value), "{value}");
        }
    }

    #[test]
    fn urls_lose_userinfo_and_secret_query_values() {
        for (url, masked) in [
            (
                "http://user:secret@127.0.0.1:9/x?api_key=k1&page=2",
                "http://REDACTED:REDACTED@127.0.0.1:9/x?api_key=REDACTED&page=2",
            ),
            (
                "https://token@github.com/org/repo.git",
                "https://REDACTED@github.com/org/repo.git",
            ),
            (
                "postgres://admin:hunter2@db:5432/app",
                "postgres://REDACTED:REDACTED@db:5432/app",
            ),
            ("/cb?%70assword=p&x=1", "/cb?%70assword=REDACTED&x=1"),
            ("/done?sig=abc", "/done?sig=REDACTED"),
            (
                "https://app.test/cb#access_token=t1&token_type=bearer",
                "https://app.test/cb#access_token=REDACTED&token_type=bearer",
            ),
            (
                "/login?next=http%3A%2F%2Fu%3Ap%40h%2F",
                "/login?next=http%3A%2F%2FREDACTED%3AREDACTED%40h%2F",
            ),
            (
                "/x?data=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
                "/x?data=REDACTED",
            ),
            (
                "http://u:p@exa mple.com/?pwd=1",
                "http://REDACTED@exa mple.com/?pwd=REDACTED",
            ),
            (
                "redis://u:p@cache:notaport",
                "redis://REDACTED@cache:notaport",
            ),
        ] {
            assert_eq!(mask_url(url), masked, "{url}");
        }
    }

    #[test]
    fn urls_without_secrets_are_kept_as_written() {
        for url in [
            "http://Example.COM/a b?page=2",
            "/users?page=2&q=author",
            "/plain/path",
            "http://127.0.0.1:9/api/users",
            "?",
            "/x?flag&=v&k=",
        ] {
            assert!(
                matches!(mask_url(url), Cow::Borrowed(u) if u == url),
                "{url}"
            );
        }
    }

    #[test]
    fn query_strings_compare_names_after_decoding() {
        for (query, masked) in [
            (
                "user=ada&api_key=k&password=p",
                "user=ada&api_key=REDACTED&password=REDACTED",
            ),
            ("%70assword=p", "%70assword=REDACTED"),
            ("q=pass+word&pass%77d=q", "q=pass+word&pass%77d=REDACTED"),
            ("author=ada&keyboard=qwerty", "author=ada&keyboard=qwerty"),
        ] {
            assert_eq!(mask_query(query), masked, "{query}");
        }
    }

    #[test]
    fn texts_have_urls_and_tokens_masked() {
        for (text, masked) in [
            (
                "connecting to postgres://admin:hunter2@db/app now",
                "connecting to postgres://REDACTED:REDACTED@db/app now",
            ),
            (
                "</next?sig=s1>; rel=\"next\", <http://u:p@h/>; rel=prev",
                "</next?sig=REDACTED>; rel=\"next\", <http://REDACTED:REDACTED@h/>; rel=prev",
            ),
            (
                "0; url=/next?access_token=t",
                "0; url=/next?access_token=REDACTED",
            ),
            (
                "see http://h/cb?token=t.",
                "see http://h/cb?token=REDACTED.",
            ),
            (
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
                "Bearer ********",
            ),
            (
                "jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln;",
                "jwt=********;",
            ),
            (JWT, MASK),
        ] {
            assert_eq!(mask_text(text), masked, "{text}");
        }
        for text in [
            "what? nothing here",
            "plain words",
            "a=b&c=d",
            "https://example.com/",
        ] {
            assert!(
                matches!(mask_text(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn values_are_masked_by_name_or_content() {
        assert_eq!(mask_value("Authorization", "Basic abc"), MASK);
        assert_eq!(mask_value("X-Client-Data", JWT), MASK);
        assert_eq!(
            mask_value("Referer", "http://h/?access_token=t"),
            "http://h/?access_token=REDACTED"
        );
        assert_eq!(mask_value("author", "Ada"), "Ada");
    }

    #[test]
    fn json_is_masked_by_key_and_content_at_any_depth() {
        let mut value = serde_json::json!({
            "author": "Ada",
            "user": {"password": "p", "profile": JWT, "links": ["http://u:p@h/"]},
            "api_token": {"nested": 1},
        });
        mask_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "author": "Ada",
                "user": {"password": MASK, "profile": MASK, "links": ["http://REDACTED:REDACTED@h/"]},
                "api_token": MASK,
            })
        );
    }
}
