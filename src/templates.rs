//! What a person reads: the invitation email (plain text and HTML) and the invitation pages,
//! from the templates in `templates/`, checked at compile time. Every value is escaped in HTML.

pub use crate::domain::clock::date_utc;
use crate::domain::project_user::ProjectRole;
use crate::domain::user::OrgRole;
use askama::Template;

/// `template` rendered; a template that fails to render is Roster's fault.
pub fn render(template: &impl Template) -> crate::domain::Result<String> {
    template
        .render()
        .map_err(|e| crate::domain::Error::Internal(format!("a template failed: {e}")))
}

/// A project as a person reads it: by name, with her role there.
#[derive(Clone, Debug)]
pub struct ProjectLine {
    pub name: String,
    pub role: &'static str,
}

impl ProjectLine {
    pub fn new(name: String, role: ProjectRole) -> Self {
        ProjectLine {
            name,
            role: role.as_str(),
        }
    }
}

/// The facts of an invitation, as the email and the page both tell them.
#[derive(Clone, Debug)]
pub struct InvitationFacts {
    pub organization: String,
    /// "Ada Lovelace (ada@example.com)", or "An administrator" for an invite made without a
    /// person behind it.
    pub inviter: String,
    pub email: String,
    pub role_in_words: &'static str,
    pub role_meaning: &'static str,
    pub projects: Vec<ProjectLine>,
    /// "7 December 2026, 14:05 UTC"
    pub expires_on: String,
    /// "in 7 days"
    pub expires_in: String,
}

impl InvitationFacts {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        organization: &str,
        inviter_name: Option<&str>,
        inviter_email: Option<&str>,
        email: &str,
        role: OrgRole,
        projects: Vec<ProjectLine>,
        expires_at: i64,
        now: i64,
    ) -> Self {
        InvitationFacts {
            organization: organization.to_owned(),
            inviter: person(inviter_name, inviter_email),
            email: email.to_owned(),
            role_in_words: role.in_words(),
            role_meaning: role.meaning(),
            projects,
            expires_on: date_utc(expires_at),
            expires_in: time_until(expires_at - now),
        }
    }

    pub fn subject(&self) -> String {
        format!(
            "{} invited you to join {} on Roster",
            self.inviter, self.organization
        )
    }
}

/// Who a person is, as a sentence names her.
pub fn person(name: Option<&str>, email: Option<&str>) -> String {
    match (name.filter(|n| !n.is_empty()), email) {
        (Some(name), Some(email)) => format!("{name} ({email})"),
        (None, Some(email)) => email.to_owned(),
        (Some(name), None) => name.to_owned(),
        (None, None) => "An administrator".to_owned(),
    }
}

/// How long until a moment, in the largest whole unit: "in 7 days", "in 3 hours".
pub fn time_until(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("in 1 {unit}")
        } else {
            format!("in {n} {unit}s")
        }
    };
    match seconds {
        s if s <= 0 => "already past".to_owned(),
        s if s >= 86_400 => plural((s + 43_200) / 86_400, "day"),
        s if s >= 3_600 => plural((s + 1_800) / 3_600, "hour"),
        s => plural((s + 59) / 60, "minute"),
    }
}

#[derive(Template)]
#[template(path = "invite/email.txt")]
pub struct EmailText<'a> {
    pub invite: &'a InvitationFacts,
    pub link: &'a str,
}

#[derive(Template)]
#[template(path = "invite/email.html")]
pub struct EmailHtml<'a> {
    pub invite: &'a InvitationFacts,
    pub link: &'a str,
}

/// The page the email links to, with the form that accepts.
#[derive(Template)]
#[template(path = "invite/page.html")]
pub struct InvitePage<'a> {
    pub invite: &'a InvitationFacts,
}

/// What the person has once she accepted, and what comes next.
#[derive(Template)]
#[template(path = "invite/welcome.html")]
pub struct WelcomePage {
    pub organization: String,
    pub name: String,
    pub role_in_words: &'static str,
    pub role_meaning: &'static str,
    pub projects: Vec<ProjectLine>,
}

/// A link that cannot be used (expired, accepted, withdrawn, unknown) or a refusal: what
/// happened and what to do.
#[derive(Template)]
#[template(path = "invite/state.html")]
pub struct StatePage {
    pub title: String,
    pub message: String,
    pub advice: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> InvitationFacts {
        InvitationFacts::new(
            "Acme <Labs>",
            Some("Ada"),
            Some("ada@example.com"),
            "bob@example.com",
            OrgRole::Reader,
            vec![ProjectLine::new(
                "Web & <Mobile>".into(),
                ProjectRole::Member,
            )],
            1_796_652_300,
            1_796_652_300 - 7 * 86_400 + 30,
        )
    }

    #[test]
    fn the_email_tells_the_facts_in_words_and_escapes_them_in_html() {
        let invite = facts();
        assert_eq!(invite.expires_on, "7 December 2026, 14:05 UTC");
        assert_eq!(invite.expires_in, "in 7 days");
        let link = "https://roster.example.com/invite/inv-abc";
        let text = EmailText {
            invite: &invite,
            link,
        }
        .render()
        .unwrap();
        assert!(
            text.contains("Ada (ada@example.com) invited you to join Acme <Labs>"),
            "{text}"
        );
        assert!(text.contains("  - Web & <Mobile>: member"), "{text}");
        assert!(
            text.contains(&format!("\n{link}\n")),
            "the link on a line of its own: {text}"
        );
        let html = EmailHtml {
            invite: &invite,
            link,
        }
        .render()
        .unwrap();
        assert!(html.contains("Acme &#60;Labs&#62;"), "{html}");
        assert!(!html.contains("<Mobile>"), "{html}");
        assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    }

    #[test]
    fn times_read_as_people_say_them() {
        assert_eq!(time_until(7 * 86_400 - 20), "in 7 days");
        assert_eq!(time_until(86_400), "in 1 day");
        assert_eq!(time_until(5 * 3_600), "in 5 hours");
        assert_eq!(time_until(61), "in 2 minutes");
        assert_eq!(time_until(0), "already past");
        assert_eq!(date_utc(0), "1 January 1970, 00:00 UTC");
    }
}
