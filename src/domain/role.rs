//! Roles: the permission catalogue, the predefined roles of every organization and project, the
//! rules for custom roles, and effective access (the union of what a principal holds).

use std::collections::{BTreeMap, BTreeSet};

use super::audit::Event;
use super::ids::{GroupId, ProjectId, UserId};
use super::{Error, Result};

/// Where a role applies: the whole organization, or one project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Organization,
    Project,
}

impl Scope {
    /// The contract's `resource_type`.
    pub fn resource_type(self) -> &'static str {
        match self {
            Scope::Organization => "api.organization",
            Scope::Project => "api.project",
        }
    }

    pub fn from_resource_type(resource_type: &str) -> Scope {
        if resource_type == "api.project" {
            Scope::Project
        } else {
            Scope::Organization
        }
    }
}

/// One permission Roster knows, with the scopes a role holding it may have.
pub struct Permission {
    pub name: &'static str,
    pub description: &'static str,
    pub in_organization: bool,
    pub in_project: bool,
}

const fn permission(
    name: &'static str,
    description: &'static str,
    in_organization: bool,
    in_project: bool,
) -> Permission {
    Permission {
        name,
        description,
        in_organization,
        in_project,
    }
}

/// The permission catalogue: the real service's names. A permission held at the organization
/// applies in every project too.
pub const PERMISSIONS: &[Permission] = &[
    permission(
        "api.organization.read",
        "Read the organization, its users and invites",
        true,
        false,
    ),
    permission(
        "api.organization.write",
        "Change the organization, invite and remove users",
        true,
        false,
    ),
    permission(
        "api.management.read",
        "Read admin resources: projects, admin API keys, service accounts",
        true,
        false,
    ),
    permission(
        "api.management.write",
        "Create and change admin resources",
        true,
        false,
    ),
    permission(
        "api.groups.read",
        "Read groups and their members",
        true,
        false,
    ),
    permission(
        "api.groups.write",
        "Create, change and delete groups and their members",
        true,
        false,
    ),
    permission(
        "api.roles.read",
        "Read roles and role assignments",
        true,
        true,
    ),
    permission(
        "api.roles.write",
        "Create, change, delete and assign roles",
        true,
        true,
    ),
    permission("api.audit_logs.read", "Read the audit log", true, false),
    permission("api.usage.read", "Read usage and costs", true, true),
    permission(
        "api.organization.projects.api_keys.read",
        "Read a project's API keys",
        true,
        true,
    ),
    permission(
        "api.organization.projects.api_keys.write",
        "Create and delete a project's API keys",
        true,
        true,
    ),
    permission(
        "api.project.read",
        "Read a project and its members",
        true,
        true,
    ),
    permission("api.model.read", "List and read models", true, true),
    permission("api.model.request", "Send requests to models", true, true),
    permission("api.responses.read", "Read responses", true, true),
    permission("api.responses.write", "Create responses", true, true),
    permission("api.assistants.read", "Read assistants", true, true),
    permission(
        "api.assistants.write",
        "Create, change and delete assistants",
        true,
        true,
    ),
    permission(
        "api.threads.read",
        "Read threads, their messages and runs",
        true,
        true,
    ),
    permission(
        "api.threads.write",
        "Create and change threads, their messages and runs",
        true,
        true,
    ),
    permission(
        "api.fine_tuning.jobs.read",
        "Read fine-tuning jobs",
        true,
        true,
    ),
    permission(
        "api.fine_tuning.jobs.write",
        "Create and cancel fine-tuning jobs",
        true,
        true,
    ),
    permission("api.files.read", "Read files and their content", true, true),
    permission("api.files.write", "Upload and delete files", true, true),
    permission(
        "api.vector_stores.read",
        "Read and search vector stores",
        true,
        true,
    ),
    permission(
        "api.vector_stores.write",
        "Create, change and delete vector stores and their files",
        true,
        true,
    ),
    permission("api.batch.read", "Read batches", true, true),
    permission("api.batch.write", "Create and cancel batches", true, true),
];

/// A role every organization or project has, managed by Roster: its permissions are groups of
/// the catalogue's.
pub struct PredefinedRole {
    pub name: &'static str,
    pub scope: Scope,
    pub description: &'static str,
    pub permissions: &'static [&'static [&'static str]],
}

const ORGANIZATION_ADMIN: &[&str] = &[
    "api.organization.read",
    "api.organization.write",
    "api.management.read",
    "api.management.write",
    "api.groups.read",
    "api.groups.write",
];
const ROLES_ADMIN: &[&str] = &["api.roles.read", "api.roles.write"];
const AUDIT_LOG: &[&str] = &["api.audit_logs.read"];
/// What a project's members do: read it, keep their keys, call its models.
const PROJECT_USE: &[&str] = &[
    "api.usage.read",
    "api.organization.projects.api_keys.read",
    "api.organization.projects.api_keys.write",
    "api.project.read",
    "api.model.read",
    "api.model.request",
];
const PROJECT_READ: &[&str] = &[
    "api.usage.read",
    "api.organization.projects.api_keys.read",
    "api.project.read",
    "api.model.read",
];
/// The OpenAI API's resources beyond the models.
const RESOURCE_READS: &[&str] = &[
    "api.responses.read",
    "api.assistants.read",
    "api.threads.read",
    "api.fine_tuning.jobs.read",
    "api.files.read",
    "api.vector_stores.read",
    "api.batch.read",
];
const RESOURCE_WRITES: &[&str] = &[
    "api.responses.write",
    "api.assistants.write",
    "api.threads.write",
    "api.fine_tuning.jobs.write",
    "api.files.write",
    "api.vector_stores.write",
    "api.batch.write",
];

pub const PREDEFINED_ROLES: &[PredefinedRole] = &[
    PredefinedRole {
        name: "owner",
        scope: Scope::Organization,
        description: "Manages the organization: every permission, in every project",
        permissions: &[
            ORGANIZATION_ADMIN,
            ROLES_ADMIN,
            AUDIT_LOG,
            PROJECT_USE,
            RESOURCE_READS,
            RESOURCE_WRITES,
        ],
    },
    PredefinedRole {
        name: "reader",
        scope: Scope::Organization,
        description: "Reads the organization: its settings, groups, roles and usage",
        permissions: &[&[
            "api.organization.read",
            "api.management.read",
            "api.groups.read",
            "api.roles.read",
            "api.usage.read",
        ]],
    },
    PredefinedRole {
        name: "owner",
        scope: Scope::Project,
        description: "Manages the project: its members, roles and API keys",
        permissions: &[ROLES_ADMIN, PROJECT_USE, RESOURCE_READS, RESOURCE_WRITES],
    },
    PredefinedRole {
        name: "member",
        scope: Scope::Project,
        description: "Uses the project: models, responses and its own API keys",
        permissions: &[PROJECT_USE, RESOURCE_READS, RESOURCE_WRITES],
    },
    PredefinedRole {
        name: "viewer",
        scope: Scope::Project,
        description: "Reads the project",
        permissions: &[PROJECT_READ, RESOURCE_READS],
    },
];

impl PredefinedRole {
    /// The plain id, the same in every organization or project: `role-api-project-member`.
    pub fn plain_id(&self) -> String {
        format!(
            "role-{}-{}",
            self.scope.resource_type().replace('.', "-"),
            self.name
        )
    }

    /// The stable id of this role in one organization or project:
    /// `role-api-project-member__api-project__proj_...`.
    pub fn id_in(&self, resource_id: &str) -> String {
        format!(
            "{}__{}__{resource_id}",
            self.plain_id(),
            self.scope.resource_type().replace('.', "-")
        )
    }

    pub fn permission_names(&self) -> impl Iterator<Item = &'static str> {
        self.permissions
            .iter()
            .flat_map(|group| group.iter().copied())
    }

    pub fn permissions_json(&self) -> String {
        serde_json::to_string(&self.permission_names().collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into())
    }
}

pub fn predefined(scope: Scope) -> impl Iterator<Item = &'static PredefinedRole> {
    PREDEFINED_ROLES.iter().filter(move |r| r.scope == scope)
}

/// The role id an operation means: a predefined role's plain id becomes its id in the
/// operation's organization or project; anything else is taken as given.
pub fn resolve_id(role_id: &str, scope: Scope, resource_id: &str) -> String {
    predefined(scope)
        .find(|r| r.plain_id() == role_id)
        .map(|r| r.id_in(resource_id))
        .unwrap_or_else(|| role_id.to_owned())
}

/// The organization, or one of its projects, whose roles an operation names.
#[derive(Clone, Debug)]
pub struct RoleScope {
    pub org_id: String,
    pub project_id: Option<ProjectId>,
}

impl RoleScope {
    pub fn organization(org_id: &str) -> Self {
        RoleScope {
            org_id: org_id.to_owned(),
            project_id: None,
        }
    }

    pub fn project(org_id: &str, project_id: &ProjectId) -> Self {
        RoleScope {
            org_id: org_id.to_owned(),
            project_id: Some(project_id.clone()),
        }
    }

    pub fn resource_id(&self) -> &str {
        self.project_id.as_deref().unwrap_or(&self.org_id)
    }

    pub fn scope(&self) -> Scope {
        match self.project_id {
            None => Scope::Organization,
            Some(_) => Scope::Project,
        }
    }

    /// A role id as the caller sent it, with a predefined role's plain id made specific.
    pub fn role_id(&self, role_id: &str) -> String {
        resolve_id(role_id, self.scope(), self.resource_id())
    }

    /// `event`, in this scope's project if it has one.
    pub fn event(&self, event: Event) -> Event {
        match &self.project_id {
            Some(project) => event.in_project(project),
            None => event,
        }
    }
}

/// Who holds a role.
#[derive(Clone, Debug)]
pub enum RoleHolder {
    User(UserId),
    Group(GroupId),
}

impl RoleHolder {
    pub fn id(&self) -> &str {
        match self {
            RoleHolder::User(id) => id,
            RoleHolder::Group(id) => id,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            RoleHolder::User(_) => "user",
            RoleHolder::Group(_) => "group",
        }
    }
}

/// A role as stored.
#[derive(Clone, Debug)]
pub struct Role {
    pub id: String,
    pub org_id: String,
    pub resource_id: String,
    pub resource_type: String,
    pub name: String,
    pub description: Option<String>,
    /// JSON array of permission names.
    pub permissions: String,
    pub predefined: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: Option<String>,
}

impl Role {
    pub fn is_predefined(&self) -> bool {
        self.predefined != 0
    }

    pub fn scope(&self) -> Scope {
        Scope::from_resource_type(&self.resource_type)
    }

    pub fn permission_list(&self) -> Vec<String> {
        serde_json::from_str(&self.permissions).unwrap_or_default()
    }

    pub fn check_can_modify(&self) -> Result<()> {
        if self.is_predefined() {
            return Err(Error::invalid(
                format!(
                    "Role '{}' is predefined and cannot be modified or deleted.",
                    self.name
                ),
                "role_id",
            ));
        }
        Ok(())
    }
}

/// A custom role's name is unique where it is defined.
pub fn duplicate_name(name: &str) -> Error {
    Error::invalid(
        format!("A role named '{name}' already exists here."),
        "role_name",
    )
}

/// A custom role's name: non-empty, at most 255 characters.
pub fn validate_name(name: &str) -> Result<String> {
    super::name::NameRule {
        called: "A role's name",
        param: "role_name",
        min_chars: 1,
        max_chars: 255,
    }
    .check(name)
}

/// Checks permissions against the catalogue for `scope`; returns them de-duplicated, in the
/// order given. `param` names the list in errors (`permissions`, `scopes`).
pub fn validate_permissions(
    permissions: &[String],
    scope: Scope,
    param: &str,
) -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut valid = Vec::new();
    for (i, name) in permissions.iter().enumerate() {
        let known = PERMISSIONS.iter().find(|p| p.name == name);
        let allowed = known.is_some_and(|p| match scope {
            Scope::Organization => p.in_organization,
            Scope::Project => p.in_project,
        });
        if !allowed {
            let why = if known.is_some() {
                "is not a permission a project role can hold"
            } else {
                "is not a permission Roster knows"
            };
            return Err(Error::invalid(
                format!("Invalid permission '{name}': it {why}."),
                format!("{param}[{i}]"),
            ));
        }
        if seen.insert(name.clone()) {
            valid.push(name.clone());
        }
    }
    Ok(valid)
}

/// A role a principal holds, and where: the organization (`project_id: None`) or one project.
#[derive(Clone, Debug)]
pub struct Grant {
    pub project_id: Option<String>,
    pub permissions: Vec<String>,
}

#[cfg(test)]
impl Grant {
    /// A grant of `permissions` in `project` (`None`: the organization).
    pub(crate) fn of(project: Option<&str>, permissions: &[&str]) -> Grant {
        Grant {
            project_id: project.map(str::to_owned),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

/// What a principal may do: the union of every role it holds itself and through its groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub organization: BTreeSet<String>,
    pub projects: BTreeMap<String, BTreeSet<String>>,
}

impl Access {
    /// The one function that computes access: the union of the grants.
    pub fn union(grants: impl IntoIterator<Item = Grant>) -> Access {
        let mut access = Access::default();
        for grant in grants {
            let into = match grant.project_id {
                None => &mut access.organization,
                Some(project) => access.projects.entry(project).or_default(),
            };
            into.extend(grant.permissions);
        }
        access
    }

    /// Whether `permission` is held in the organization (`project: None`) or in a project,
    /// where permissions held at the organization count too.
    pub fn allows(&self, project: Option<&str>, permission: &str) -> bool {
        self.organization.contains(permission)
            || project.is_some_and(|p| {
                self.projects
                    .get(p)
                    .is_some_and(|set| set.contains(permission))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_names_its_resource_and_makes_predefined_ids_specific() {
        let org = RoleScope::organization("org-1");
        assert_eq!(
            (org.resource_id(), org.scope()),
            ("org-1", Scope::Organization)
        );
        let project_id = ProjectId::parse("proj_a".into()).unwrap();
        let project = RoleScope::project("org-1", &project_id);
        assert_eq!(
            (project.resource_id(), project.scope()),
            ("proj_a", Scope::Project)
        );
        assert_eq!(
            project.role_id("role-api-project-member"),
            "role-api-project-member__api-project__proj_a"
        );
        assert_eq!(project.role_id("role_custom"), "role_custom");

        let user = RoleHolder::User(UserId::parse("user-1".into()).unwrap());
        let group = RoleHolder::Group(GroupId::parse("group_1".into()).unwrap());
        assert_eq!((user.id(), user.kind()), ("user-1", "user"));
        assert_eq!((group.id(), group.kind()), ("group_1", "group"));
    }

    #[test]
    fn predefined_roles_are_not_modified_and_custom_ones_read_their_permissions() {
        let role = |predefined| Role {
            id: "role_1".into(),
            org_id: "org-1".into(),
            resource_id: "org-1".into(),
            resource_type: "api.organization".into(),
            name: "auditor".into(),
            description: None,
            permissions: r#"["api.organization.read"]"#.into(),
            predefined,
            created_at: 0,
            updated_at: 0,
            created_by: None,
        };
        let custom = role(0);
        assert!(!custom.is_predefined() && custom.check_can_modify().is_ok());
        assert_eq!(custom.permission_list(), ["api.organization.read"]);
        let predefined = role(1);
        assert!(predefined.is_predefined());
        assert!(matches!(
            predefined.check_can_modify(),
            Err(Error::Invalid { param: Some(p), .. }) if p == "role_id"
        ));
        assert_eq!(validate_name(" auditor ").unwrap(), "auditor");
        assert!(validate_name("").is_err() && validate_name(&"r".repeat(256)).is_err());
    }

    #[test]
    fn scopes_read_as_the_contract_names_them() {
        for scope in [Scope::Organization, Scope::Project] {
            assert_eq!(Scope::from_resource_type(scope.resource_type()), scope);
        }
        assert_eq!(Scope::Project.resource_type(), "api.project");
    }

    #[test]
    fn predefined_roles_use_only_catalogue_permissions_of_their_scope() {
        for role in PREDEFINED_ROLES {
            let names: Vec<String> = role.permission_names().map(str::to_owned).collect();
            assert_eq!(
                validate_permissions(&names, role.scope, "permissions").unwrap(),
                names,
                "{}",
                role.name
            );
        }
        let owner = predefined(Scope::Project)
            .find(|r| r.name == "member")
            .unwrap();
        assert_eq!(owner.plain_id(), "role-api-project-member");
        assert_eq!(
            owner.id_in("proj_1"),
            "role-api-project-member__api-project__proj_1"
        );
        assert_eq!(
            resolve_id("role-api-project-member", Scope::Project, "proj_1"),
            "role-api-project-member__api-project__proj_1"
        );
        assert_eq!(
            resolve_id("role_01abc", Scope::Project, "proj_1"),
            "role_01abc"
        );
        assert_eq!(
            resolve_id("role-api-project-member", Scope::Organization, "org-1"),
            "role-api-project-member"
        );
    }

    /// Organizations and projects keep the predefined roles they were made with, so a change to
    /// them needs a migration that brings the stored ones in step: this is the newest.
    #[test]
    fn stored_predefined_roles_are_migrated_to_the_catalogue() {
        for migration in [
            include_str!("../../migrations/sqlite/0009_resource_permissions.sql"),
            include_str!("../../migrations/postgres/0009_resource_permissions.sql"),
        ] {
            for role in PREDEFINED_ROLES {
                if role.scope == Scope::Organization && role.name == "reader" {
                    continue; // unchanged since it was made
                }
                let update = format!(
                    "UPDATE roles SET permissions = '{}'\n    WHERE predefined = 1 AND resource_type = '{}' AND name = '{}';",
                    role.permissions_json(),
                    role.scope.resource_type(),
                    role.name
                );
                assert!(migration.contains(&update), "{update}");
            }
        }
    }

    #[test]
    fn permissions_are_checked_against_the_catalogue_and_scope() {
        let bad = validate_permissions(
            &["api.model.read".into(), "api.nope".into()],
            Scope::Project,
            "permissions",
        );
        assert!(
            matches!(bad, Err(Error::Invalid { param: Some(p), message, .. }) if p == "permissions[1]" && message.contains("api.nope"))
        );
        let org_only =
            validate_permissions(&["api.audit_logs.read".into()], Scope::Project, "scopes");
        assert!(org_only.is_err());
        assert_eq!(
            validate_permissions(&[], Scope::Organization, "permissions").unwrap(),
            Vec::<String>::new()
        );
        let twice = validate_permissions(
            &["api.usage.read".into(), "api.usage.read".into()],
            Scope::Organization,
            "permissions",
        );
        assert_eq!(twice.unwrap(), vec!["api.usage.read"]);
    }

    #[test]
    fn access_is_the_union_of_own_group_and_custom_roles() {
        let reader = Grant::of(None, &["api.organization.read"]);
        let group_role = Grant::of(None, &["api.groups.write"]);
        let custom_in_project = Grant::of(Some("proj_a"), &["api.model.request"]);
        let member_elsewhere = Grant::of(Some("proj_b"), &["api.project.read"]);
        let access = Access::union([
            reader.clone(),
            group_role.clone(),
            custom_in_project,
            member_elsewhere,
        ]);
        assert!(access.allows(None, "api.organization.read"));
        assert!(access.allows(None, "api.groups.write"), "through the group");
        assert!(access.allows(Some("proj_a"), "api.model.request"));
        assert!(
            !access.allows(Some("proj_b"), "api.model.request"),
            "a project role stays in its project"
        );
        assert!(!access.allows(None, "api.model.request"));
        assert!(
            access.allows(Some("proj_b"), "api.organization.read"),
            "organization permissions reach every project"
        );
        // Leaving the group takes its access away.
        let without_group = Access::union([reader]);
        assert!(!without_group.allows(None, "api.groups.write"));
    }
}
