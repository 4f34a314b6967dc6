//! The outbox as a test reads it: the invitations Roster wrote there as `.eml` files, and their
//! acceptance links read as a mail reader reads them.

use std::path::Path;

/// The acceptance link's token in an email: `/invite/<token>`, after undoing quoted-printable's
/// soft line breaks as a mail reader does.
fn token_in(text: &str) -> Option<String> {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let start = text.find("/invite/")? + "/invite/".len();
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// The messages in `dir` to `email`, raw, oldest first.
fn messages_to(dir: &Path, email: &str) -> Vec<String> {
    let mut mail: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((modified, std::fs::read_to_string(entry.path()).ok()?))
        })
        .filter(|(_, text)| text.contains(&format!("To: {email}")))
        .collect();
    mail.sort_by_key(|(modified, _)| *modified);
    mail.into_iter().map(|(_, text)| text).collect()
}

/// The acceptance tokens of the mail in `dir` to `email`, oldest first.
pub fn tokens_to(dir: &Path, email: &str) -> Vec<String> {
    messages_to(dir, email)
        .iter()
        .filter_map(|text| token_in(text))
        .collect()
}

/// The newest message to `email`, which must be `multipart/alternative`: its plain-text and HTML
/// parts, decoded as a mail reader decodes them.
pub fn parts_of_newest_to(dir: &Path, email: &str) -> (String, String) {
    use mail_parser::MimeHeaders;
    let raw = messages_to(dir, email).pop().expect("a message");
    let message = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable message");
    assert_eq!(
        message.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("multipart", Some("alternative")))
    );
    (
        message.body_text(0).expect("a text part").into_owned(),
        message.body_html(0).expect("an HTML part").into_owned(),
    )
}
