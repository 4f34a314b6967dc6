//! Accepting an invite, Roster's addition to the API: the token from the email is the
//! credential. `POST /v1/invites/{token}/accept` for programs; `/invite/{token}` is the page the
//! email links to, with a form that accepts it.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::header::USER_AGENT;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path};
use super::users::UserObject;
use crate::domain::invite::{self, Acceptance};

pub fn api_routes() -> Router<AppState> {
    Router::new().route("/invites/{token}/accept", post(accept))
}

pub fn page_routes() -> Router<AppState> {
    Router::new().route("/invite/{token}", get(page).post(accept_form))
}

#[derive(Debug, Default, Deserialize)]
struct AcceptInvite {
    name: String,
}

fn acceptance(name: &str, peer: SocketAddr, headers: &HeaderMap) -> Result<Acceptance, ApiError> {
    Ok(Acceptance {
        name: invite::validate_name(name)?,
        ip_address: peer.ip().to_string(),
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    })
}

async fn accept(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Json(body): Json<AcceptInvite>,
) -> ApiResult<axum::Json<UserObject>> {
    let user = state
        .store
        .accept_invite(&token, &acceptance(&body.name, peer, &headers)?)
        .await?;
    Ok(axum::Json(user.into()))
}

async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.store.invite_by_token(&token).await {
        Ok((invite, organization)) => {
            let projects: Vec<String> = invite
                .projects()
                .iter()
                .map(|p| format!("<li>{} ({})</li>", escape(&p.id), escape(p.role.as_str())))
                .collect();
            Html(format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Join {org}</title></head><body>\
                 <h1>Join {org}</h1><p>{email} is invited as <b>{role}</b>, until {expires} (Unix time).</p>\
                 <p>Projects:</p><ul>{projects}</ul>\
                 <form method=\"post\"><label>Your name <input name=\"name\" required maxlength=\"256\"></label> \
                 <button type=\"submit\">Accept the invitation</button></form></body></html>",
                org = escape(&organization),
                email = escape(&invite.email),
                role = escape(invite.role.as_str()),
                expires = invite.expires_at,
                projects = projects.join(""),
            ))
            .into_response()
        }
        Err(e) => page_error(e.into()),
    }
}

async fn accept_form(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    // A form without a name is checked as an empty one, for the same message.
    let form: AcceptInvite = serde_html_form::from_bytes(&body).unwrap_or_default();
    let accepted = match acceptance(&form.name, peer, &headers) {
        Ok(acceptance) => state
            .store
            .accept_invite(&token, &acceptance)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match accepted {
        Ok(user) => Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Welcome</title></head><body>\
             <h1>Welcome, {}</h1><p>You are now a member as {}.</p></body></html>",
            escape(&user.name),
            escape(user.role.as_str())
        ))
        .into_response(),
        Err(e) => page_error(e),
    }
}

/// The API's error, with its status, as a page a person reads.
fn page_error(error: ApiError) -> Response {
    let response = error.into_response();
    let status = response.status();
    let message = match status.as_u16() {
        404 => "This invitation link is unknown or has already been used.",
        400 => {
            "This invitation cannot be accepted: it has expired, or the name is missing, or the address already belongs to a member."
        }
        _ => "Something went wrong; please try again later.",
    };
    (status, Html(format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>Invitation</title></head><body><p>{message}</p></body></html>"))).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
