//! Who is logging in: citizens through an OpenID Connect provider (`oidc.rs`), staff with a
//! password and a one-time code, the demo's persona picker (`pages.rs`), and the browser's
//! session (`session.rs`). The checks themselves (sessions, passwords, codes) are use cases of
//! the application layer (`amtsweg_app::accounts`).

pub mod form_token;
pub mod oidc;
pub(crate) mod pages;
pub mod paths;
pub mod session;

pub use pages::router;
