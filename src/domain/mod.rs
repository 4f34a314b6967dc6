//! Entities, rules and the error type. Nothing here does I/O: the store calls these rules
//! on rows it has read inside its transaction, and the API turns their errors into HTTP.

pub mod admin_key;
pub mod audit;
pub mod certificate;
pub mod clock;
pub mod error;
pub mod fixtures;
pub mod gateway;
pub mod group;
pub mod ids;
pub mod invite;
pub mod name;
pub mod organization;
pub mod page;
pub mod policy;
pub mod principal;
pub mod project;
pub mod project_key;
pub mod project_user;
pub mod role;
pub mod scim;
pub mod secret;
pub mod user;

pub use clock::Clock;
pub use error::{Error, Result};
