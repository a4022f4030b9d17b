//! E-mail: what a reply says ([`trim`]).

pub mod trim;

pub use trim::trim;
