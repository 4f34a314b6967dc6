//! Audit events: every mutation records one, in its own transaction.

use serde_json::{Value, json};

use super::principal::Principal;

/// Who made a change, shaped as the contract's `AuditLogActor`.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: String,
    pub user_email: String,
    /// The JSON of `AuditLogActor`.
    pub json: Value,
}

impl Actor {
    pub fn api_key(principal: &Principal) -> Self {
        Actor {
            user_id: principal.user_id.clone(),
            user_email: principal.user_email.clone(),
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
