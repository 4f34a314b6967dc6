//! Integration tests: the real server on an ephemeral port, over HTTP. One test binary.

mod access;
mod admin_api_keys;
mod audit_log;
mod auth;
mod certificates;
mod cli;
mod common;
mod concurrency;
mod connections;
mod emulator;
mod errors;
mod forward_auth;
mod gateway;
mod invitation;
mod machine_identities;
mod mail;
mod membership;
mod metrics;
mod project_policies;
mod projects;
mod replicas;
mod scim;
mod sdk;
mod secrets;
mod serve;
mod traces;
