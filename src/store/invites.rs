//! Invites: create, list, retrieve, delete, and acceptance.

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::tx::{NewMail, Tx};
use super::{Author, Store};
use crate::domain::audit::{Actor, Event};
use crate::domain::ids::InviteId;
use crate::domain::invite::{self, Acceptance, Invite, InviteProject};
use crate::domain::page::{Page, PageRequest};
use crate::domain::project_user::ProjectRole;
use crate::domain::user::{OrgRole, User};
use crate::domain::{Error, Result, ids, secret};
use crate::templates::{EmailHtml, EmailText, InvitationFacts, ProjectLine, person, render};

const SELECT_INVITE: &str = "SELECT i.id, i.email, i.role, i.projects, i.created_at, i.expires_at, i.accepted_at FROM invites i";

impl Store {
    /// Creates an invite and queues its email (with the link under `public_url` that carries
    /// its token, which appears nowhere else) in the same transaction.
    pub async fn create_invite(
        &self,
        author: &Author,
        email: &str,
        role: OrgRole,
        projects: &[InviteProject],
        lifetime_seconds: i64,
        public_url: &str,
    ) -> Result<Invite> {
        let token = secret::generate(invite::TOKEN_PREFIX);
        let invite_id = ids::new_id(ids::INVITE);
        let created = transact!(self, author, |tx| {
            if tx
                .find_user_by_email(&author.org_id, email)
                .await?
                .is_some()
            {
                return Err(Error::invalid(
                    format!("A user with email {email} already exists in this organization."),
                    "email",
                ));
            }
            let mut named = Vec::with_capacity(projects.len());
            for (i, requested) in projects.iter().enumerate() {
                let param = format!("projects[{i}].id");
                let project = tx
                    .lock_project(&author.org_id, &requested.id)
                    .await
                    .map_err(|_| {
                        Error::invalid(
                            format!("No such project: '{}'.", requested.id),
                            param.clone(),
                        )
                    })?;
                project
                    .check_active()
                    .map_err(|e| Error::invalid(e.to_string(), param))?;
                named.push((project.name, requested.role));
            }
            // An expired invite no longer holds the address.
            db::query("DELETE FROM invites WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND expires_at <= $3")
                .bind(author.org_id.clone())
                .bind(email.to_owned())
                .bind(tx.now)
                .execute(&mut *tx.conn)
                .await?;
            let invite = Invite {
                id: invite_id.clone(),
                email: email.to_owned(),
                role,
                projects: serde_json::to_string(projects)
                    .map_err(|e| Error::Internal(e.to_string()))?,
                created_at: tx.now,
                expires_at: tx.now + lifetime_seconds,
                accepted_at: None,
            };
            db::query(
                "INSERT INTO invites (id, org_id, email, role, projects, token_digest, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(invite.id.clone())
            .bind(author.org_id.clone())
            .bind(invite.email.clone())
            .bind(invite.role)
            .bind(invite.projects.clone())
            .bind(secret::digest(&token))
            .bind(author.actor.as_ref().map(|a| a.user_id.clone()))
            .bind(tx.now)
            .bind(invite.expires_at)
            .execute_unique(&mut *tx.conn, || Error::invalid(
                        format!("{email} already has a pending invite; delete it to invite again."),
                        "email",
                    )).await?;
            let details = json!({"id": invite.id, "data": {"email": email, "role": role.as_str()}});
            tx.record(Event::new("invite.sent", &invite.id, details))
                .await?;
            let (organization, inviter_name, inviter_email): (String, Option<String>, Option<String>) =
                db::query("SELECT o.name, u.name, u.email FROM organizations o LEFT JOIN users u ON u.id = $2 WHERE o.id = $1")
                    .bind(author.org_id.clone())
                    .bind(author.actor.as_ref().map(|a| a.user_id.clone()))
                    .fetch_one(&mut *tx.conn)
                    .await?;
            let facts = InvitationFacts::new(
                &organization,
                inviter_name.as_deref(),
                inviter_email.as_deref(),
                email,
                role,
                named
                    .into_iter()
                    .map(|(name, role)| ProjectLine::new(name, role))
                    .collect(),
                invite.expires_at,
                tx.now,
            );
            let link = invite::link(public_url, &token);
            let mail = NewMail {
                org_id: &author.org_id,
                invite_id: Some(&invite.id),
                recipient: email,
                subject: facts.subject(),
                body: render(&EmailText {
                    invite: &facts,
                    link: &link,
                })?,
                html_body: Some(render(&EmailHtml {
                    invite: &facts,
                    link: &link,
                })?),
            };
            tx.enqueue_mail(&mail).await?;
            Ok(invite)
        });
        if created.is_ok() {
            self.mail_queued();
        }
        created
    }

    pub async fn list_invites(&self, org_id: &str, page: &PageRequest) -> Result<Page<Invite>> {
        let mut sql = Sql::new(SELECT_INVITE);
        sql.push(" WHERE i.org_id = ").bind(org_id.to_owned());
        if let Some(after) = &page.after {
            sql.push(" AND i.id > ").bind(after.clone());
        }
        sql.push(" ORDER BY i.id LIMIT ").bind(page.limit + 1);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_invite(&self, org_id: &str, invite_id: &InviteId) -> Result<Invite> {
        db::query(format!("{SELECT_INVITE} WHERE i.org_id = $1 AND i.id = $2"))
            .bind(org_id.to_owned())
            .bind(invite_id.to_owned())
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| Error::not_found("invite", invite_id, "invite_id"))
    }

    /// Deletes a pending or expired invite; its token stops working.
    pub async fn delete_invite(&self, author: &Author, invite_id: &InviteId) -> Result<()> {
        transact!(self, author, |tx| {
            let invite: Invite = db::query(format!(
                "{SELECT_INVITE} WHERE i.org_id = $1 AND i.id = $2{}",
                self.backend.for_update_of("i")
            ))
            .bind(author.org_id.clone())
            .bind(invite_id.to_owned())
            .fetch_optional(&mut *tx.conn)
            .await?
            .ok_or_else(|| Error::not_found("invite", invite_id, "invite_id"))?;
            invite.check_can_delete()?;
            // Its link, opened later, says it was withdrawn rather than unknown.
            db::query(
                "INSERT INTO revoked_invite_tokens (token_digest, org_id, invited_by, revoked_at) \
                 SELECT token_digest, org_id, invited_by, $2 FROM invites WHERE id = $1",
            )
            .bind(invite_id.to_owned())
            .bind(tx.now)
            .execute(&mut *tx.conn)
            .await?;
            db::query("DELETE FROM invites WHERE id = $1")
                .bind(invite_id.to_owned())
                .execute(&mut *tx.conn)
                .await?;
            tx.record(Event::new(
                "invite.deleted",
                invite_id,
                json!({"id": invite_id}),
            ))
            .await
        })
    }

    /// What an invitation link leads to, for the page it opens.
    pub async fn invite_link(&self, token: &str) -> Result<InviteLink> {
        let digest = secret::digest(token);
        let found: Option<LinkedInvite> = db::query(
            "SELECT i.org_id, i.email, i.role, i.projects, i.expires_at, i.accepted_at, o.name AS organization, \
             u.name AS inviter_name, u.email AS inviter_email \
             FROM invites i JOIN organizations o ON o.id = i.org_id LEFT JOIN users u ON u.id = i.invited_by \
             WHERE i.token_digest = $1",
        )
        .bind(digest.clone())
        .fetch_optional(&self.db)
        .await?;
        let Some(found) = found else {
            let revoked: Option<(String, Option<String>, Option<String>)> = db::query(
                "SELECT o.name, u.name, u.email FROM revoked_invite_tokens r \
                 JOIN organizations o ON o.id = r.org_id LEFT JOIN users u ON u.id = r.invited_by \
                 WHERE r.token_digest = $1",
            )
            .bind(digest)
            .fetch_optional(&self.db)
            .await?;
            return Ok(match revoked {
                Some((organization, name, email)) => InviteLink::Revoked {
                    organization,
                    inviter: person(name.as_deref(), email.as_deref()),
                },
                None => InviteLink::Unknown,
            });
        };
        let now = self.clock.now();
        let inviter = person(
            found.inviter_name.as_deref(),
            found.inviter_email.as_deref(),
        );
        if found.accepted_at.is_some() {
            return Ok(InviteLink::Accepted {
                organization: found.organization,
            });
        }
        if now >= found.expires_at {
            return Ok(InviteLink::Expired {
                organization: found.organization,
                inviter,
            });
        }
        let requested: Vec<InviteProject> =
            serde_json::from_str(&found.projects).unwrap_or_default();
        let ids: Vec<&str> = requested.iter().map(|p| p.id.as_str()).collect();
        let names: Vec<(String, String)> = db::query(format!(
            "SELECT id, name FROM projects WHERE org_id = $1 AND archived_at IS NULL AND id IN ({})",
            self.backend.json_strings("$2")
        ))
        .bind(found.org_id.clone())
        .bind(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
        .fetch_all(&self.db)
        .await?;
        let projects = requested
            .iter()
            .filter_map(|p| {
                let (_, name) = names.iter().find(|(id, _)| *id == p.id)?;
                Some(ProjectLine::new(name.clone(), p.role))
            })
            .collect();
        Ok(InviteLink::Pending(InvitationFacts::new(
            &found.organization,
            found.inviter_name.as_deref(),
            found.inviter_email.as_deref(),
            &found.email,
            found.role,
            projects,
            found.expires_at,
            now,
        )))
    }

    /// What a user has just after joining: her organization's name, and her projects by name
    /// with her role in each, in the order she joined them.
    pub async fn welcome(&self, user_id: &str) -> Result<(String, Vec<(String, ProjectRole)>)> {
        let (organization,): (String,) = db::query(
            "SELECT o.name FROM users u JOIN organizations o ON o.id = u.org_id WHERE u.id = $1",
        )
        .bind(user_id.to_owned())
        .fetch_one(&self.db)
        .await?;
        let projects = db::query(
            "SELECT p.name, pu.role FROM project_users pu JOIN projects p ON p.id = pu.project_id \
             WHERE pu.user_id = $1 ORDER BY pu.id",
        )
        .bind(user_id.to_owned())
        .fetch_all(&self.db)
        .await?;
        Ok((organization, projects))
    }

    /// Accepts an invite: the invitee becomes an organization user and a member of every invited
    /// project still active, and the token is spent, all in one transaction.
    pub async fn accept_invite(&self, token: &str, acceptance: &Acceptance) -> Result<User> {
        let digest = secret::digest(token);
        let user_id = ids::new_id(ids::USER);
        transact!(self, |tx| {
            let lock = self.backend.for_update_of("i");
            let TokenInvite {
                invite,
                org_id,
                default_project_id,
                ..
            } = find_by_token(&mut *tx.conn, &digest, &lock).await?;
            invite.check_can_accept(tx.now)?;
            if tx
                .find_user_by_email(&org_id, &invite.email)
                .await?
                .is_some()
            {
                return Err(Error::rule(format!(
                    "A user with email {} already exists in this organization.",
                    invite.email
                )));
            }
            let spent = db::query(
                "UPDATE invites SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL",
            )
            .bind(tx.now)
            .bind(invite.id.clone())
            .execute(&mut *tx.conn)
            .await?;
            if spent != 1 {
                return Err(invite::unknown_token());
            }
            let user = User {
                id: user_id.clone(),
                email: invite.email.clone(),
                name: acceptance.name.clone(),
                role: invite.role,
                added_at: tx.now,
            };
            tx.insert_user(&org_id, &user).await?;
            tx.author = Some(Author {
                org_id: org_id.clone(),
                actor: Some(Actor::session(
                    &user_id,
                    &invite.email,
                    &acceptance.ip_address,
                    acceptance.user_agent.as_deref(),
                )),
                default_project_id: Some(default_project_id),
            });
            tx.record(Event::new(
                "invite.accepted",
                &invite.id,
                json!({"id": invite.id}),
            ))
            .await?;
            tx.record(Event::new(
                "user.added",
                &user_id,
                json!({"id": user_id, "data": {"role": invite.role}}),
            ))
            .await?;
            for project in invite.projects() {
                join_if_active(tx, &project, &user_id).await?;
            }
            Ok(user)
        })
    }
}

/// What an invitation link leads to.
#[derive(Debug)]
pub enum InviteLink {
    /// It can be accepted: the facts the page tells.
    Pending(InvitationFacts),
    Expired {
        organization: String,
        inviter: String,
    },
    Accepted {
        organization: String,
    },
    /// The invite was deleted before it was accepted.
    Revoked {
        organization: String,
        inviter: String,
    },
    Unknown,
}

/// An invite as its link's page needs it.
struct LinkedInvite {
    org_id: String,
    email: String,
    role: OrgRole,
    projects: String,
    expires_at: i64,
    accepted_at: Option<i64>,
    organization: String,
    inviter_name: Option<String>,
    inviter_email: Option<String>,
}

db::from_row!(LinkedInvite {
    org_id,
    email,
    role,
    projects,
    expires_at,
    accepted_at,
    organization,
    inviter_name,
    inviter_email
});

/// An invite found by its token, with what acceptance needs of its organization.
struct TokenInvite {
    invite: Invite,
    org_id: String,
    default_project_id: String,
}

impl db::FromRow for TokenInvite {
    fn from_row(row: &mut db::Row) -> Result<Self> {
        Ok(TokenInvite {
            invite: Invite::from_row(row)?,
            org_id: row.get("org_id")?,
            default_project_id: row.get("default_project_id")?,
        })
    }
}

/// The invite behind a token digest; `lock` is appended to lock its row in a transaction.
async fn find_by_token<'e>(
    executor: impl Into<db::Executor<'e>>,
    digest: &str,
    lock: &str,
) -> Result<TokenInvite> {
    db::query(format!(
        "SELECT i.id, i.email, i.role, i.projects, i.created_at, i.expires_at, i.accepted_at, i.org_id, \
         o.default_project_id \
         FROM invites i JOIN organizations o ON o.id = i.org_id WHERE i.token_digest = $1{lock}"
    ))
    .bind(digest.to_owned())
    .fetch_optional(executor)
    .await?
    .ok_or_else(invite::unknown_token)
}

/// Adds the new user to an invited project, unless it was archived since the invite went out.
async fn join_if_active(tx: &mut Tx<'_>, project: &InviteProject, user_id: &str) -> Result<()> {
    let added = db::query(
        "INSERT INTO project_users (id, org_id, project_id, user_id, role, added_at) \
         SELECT $1, p.org_id, p.id, $2, $3, $4 FROM projects p WHERE p.org_id = $5 AND p.id = $6 AND p.archived_at IS NULL",
    )
    .bind(ids::new_id(ids::PROJECT_USER))
    .bind(user_id.to_owned())
    .bind(project.role)
    .bind(tx.now)
    .bind(tx.org_id()?)
    .bind(project.id.clone())
    .execute(&mut *tx.conn)
    .await?;
    if added == 1 {
        let event = Event::new(
            "user.added",
            user_id,
            json!({"id": user_id, "data": {"role": project.role}}),
        )
        .in_project(&project.id);
        tx.record(event).await?;
    }
    Ok(())
}
