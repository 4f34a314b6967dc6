//! Audit events: every mutation records one, in its own transaction; the log is read through
//! filters that are checked here.

use serde_json::{Value, json};

use super::principal::Principal;
use super::{Error, Result};

/// Who made a change, shaped as the contract's `AuditLogActor`.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: String,
    pub user_email: String,
    /// The tracking id of the API key used, which `actor_ids[]` also matches.
    pub key_id: Option<String>,
    /// The JSON of `AuditLogActor`.
    pub json: Value,
}

impl Actor {
    pub fn api_key(principal: &Principal) -> Self {
        Actor {
            user_id: principal.user_id.clone(),
            user_email: principal.user_email.clone(),
            key_id: Some(principal.key_id.clone()),
            json: json!({
                "type": "api_key",
                "api_key": {
                    "id": principal.key_id,
                    "type": "user",
                    "user": { "id": principal.user_id, "email": principal.user_email },
                },
            }),
        }
    }
}

/// One event, before it is stored: its type, the object it is about, its details
/// (the contract's per-type payload) and the project it is scoped to, if any.
#[derive(Clone, Debug)]
pub struct Event {
    pub event_type: &'static str,
    pub resource_id: String,
    pub project_id: Option<String>,
    pub details: Value,
}

impl Event {
    pub fn new(event_type: &'static str, resource_id: &str, details: Value) -> Self {
        Event {
            event_type,
            resource_id: resource_id.to_owned(),
            project_id: None,
            details,
        }
    }

    pub fn in_project(mut self, project_id: &str) -> Self {
        self.project_id = Some(project_id.to_owned());
        self
    }
}

impl Actor {
    /// A person acting for herself through Roster's own pages (accepting an invite).
    pub fn session(user_id: &str, email: &str, ip_address: &str, user_agent: Option<&str>) -> Self {
        Actor {
            user_id: user_id.to_owned(),
            user_email: email.to_owned(),
            key_id: None,
            json: json!({
                "type": "session",
                "session": {
                    "user": { "id": user_id, "email": email },
                    "ip_address": ip_address,
                    "user_agent": user_agent,
                },
            }),
        }
    }
}

/// One stored event, as the log is read back.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub id: String,
    pub event_type: String,
    pub effective_at: i64,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    /// The JSON of `AuditLogActor`; `None` for changes made through Roster's CLI.
    pub actor: Option<String>,
    /// The JSON of the per-type payload.
    pub details: String,
}

/// The most values one list filter takes, so that a query stays small.
pub const MAX_FILTER_VALUES: usize = 100;

/// What a list of the log is narrowed to: every present condition must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `effective_at` from this second on.
    pub from: Option<i64>,
    /// `effective_at` before this second.
    pub until: Option<i64>,
    pub project_ids: Vec<String>,
    pub event_types: Vec<String>,
    pub actor_ids: Vec<String>,
    pub actor_emails: Vec<String>,
    pub resource_ids: Vec<String>,
    pub tenant_only: bool,
}

/// The `effective_at` conditions of the contract, as given.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeRange {
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
}

impl TimeRange {
    /// The range as a half-open interval of whole seconds: `[from, until)`.
    pub fn bounds(self) -> (Option<i64>, Option<i64>) {
        let from = [self.gt.map(|t| t.saturating_add(1)), self.gte]
            .into_iter()
            .flatten()
            .max();
        let until = [self.lt, self.lte.map(|t| t.saturating_add(1))]
            .into_iter()
            .flatten()
            .min();
        (from, until)
    }
}

/// A list filter, one field of the contract each; the lists are checked and de-duplicated.
pub struct FilterRequest {
    pub effective_at: TimeRange,
    pub project_ids: Vec<String>,
    pub event_types: Vec<String>,
    pub actor_ids: Vec<String>,
    pub actor_emails: Vec<String>,
    pub resource_ids: Vec<String>,
    pub tenant_only: bool,
}

impl Filter {
    pub fn new(request: FilterRequest) -> Result<Filter> {
        let (from, until) = request.effective_at.bounds();
        for t in &request.event_types {
            if !EVENT_TYPES.contains(&t.as_str()) {
                return Err(Error::Invalid {
                    message: format!(
                        "Invalid value for 'event_types[]': '{t}' is not an audit log event type."
                    )
                    .into(),
                    param: Some("event_types[]".into()),
                    code: Some("invalid_value"),
                });
            }
            if is_tenant_scoped(t) != request.tenant_only {
                let message = if request.tenant_only {
                    format!(
                        "'{t}' is not a tenant-scoped event type; with tenant_only=true every event type must be."
                    )
                } else {
                    format!("'{t}' is a tenant-scoped event type; list it with tenant_only=true.")
                };
                return Err(Error::invalid(message, "tenant_only"));
            }
        }
        Ok(Filter {
            from,
            until,
            project_ids: distinct(request.project_ids, "project_ids[]")?,
            event_types: distinct(request.event_types, "event_types[]")?,
            actor_ids: distinct(request.actor_ids, "actor_ids[]")?,
            actor_emails: distinct(request.actor_emails, "actor_emails[]")?,
            resource_ids: distinct(request.resource_ids, "resource_ids[]")?,
            tenant_only: request.tenant_only,
        })
    }
}

fn distinct(mut values: Vec<String>, param: &str) -> Result<Vec<String>> {
    values.sort();
    values.dedup();
    if values.len() > MAX_FILTER_VALUES {
        return Err(Error::invalid(
            format!(
                "'{param}' takes at most {MAX_FILTER_VALUES} values; got {}.",
                values.len()
            ),
            param.to_owned(),
        ));
    }
    Ok(values)
}

/// Tenant-scoped events are listed only with `tenant_only=true`, as the contract says.
pub fn is_tenant_scoped(event_type: &str) -> bool {
    event_type.starts_with("tenant.")
        || matches!(
            event_type,
            "role.bound_to_resource" | "role.unbound_from_resource"
        )
}

/// Every event type of the contract's `AuditLogEventType`, in its order.
pub const EVENT_TYPES: &[&str] = &[
    "api_key.created",
    "api_key.updated",
    "api_key.deleted",
    "certificate.created",
    "certificate.updated",
    "certificate.deleted",
    "certificates.activated",
    "certificates.deactivated",
    "checkpoint.permission.created",
    "checkpoint.permission.deleted",
    "external_key.registered",
    "external_key.removed",
    "group.created",
    "group.updated",
    "group.deleted",
    "invite.sent",
    "invite.accepted",
    "invite.deleted",
    "ip_allowlist.created",
    "ip_allowlist.updated",
    "ip_allowlist.deleted",
    "ip_allowlist.config.activated",
    "ip_allowlist.config.deactivated",
    "login.succeeded",
    "login.failed",
    "logout.succeeded",
    "logout.failed",
    "organization.updated",
    "project.created",
    "project.updated",
    "project.archived",
    "project.deleted",
    "rate_limit.updated",
    "rate_limit.deleted",
    "resource.deleted",
    "tunnel.created",
    "tunnel.updated",
    "tunnel.deleted",
    "workload_identity_provider.created",
    "workload_identity_provider.updated",
    "workload_identity_provider.deleted",
    "workload_identity_provider_mapping.created",
    "workload_identity_provider_mapping.updated",
    "workload_identity_provider_mapping.deleted",
    "role.created",
    "role.updated",
    "role.deleted",
    "role.assignment.created",
    "role.assignment.deleted",
    "role.bound_to_resource",
    "role.unbound_from_resource",
    "scim.enabled",
    "scim.disabled",
    "service_account.created",
    "service_account.updated",
    "service_account.deleted",
    "user.added",
    "user.updated",
    "user.deleted",
    "tenant.metadata.updated",
    "tenant.microsoft_entra_mapping.upserted",
    "tenant.microsoft_entra_mapping.deleted",
    "tenant.workload_identity.provider.created",
    "tenant.workload_identity.provider.updated",
    "tenant.workload_identity.provider.archived",
    "tenant.workload_identity.mapping.created",
    "tenant.workload_identity.mapping.updated",
    "tenant.workload_identity.mapping.archived",
    "tenant.workload_identity.binding.created",
    "tenant.workload_identity.principal.provisioned",
    "tenant.workload_identity.access_token.issued",
    "tenant.admin_api_key.created",
    "tenant.admin_api_key.updated",
    "tenant.admin_api_key.deleted",
    "tenant.project_api_key.created",
    "tenant.chatgpt_access_token.revoked",
    "tenant.migration.completed",
    "tenant.sso.migrated",
    "tenant.domains.migrated",
    "tenant.sso_connection.created",
    "tenant.sso_connection.updated",
    "tenant.sso_connection.deleted",
    "tenant.sso_connection.setup.started",
    "tenant.policy.created",
    "tenant.policy.updated",
    "tenant.policy.deleted",
    "tenant.policy.attached",
    "tenant.policy.detached",
    "tenant.principal_authentication_policy.resolved",
    "tenant.scim.setup.started",
    "tenant.scim.deletion.requested",
    "tenant.scim.directory.created",
    "tenant.product_access_policy.updated",
    "tenant.resource_share_grant.created",
    "tenant.resource_share_grant.updated",
    "tenant.resource_share_grant.accepted",
    "tenant.resource_share_grant.declined",
    "tenant.resource_share_grant.revoked",
    "tenant.resource_share_grant.deleted",
    "tenant.service_account.updated",
    "tenant.service_account.deleted",
    "tenant.service_account.token.revoked",
    "tenant.billing.overage_limit.updated",
    "tenant.billing.alerts.updated",
    "tenant.billing.info.updated",
    "tenant.usage_limit.workspace.updated",
    "tenant.usage_limit.group.updated",
    "tenant.usage_limit.user.updated",
    "tenant.usage_limit.increase_request.updated",
    "tenant.usage_limit.increase_request.resolved",
    "tenant.group.created",
    "tenant.group.updated",
    "tenant.group.deleted",
    "tenant.group.member.added",
    "tenant.group.member.removed",
    "tenant.migration_rollout.status.updated",
    "tenant.migration_rollout.tier.updated",
    "tenant.role.metadata.updated",
    "tenant.custom_role.created",
    "tenant.custom_role.updated",
    "tenant.custom_role.deleted",
    "tenant.role_assignment.created",
    "tenant.role_assignment.deleted",
    "tenant.resource_role_assignment.created",
    "tenant.resource_role_assignment.deleted",
    "tenant.resource_access.updated",
    "tenant.resource_access.deleted",
    "tenant.ads_account.onboarding.redemption",
    "tenant.session_policy.created",
    "tenant.session_policy.updated",
    "tenant.session_policy.deleted",
    "tenant.session_revocation.started",
    "tenant.third_party_app_policy.updated",
    "tenant.user.added",
    "tenant.user.updated",
    "tenant.user.removed",
    "tenant.user.looked_up",
    "tenant.user.invited",
    "tenant.membership.revoked",
    "tenant.api_organization_invite.upserted",
    "tenant.api_organization_invite.deleted",
    "tenant.chatgpt_workspace_invite.upserted",
    "tenant.membership.accepted",
    "tenant.membership.declined",
    "tenant.workspace_invite_email_settings.updated",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> FilterRequest {
        FilterRequest {
            effective_at: TimeRange::default(),
            project_ids: vec![],
            event_types: vec![],
            actor_ids: vec![],
            actor_emails: vec![],
            resource_ids: vec![],
            tenant_only: false,
        }
    }

    #[test]
    fn time_conditions_become_one_half_open_range() {
        let range = TimeRange {
            gt: Some(10),
            gte: Some(5),
            lt: Some(20),
            lte: Some(14),
        };
        assert_eq!(range.bounds(), (Some(11), Some(15)));
        assert_eq!(TimeRange::default().bounds(), (None, None));
        let edge = TimeRange {
            lte: Some(i64::MAX),
            ..TimeRange::default()
        };
        assert_eq!(edge.bounds(), (None, Some(i64::MAX)));
    }

    #[test]
    fn event_types_must_be_known_and_match_the_tenant_flag() {
        let unknown = FilterRequest {
            event_types: vec!["project.exploded".into()],
            ..request()
        };
        assert!(
            matches!(Filter::new(unknown), Err(Error::Invalid { param: Some(p), .. }) if p == "event_types[]")
        );
        let tenant = FilterRequest {
            event_types: vec!["tenant.user.added".into()],
            ..request()
        };
        assert!(
            matches!(Filter::new(tenant), Err(Error::Invalid { param: Some(p), .. }) if p == "tenant_only")
        );
        let mixed = FilterRequest {
            event_types: vec!["user.added".into()],
            tenant_only: true,
            ..request()
        };
        assert!(Filter::new(mixed).is_err());
        let known = FilterRequest {
            event_types: vec!["user.added".into(), "user.added".into()],
            ..request()
        };
        assert_eq!(Filter::new(known).unwrap().event_types, vec!["user.added"]);
    }

    #[test]
    fn a_filter_takes_at_most_100_values() {
        let many = FilterRequest {
            resource_ids: (0..101).map(|i| i.to_string()).collect(),
            ..request()
        };
        assert!(
            matches!(Filter::new(many), Err(Error::Invalid { param: Some(p), .. }) if p == "resource_ids[]")
        );
        // 100 distinct values, and more that repeat them, are taken.
        let most = FilterRequest {
            resource_ids: (0..150).map(|i| (i % 100).to_string()).collect(),
            ..request()
        };
        assert_eq!(Filter::new(most).unwrap().resource_ids.len(), 100);
    }
}
