//! E-mail: reading an incoming message ([`message`]), reply addresses
//! ([`reply`]) and what a reply says without what it quotes ([`trim`]).

pub mod compose;
pub mod ingest;
pub mod message;
pub mod milter;
pub mod notify;
pub mod prefs;
pub mod recipients;
pub mod relay;
pub mod reply;
pub mod trim;

pub use trim::trim;
