//! E-mail: reading an incoming message ([`message`]) and what a reply
//! says without what it quotes ([`trim`]).

pub mod message;
pub mod trim;

pub use trim::trim;
