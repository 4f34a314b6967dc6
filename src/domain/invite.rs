//! Invites: how people join an organization. An invite is `pending` until accepted or until the
//! clock passes `expires_at`; its token is the invitee's one-time credential.

use serde::{Deserialize, Serialize};

use super::name::NameRule;
use super::project_user::ProjectRole;
use super::user::OrgRole;
use super::{Error, Result};

pub const DEFAULT_LIFETIME_SECONDS: i64 = 7 * 24 * 60 * 60;
/// Invite tokens: random, single use, stored as a digest.
pub const TOKEN_PREFIX: &str = "inv-";
const MAX_NAME_CHARS: usize = 256;

#[derive(Clone, Debug)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub role: OrgRole,
    /// JSON, as the contract's `projects`.
    pub projects: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteProject {
    pub id: String,
    pub role: ProjectRole,
}

impl Invite {
    pub fn status(&self, now: i64) -> &'static str {
        if self.accepted_at.is_some() {
            "accepted"
        } else if now >= self.expires_at {
            "expired"
        } else {
            "pending"
        }
    }

    pub fn projects(&self) -> Vec<InviteProject> {
        serde_json::from_str(&self.projects).unwrap_or_default()
    }

    pub fn check_can_delete(&self) -> Result<()> {
        if self.accepted_at.is_some() {
            return Err(Error::rule(format!(
                "Invite '{}' was already accepted and cannot be deleted.",
                self.id
            )));
        }
        Ok(())
    }

    /// Unknown and used tokens are both 404: a used token is no longer a credential.
    pub fn check_can_accept(&self, now: i64) -> Result<()> {
        match self.status(now) {
            "pending" => Ok(()),
            "expired" => Err(Error::Invalid {
                message: "This invite has expired; ask the organization for a new one.".into(),
                param: None,
                code: Some("invite_expired"),
            }),
            _ => Err(unknown_token()),
        }
    }
}

pub fn unknown_token() -> Error {
    Error::NotFound {
        message: "No such invite: the link is unknown or has already been used.".into(),
        param: Some("token"),
    }
}

/// The projects a new invite names: `None` (omitted) means the default project as a member,
/// an empty list means none. Roles are checked here; the projects themselves by the store.
pub fn requested_projects(
    projects: Option<Vec<(String, String)>>,
    default_project_id: &str,
) -> Result<Vec<InviteProject>> {
    let Some(projects) = projects else {
        return Ok(vec![InviteProject {
            id: default_project_id.to_owned(),
            role: ProjectRole::Member,
        }]);
    };
    let mut seen = Vec::with_capacity(projects.len());
    for (i, (id, role)) in projects.into_iter().enumerate() {
        let role = ProjectRole::parse(&role, &format!("projects[{i}].role"))?;
        if seen.iter().any(|p: &InviteProject| p.id == id) {
            return Err(Error::invalid(
                format!("Project '{id}' is named twice."),
                format!("projects[{i}].id"),
            ));
        }
        seen.push(InviteProject { id, role });
    }
    Ok(seen)
}

/// The invitee's name, as she gives it on accepting.
/// What accepting an invite needs from the request, for the audit log.
#[derive(Clone, Debug)]
pub struct Acceptance {
    pub name: String,
    pub ip_address: String,
    pub user_agent: Option<String>,
}

pub fn validate_name(name: &str) -> Result<String> {
    NameRule {
        called: "Your name",
        param: "name",
        min_chars: 1,
        max_chars: MAX_NAME_CHARS,
    }
    .check(name)
}

/// Where the invitee accepts: the page under Roster's public URL, its token in the path.
pub fn link(public_url: &str, token: &str) -> String {
    format!("{}/invite/{token}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(accepted_at: Option<i64>) -> Invite {
        Invite {
            id: "invite-1".into(),
            email: "a@b.co".into(),
            role: OrgRole::Reader,
            projects: "[]".into(),
            created_at: 0,
            expires_at: 100,
            accepted_at,
        }
    }

    #[test]
    fn an_invite_reads_back_its_projects_name_and_link() {
        let mut named = invite(None);
        named.projects = r#"[{"id": "proj_a", "role": "owner"}]"#.into();
        assert_eq!(
            named.projects(),
            [InviteProject {
                id: "proj_a".into(),
                role: ProjectRole::Owner
            }]
        );
        assert_eq!(validate_name(" Ada ").unwrap(), "Ada");
        assert!(validate_name("").is_err());
        assert_eq!(
            link("https://roster.example/", "inv-abc"),
            "https://roster.example/invite/inv-abc"
        );
    }

    #[test]
    fn an_invite_lasts_a_week_unless_configured() {
        // As the README and `--invite-lifetime`'s default promise.
        assert_eq!(DEFAULT_LIFETIME_SECONDS, 7 * 86_400);
    }

    #[test]
    fn status_follows_the_clock_and_acceptance() {
        assert_eq!(invite(None).status(99), "pending");
        assert_eq!(invite(None).status(100), "expired");
        assert_eq!(invite(Some(50)).status(1000), "accepted");
        assert!(matches!(
            invite(None).check_can_accept(100),
            Err(Error::Invalid {
                code: Some("invite_expired"),
                ..
            })
        ));
        assert!(matches!(
            invite(Some(1)).check_can_accept(2),
            Err(Error::NotFound { .. })
        ));
        assert!(invite(Some(1)).check_can_delete().is_err());
        assert!(invite(None).check_can_accept(99).is_ok());
    }

    #[test]
    fn omitted_projects_mean_the_default_project() {
        assert_eq!(
            requested_projects(None, "proj_d").unwrap(),
            vec![InviteProject {
                id: "proj_d".into(),
                role: ProjectRole::Member
            }]
        );
        assert!(
            requested_projects(Some(vec![]), "proj_d")
                .unwrap()
                .is_empty()
        );
        assert!(requested_projects(Some(vec![("p".into(), "admin".into())]), "proj_d").is_err());
        let named = |ids: &[&str]| {
            requested_projects(
                Some(
                    ids.iter()
                        .map(|id| (id.to_string(), "owner".into()))
                        .collect(),
                ),
                "proj_d",
            )
        };
        assert_eq!(named(&["proj_a", "proj_b"]).unwrap().len(), 2);
        assert!(
            named(&["proj_a", "proj_b", "proj_a"]).is_err(),
            "named twice"
        );
    }
}
