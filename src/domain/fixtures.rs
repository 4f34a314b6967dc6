//! The emulator's fixtures: a known world (organizations, users, projects, memberships, groups,
//! roles, service accounts and keys, with fixed ids and key values) that `--fixtures FILE` loads
//! at start and every reset loads again. The file is YAML or JSON; its shape is checked here,
//! its references (a member's email, a group's project) as it is loaded, and every refusal
//! names the entry, such as `organizations[0].projects[1].members[0].user`.

use serde::Deserialize;

use super::project_key::ServiceAccountRole;
use super::project_user::ProjectRole;
use super::user::OrgRole;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// The first is the organization Roster founded (its id, name and owner stay as founded);
    /// each further one is founded with its `owner`.
    #[serde(default)]
    pub organizations: Vec<OrganizationFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationFixture {
    /// Further organizations only: their id (`org-...`), or a new one.
    pub id: Option<String>,
    /// Further organizations only.
    pub name: Option<String>,
    /// Further organizations only: who owns it.
    pub owner: Option<UserFixture>,
    #[serde(default)]
    pub users: Vec<UserFixture>,
    #[serde(default)]
    pub admin_keys: Vec<AdminKeyFixture>,
    #[serde(default)]
    pub projects: Vec<ProjectFixture>,
    #[serde(default)]
    pub groups: Vec<GroupFixture>,
    /// Custom organization roles.
    #[serde(default)]
    pub roles: Vec<RoleFixture>,
}

/// A user of the organization, as if her invite had been accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFixture {
    pub id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "reader")]
    pub role: OrgRole,
}

fn reader() -> OrgRole {
    OrgRole::Reader
}

/// An admin key with a fixed value, owned by an owner of the organization (by email).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKeyFixture {
    pub value: String,
    pub name: Option<String>,
    pub owner: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFixture {
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub members: Vec<MemberFixture>,
    #[serde(default)]
    pub service_accounts: Vec<ServiceAccountFixture>,
    /// Keys of members, with fixed values.
    #[serde(default)]
    pub api_keys: Vec<MemberKeyFixture>,
    /// Custom roles of the project.
    #[serde(default)]
    pub roles: Vec<RoleFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberFixture {
    /// The user's email.
    pub user: String,
    pub role: ProjectRole,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountFixture {
    pub id: Option<String>,
    pub name: String,
    #[serde(default = "member")]
    pub role: ServiceAccountRole,
    /// Its key's value (`sk-svcacct-...`), if it has one.
    pub key: Option<String>,
}

fn member() -> ServiceAccountRole {
    ServiceAccountRole::Member
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberKeyFixture {
    /// The member's email.
    pub user: String,
    /// `sk-proj-...`
    pub value: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFixture {
    pub id: Option<String>,
    pub name: String,
    /// Its users' emails.
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub projects: Vec<GroupAccessFixture>,
}

/// A group's access to a project, with a project role (a predefined role's id such as
/// `role-api-project-member`, or a custom role's).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAccessFixture {
    pub project: String,
    pub role: String,
}

/// A custom role, and who holds it: users by email, groups by id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleFixture {
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

impl Fixtures {
    /// Reads a fixtures file, YAML or JSON (JSON is YAML); an error names the entry and its line.
    pub fn parse(text: &str) -> Result<Fixtures, String> {
        serde_norway::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_entry_is_named() {
        let wrong = "organizations:\n  - projects:\n      - name: Web\n        members:\n          - {user: a@example.com, role: boss}\n";
        let error = Fixtures::parse(wrong).unwrap_err();
        assert!(
            error.starts_with(
                "organizations[0].projects[0].members[0].role: unknown variant `boss`"
            ),
            "{error}"
        );
        let unknown = Fixtures::parse("organizations: [{colour: red}]").unwrap_err();
        assert!(unknown.starts_with("organizations[0]"), "{unknown}");
        let json =
            r#"{"organizations": [{"users": [{"email": "a@example.com", "role": "owner"}]}]}"#;
        let fixtures = Fixtures::parse(json).unwrap();
        assert_eq!(fixtures.organizations[0].users[0].role, OrgRole::Owner);
    }
}
