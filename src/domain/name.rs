//! Names people give things (projects, groups, roles, keys, service accounts, users): one rule
//! for all of them, each with its own bounds and words.

use super::{Error, Result};

/// How one kind of name is bounded, and how errors speak of it.
pub struct NameRule {
    /// How the message calls it: "The project name", "A role's name".
    pub called: &'static str,
    pub param: &'static str,
    /// 0 where a name may be left empty.
    pub min_chars: usize,
    pub max_chars: usize,
}

impl NameRule {
    /// The name trimmed, if it is within bounds and holds no control character (a line break,
    /// a tab, NUL): names are shown on one line, in lists, logs and emails.
    pub fn check(&self, raw: &str) -> Result<String> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars < self.min_chars || chars > self.max_chars {
            let bounds = if self.min_chars == 0 {
                format!("at most {}", self.max_chars)
            } else {
                format!("between {} and {}", self.min_chars, self.max_chars)
            };
            return Err(Error::invalid(
                format!("{} must be {bounds} characters.", self.called),
                self.param,
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid(
                format!(
                    "{} must not contain control characters (such as line breaks, tabs or NUL).",
                    self.called
                ),
                self.param,
            ));
        }
        Ok(name.to_owned())
    }
}

/// `text` as it compares where case is ignored (email addresses, SCIM's userName and
/// displayName): Unicode's lowercase, worked out here and stored beside what it folds, never
/// left to the database's `lower()`, which in SQLite knows only ASCII and in PostgreSQL follows
/// the database's locale.
pub fn folded(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: NameRule = NameRule {
        called: "The thing's name",
        param: "name",
        min_chars: 1,
        max_chars: 5,
    };

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(RULE.check("  ábc ").unwrap(), "ábc");
        assert_eq!(RULE.check("ééééé").unwrap(), "ééééé");
        for bad in ["", "   ", "abcdef"] {
            let error = RULE.check(bad).unwrap_err().to_string();
            assert!(error.contains("between 1 and 5"), "{bad:?}: {error}");
        }
        let optional = NameRule {
            min_chars: 0,
            ..RULE
        };
        assert_eq!(optional.check(" ").unwrap(), "");
        assert!(
            optional
                .check("abcdef")
                .unwrap_err()
                .to_string()
                .contains("at most 5")
        );
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in ["a\0b", "a\nb", "a\tb", "a\u{7f}b", "a\u{85}b"] {
            let error = RULE.check(bad).unwrap_err().to_string();
            assert!(error.contains("control characters"), "{bad:?}: {error}");
        }
    }
}
