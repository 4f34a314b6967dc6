//! API key secrets: random, shown once, stored as a SHA-256 digest, compared in constant time.
//! A fast hash is right here: the secrets are 256 random bits, so there is nothing to stretch.

use rand::RngExt;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const ADMIN_KEY_PREFIX: &str = "sk-admin-";
/// Project keys, as the real service writes them: a user's, and a service account's.
pub const USER_KEY_PREFIX: &str = "sk-proj-";
pub const SERVICE_ACCOUNT_KEY_PREFIX: &str = "sk-svcacct-";
const RANDOM_CHARS: usize = 48;

/// A new secret: `prefix` and 48 alphanumeric characters (285 bits).
pub fn generate(prefix: &str) -> String {
    let mut rng = rand::rng();
    let mut value = String::with_capacity(prefix.len() + RANDOM_CHARS);
    value.push_str(prefix);
    value.extend((0..RANDOM_CHARS).map(|_| char::from(rng.sample(Alphanumeric))));
    value
}

/// The digest stored in place of the secret, hex-encoded.
pub fn digest(secret: &str) -> String {
    use std::fmt::Write;
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(secret.as_bytes()) {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

pub fn digests_match(stored: &str, presented: &str) -> bool {
    stored.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// The form shown after creation, like the real service's `sk-admin...abcd`.
pub fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(8).collect();
    let tail: String = {
        let chars: Vec<char> = secret.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    format!("{head}...{tail}")
}

/// A presented key as a refusal shows it, in the real service's form: its first 8 and last 4
/// characters with a star for each one between (`sk-proj-****...****abcd`). A key too short to
/// hide most of, or not ASCII, shows as `***`; the stars stop at 256, past any real key.
pub fn masked(presented: &str) -> String {
    const SHOWN: usize = 8 + 4;
    if presented.len() < 16 || !presented.is_ascii() {
        return "***".to_owned();
    }
    let hidden = (presented.len() - SHOWN).min(256);
    format!(
        "{}{}{}",
        &presented[..8],
        "*".repeat(hidden),
        &presented[presented.len() - 4..]
    )
}

/// Whether a string can be an admin key at all; anything else is refused before a lookup.
pub fn looks_like_admin_key(value: &str) -> bool {
    value.len() >= ADMIN_KEY_PREFIX.len() + 16
        && value.len() <= 256
        && value.starts_with(ADMIN_KEY_PREFIX)
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `path` fit for a log line: every segment that is a secret (an invite token, or a key someone
/// put in a URL) shown as its prefix and `***`, so that reading the log grants nothing.
pub fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    const SECRET_PREFIXES: [&str; 2] = [crate::domain::invite::TOKEN_PREFIX, "sk-"];
    let is_secret = |segment: &str| SECRET_PREFIXES.iter().any(|p| segment.starts_with(p));
    if !path.split('/').any(is_secret) {
        return path.into();
    }
    path.split('/')
        .map(
            |segment| match SECRET_PREFIXES.iter().find(|p| segment.starts_with(*p)) {
                Some(prefix) => format!("{prefix}***"),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_paths_are_redacted_for_the_log() {
        assert_eq!(redact_path("/invite/inv-AbC123xyz"), "/invite/inv-***");
        assert_eq!(
            redact_path("/v1/invites/inv-AbC123xyz/accept"),
            "/v1/invites/inv-***/accept"
        );
        assert_eq!(redact_path("/v1/sk-admin-oops/x"), "/v1/sk-***/x");
        assert_eq!(
            redact_path("/v1/organization/invites/invite-01abc"),
            "/v1/organization/invites/invite-01abc"
        );
    }

    #[test]
    fn generated_admin_keys_are_well_formed_and_distinct() {
        let a = generate(ADMIN_KEY_PREFIX);
        let b = generate(ADMIN_KEY_PREFIX);
        assert_ne!(a, b);
        assert!(looks_like_admin_key(&a));
        assert_eq!(redact(&a), format!("sk-admin...{}", &a[a.len() - 4..]));
    }

    #[test]
    fn a_refusal_masks_all_but_the_ends_of_a_key() {
        assert_eq!(
            masked("sk-proj-abcdefghijklwxyz"),
            "sk-proj-************wxyz"
        );
        assert_eq!(masked("sk-admin-xyz1234"), "sk-admin****1234");
        assert_eq!(
            masked("sk-admin-xyz123"),
            "***",
            "too short to hide most of"
        );
        assert_eq!(masked("sk-proj-ünïcødé-abcdef"), "***");
        let junk = "x".repeat(100_000);
        assert_eq!(masked(&junk).len(), 8 + 256 + 4);
    }

    #[test]
    fn digest_is_stable_hex_and_compared_exactly() {
        let d = digest("sk-admin-abc");
        assert_eq!(d.len(), 64);
        assert_eq!(d, digest("sk-admin-abc"));
        assert!(digests_match(&d, &digest("sk-admin-abc")));
        assert!(!digests_match(&d, &digest("sk-admin-abd")));
    }

    #[test]
    fn malformed_keys_are_recognised() {
        assert!(!looks_like_admin_key("sk-proj-abcdefghijklmnopqrstuvwxyz"));
        assert!(!looks_like_admin_key("sk-admin-short"));
        assert!(!looks_like_admin_key(
            "sk-admin-abcdefghijklmnop qrstuvwxyz"
        ));
    }
}
