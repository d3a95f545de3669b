//! Which names carry secrets, and how their values are shown.
//!
//! Values of the `Authorization`, `Proxy-Authorization`, `Cookie` and `Set-Cookie` headers,
//! and of any header, cookie, parameter or field whose name contains one of
//! [`SECRET_WORDS`], are replaced by [`MASK`] before any panel sees them.

/// What a masked value is shown as.
pub const MASK: &str = "********";

/// Parts of a name that mark its value as secret, matched case-insensitively.
pub const SECRET_WORDS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "session",
    "auth",
    "csrf",
    "credential",
    "signature",
    "cookie",
];

/// Whether a value named `name` must be masked.
pub fn is_secret_name(name: &str) -> bool {
    SECRET_WORDS
        .iter()
        .any(|word| contains_ignore_case(name, word))
}

/// `value`, or [`MASK`] when `name` looks secret.
pub fn mask_if_secret<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_name(name) { MASK } else { value }
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credentials_headers_and_secret_looking_names() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "access_token",
            "PASSWORD",
            "sessionid",
            "csrftoken",
        ] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
    }

    #[test]
    fn leaves_ordinary_names_alone() {
        for name in ["Accept", "user", "page", "Content-Type", "q"] {
            assert!(!is_secret_name(name), "{name} should not be secret");
        }
        assert_eq!(mask_if_secret("page", "2"), "2");
        assert_eq!(mask_if_secret("api_key", "abc"), MASK);
    }
}
