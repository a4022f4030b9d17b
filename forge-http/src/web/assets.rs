//! The stylesheet, embedded in the binary and served under a name holding
//! its content's hash, so that browsers may keep it for a year.

use std::sync::OnceLock;

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::Response;
use sha2::{Digest, Sha256};

use crate::app::{full, ResBody};

const CSS: &str = include_str!("../../assets/forge.css");

/// `/static/forge.<hash>.css`.
pub(crate) fn css_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let hash = hex::encode(&Sha256::digest(CSS.as_bytes())[..8]);
        format!("/static/forge.{hash}.css")
    })
}

/// The static file at `path`, if there is one.
pub(crate) fn static_file(path: &str) -> Option<Response<ResBody>> {
    if path != css_path() {
        return None;
    }
    let mut resp = Response::new(full(Bytes::from_static(CSS.as_bytes())));
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Some(resp)
}
