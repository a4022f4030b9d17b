//! The stylesheet and the one script, embedded in the binary and served
//! under names holding their content's hash, so that browsers may keep
//! them for a year.

use std::sync::OnceLock;

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::Response;
use sha2::{Digest, Sha256};

use crate::app::{full, ResBody};

const CSS: &str = include_str!("../../assets/forge.css");
const JS: &str = include_str!("../../assets/forge.js");

fn hashed(name: &str, ext: &str, content: &str) -> String {
    let hash = hex::encode(&Sha256::digest(content.as_bytes())[..8]);
    format!("/static/{name}.{hash}.{ext}")
}

/// `/static/forge.<hash>.css`.
pub(crate) fn css_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| hashed("forge", "css", CSS))
}

/// `/static/forge.<hash>.js`.
pub(crate) fn js_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| hashed("forge", "js", JS))
}

/// The static file at `path`, if there is one.
pub(crate) fn static_file(path: &str) -> Option<Response<ResBody>> {
    let (content, kind) = if path == css_path() {
        (CSS, "text/css; charset=utf-8")
    } else if path == js_path() {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return None;
    };
    let mut resp = Response::new(full(Bytes::from_static(content.as_bytes())));
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
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
