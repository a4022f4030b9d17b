//! CI providers (issue 15), built up piece by piece: so far what a Jenkins
//! build's JSON means for a pull request's flag ([`jenkins`]).

pub mod jenkins;
