//! GitHub replication (issue 15), built up piece by piece: so far GitHub's
//! objects as payloads and the REST API give them ([`model`]), and what
//! its REST responses say about paging and rate limits ([`paging`]).

pub mod model;
pub mod paging;
