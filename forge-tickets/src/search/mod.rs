//! Search over issues, pull requests and their comments: the query
//! language ([`query`]) and its run over the index's full-text table
//! (`search_text`, kept by triggers in the index's own transactions) and
//! rows ([`run`]).

pub(crate) mod index;
pub mod query;
pub mod run;

pub use index::optimize;
