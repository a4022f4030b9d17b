//! GitHub replication (issue 15), built up piece by piece: so far what
//! GitHub's REST responses say about paging and rate limits.

pub mod paging;
