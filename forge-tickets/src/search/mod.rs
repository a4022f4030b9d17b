//! Search over issues, pull requests and their comments: the query
//! language ([`query`]).

pub mod query;
