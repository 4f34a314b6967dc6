//! Accepting an invite, Roster's addition to the API: the token from the email is the
//! credential. `POST /v1/invites/{token}/accept` for programs; `/invite/{token}` is the page the
//! email links to, with a form that accepts it.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, USER_AGENT,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path};
use super::users::UserObject;
use crate::domain::Error;
use crate::domain::invite::{self, Acceptance};
use crate::store::invites::InviteLink;
use crate::templates::{InvitePage, ProjectLine, StatePage, WelcomePage, render};

pub fn api_routes() -> Router<AppState> {
    Router::new().route("/invites/{token}/accept", post(accept))
}

pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/invite/{token}", get(page).post(accept_form))
        .layer(middleware::from_fn(page_headers))
        .route("/static/roster.css", get(stylesheet))
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
    match state.store.invite_link(&token).await {
        Ok(InviteLink::Pending(facts)) => html(StatusCode::OK, &InvitePage { invite: &facts }),
        Ok(link) => link_page(link),
        Err(e) => trouble(e.into()),
    }
}

async fn accept_form(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    if cross_site(&headers) {
        return state_page(
            StatusCode::FORBIDDEN,
            "This form was sent from another site",
            "Roster accepts an invitation only from its own page.",
            "Open the link from your invitation email and accept there.",
        );
    }
    // A form without a name is checked as an empty one, for the same message.
    let form: AcceptInvite = serde_html_form::from_bytes(&body).unwrap_or_default();
    let acceptance = match acceptance(&form.name, peer, &headers) {
        Ok(acceptance) => acceptance,
        Err(e) => {
            return state_page(
                StatusCode::BAD_REQUEST,
                "Your name is needed",
                &error_message(e),
                "Go back, give your name and accept again.",
            );
        }
    };
    match state.store.accept_invite(&token, &acceptance).await {
        Ok(user) => match state.store.welcome(&user.id).await {
            Ok((organization, projects)) => html(
                StatusCode::OK,
                &WelcomePage {
                    organization,
                    name: user.name,
                    role_in_words: user.role.in_words(),
                    role_meaning: user.role.meaning(),
                    projects: projects
                        .into_iter()
                        .map(|(name, role)| ProjectLine::new(name, role))
                        .collect(),
                },
            ),
            Err(e) => trouble(e.into()),
        },
        // Why it could not be accepted, as the link now tells it.
        Err(refusal) => match state.store.invite_link(&token).await {
            Ok(InviteLink::Pending(_)) => state_page(
                StatusCode::BAD_REQUEST,
                "This invitation cannot be accepted",
                &error_message(refusal.into()),
                "Ask the person who invited you, or an owner of the organization, for help.",
            ),
            Ok(link) => link_page(link),
            Err(e) => trouble(e.into()),
        },
    }
}

/// The page of a link that cannot be used: what happened and what to do, with its status (410
/// for a link that was good once, 404 for one that never was).
fn link_page(link: InviteLink) -> Response {
    match link {
        InviteLink::Pending(facts) => html(StatusCode::OK, &InvitePage { invite: &facts }),
        InviteLink::Expired {
            organization,
            inviter,
        } => state_page(
            StatusCode::GONE,
            "This invitation has expired",
            &format!("The invitation to join {organization} is no longer valid."),
            &format!("Ask {inviter} for a new invitation."),
        ),
        InviteLink::Accepted { organization } => state_page(
            StatusCode::GONE,
            "This invitation was already accepted",
            &format!(
                "Someone already accepted this invitation to join {organization}; it works once."
            ),
            &format!(
                "If that was you, you are a member of {organization} already. If not, ask an owner of {organization} for a new invitation."
            ),
        ),
        InviteLink::Revoked {
            organization,
            inviter,
        } => state_page(
            StatusCode::GONE,
            "This invitation was withdrawn",
            &format!("The invitation to join {organization} was withdrawn before it was accepted."),
            &format!("If you should still join, ask {inviter} for a new invitation."),
        ),
        InviteLink::Unknown => state_page(
            StatusCode::NOT_FOUND,
            "This invitation link is unknown",
            "No invitation matches this link.",
            "Check that you opened the whole link from your email, or ask the person who invited you for a new invitation.",
        ),
    }
}

/// A fault of Roster's, as a page.
fn trouble(error: ApiError) -> Response {
    let status = error.into_response().status();
    state_page(
        status,
        "Something went wrong",
        "Roster could not answer just now; nothing was changed.",
        "Try again in a moment.",
    )
}

fn state_page(status: StatusCode, title: &str, message: &str, advice: &str) -> Response {
    html(
        status,
        &StatePage {
            title: title.to_owned(),
            message: message.to_owned(),
            advice: advice.to_owned(),
        },
    )
}

fn html(status: StatusCode, template: &impl Template) -> Response {
    match render(template) {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// What a refusal says, for a page.
fn error_message(error: ApiError) -> String {
    match error {
        ApiError::Domain(Error::Invalid { message, .. }) => message.into_owned(),
        ApiError::Domain(Error::NotFound { message, .. }) => message,
        _ => "The invitation could not be accepted.".to_owned(),
    }
}

/// Whether a form post comes from another site: browsers say where a request comes from
/// (`Sec-Fetch-Site`, or else `Origin`), and only Roster's own page may accept. Programs that
/// send neither (curl) are not browsers a site could steer.
fn cross_site(headers: &HeaderMap) -> bool {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (None, _) => false,
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, rest)| rest) != Some(host),
        (Some(_), None) => true,
    }
}

/// Headers of every page: nothing but Roster's own stylesheet may load, no frame may hold it, it
/// is not cached (it tells a live invitation), and the token in its URL goes to no other site.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The pages' one stylesheet, compiled in.
async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        include_str!("../../static/roster.css"),
    )
        .into_response()
}
