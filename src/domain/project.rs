//! Projects and their rules. Projects are created and archived, never deleted.

use super::{Error, Result};

const MAX_NAME_CHARS: usize = 256;

#[derive(Clone, Debug)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    pub external_key_id: Option<String>,
    pub residency: Option<String>,
    /// The organization's default project, which can be neither modified nor archived.
    pub default_project_id: String,
}

impl Project {
    pub fn is_default(&self) -> bool {
        self.id == self.default_project_id
    }

    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    pub fn status(&self) -> &'static str {
        if self.is_archived() {
            "archived"
        } else {
            "active"
        }
    }

    /// The contract's modify-project answers 400 for the default project, and archived projects
    /// "cannot be used or updated".
    pub fn check_can_modify(&self) -> Result<()> {
        if self.is_default() {
            return Err(Error::rule("The default project cannot be modified."));
        }
        self.check_active()
    }

    pub fn check_can_archive(&self) -> Result<()> {
        if self.is_default() {
            return Err(Error::rule("The default project cannot be archived."));
        }
        // Archiving again is a change to an archived project, refused in the same words.
        self.check_active()
    }

    /// Archived projects cannot be used: every project-scoped change checks this first.
    pub fn check_active(&self) -> Result<()> {
        if self.is_archived() {
            return Err(Error::Invalid {
                message: format!(
                    "Project '{}' is archived. You can only update an active project.",
                    self.id
                )
                .into(),
                param: None,
                code: Some("project_archived"),
            });
        }
        Ok(())
    }
}

pub fn validate_name(name: &str) -> Result<String> {
    super::name::NameRule {
        called: "The project name",
        param: "name",
        min_chars: 1,
        max_chars: MAX_NAME_CHARS,
    }
    .check(name)
}

/// A new project, validated.
#[derive(Clone, Debug)]
pub struct NewProject {
    pub name: String,
    pub external_key_id: Option<String>,
    pub residency: Option<String>,
}

/// A partial update: `None` leaves the field as it is.
#[derive(Clone, Debug, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub external_key_id: Option<String>,
}

/// The contract's `PublicProjectResidency` values.
pub const RESIDENCIES: &[&str] = &[
    "GLOBAL",
    "US_STORAGE_PROCESSING",
    "EU_STORAGE_PROCESSING",
    "JP_STORAGE",
    "KR_STORAGE",
    "CA_STORAGE",
    "SG_STORAGE",
    "IN_STORAGE",
    "AU_STORAGE",
    "GB_STORAGE",
    "AE_STORAGE",
    "AE_STORAGE_PROCESSING",
];

pub fn validate_residency(residency: &str) -> Result<String> {
    if RESIDENCIES.contains(&residency) {
        return Ok(residency.to_owned());
    }
    Err(Error::Invalid {
        message: format!(
            "Invalid value: '{residency}'. Supported values are: {}.",
            RESIDENCIES.join(", ")
        )
        .into(),
        param: Some("residency".into()),
        code: Some("invalid_value"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(id: &str, archived_at: Option<i64>) -> Project {
        Project {
            id: id.into(),
            name: "P".into(),
            created_at: 0,
            archived_at,
            external_key_id: None,
            residency: None,
            default_project_id: "proj_default".into(),
        }
    }

    #[track_caller]
    fn refusal(result: Result<()>) -> (String, Option<&'static str>) {
        match result {
            Err(Error::Invalid { message, code, .. }) => (message.into(), code),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn the_default_project_is_neither_modified_nor_archived() {
        let default = project("proj_default", None);
        assert!(default.is_default() && !project("proj_a", None).is_default());
        assert_eq!(
            refusal(default.check_can_modify()).0,
            "The default project cannot be modified."
        );
        assert_eq!(
            refusal(default.check_can_archive()).0,
            "The default project cannot be archived."
        );
        assert!(default.check_active().is_ok());
    }

    #[test]
    fn an_archived_project_is_refused_in_the_real_services_words() {
        let active = project("proj_a", None);
        assert_eq!(active.status(), "active");
        assert!(active.check_can_modify().is_ok() && active.check_can_archive().is_ok());
        let archived = project("proj_a", Some(5));
        assert_eq!(archived.status(), "archived");
        let words = (
            "Project 'proj_a' is archived. You can only update an active project.".to_owned(),
            Some("project_archived"),
        );
        assert_eq!(refusal(archived.check_active()), words);
        assert_eq!(refusal(archived.check_can_modify()), words);
        assert_eq!(refusal(archived.check_can_archive()), words);
    }

    #[test]
    fn names_and_residencies_are_checked() {
        assert_eq!(validate_name(" Gateway ").unwrap(), "Gateway");
        assert!(validate_name("").is_err());
        assert!(validate_name(&"p".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert_eq!(
            validate_residency("EU_STORAGE_PROCESSING").unwrap(),
            "EU_STORAGE_PROCESSING"
        );
        match validate_residency("MOON") {
            Err(Error::Invalid { param, code, .. }) => {
                assert_eq!(
                    (param.as_deref(), code),
                    (Some("residency"), Some("invalid_value"))
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
