//! Jenkins as Pagure speaks to it. A build of a pull request is asked for
//! with `POST <url>/job/<job>/buildWithParameters` carrying the job's
//! trigger token and the parameters `REPO`, `BRANCH`, `BRANCH_TO` and
//! `cause` (the pull request's number). Jenkins' notification then calls
//! forge back naming the build, and forge reads the build from Jenkins'
//! JSON API (`<url>/job/<job>/<number>/api/json`) and flags the pull
//! request with what it says. A job in a folder is named `folder/job`.

use forge_tickets::request::FlagStatus;
use forge_tickets::NewFlag;
use serde::Deserialize;
use url::Url;

use super::{redact, BuildRequest, Failure, Net, Provider, Report};
use crate::{deliver, ssrf};

/// Most bytes of a build's JSON read (only the fields asked for come).
const JSON_LIMIT: u64 = 256 * 1024;
/// The fields asked of a build (Jenkins' `tree` filter).
const TREE: &str = "number,result,building,url,actions[parameters[name,value]]";

/// A Jenkins server's job, with the token that triggers it.
#[derive(Clone)]
pub struct Jenkins {
    url: String,
    job: String,
    token: String,
}

impl std::fmt::Debug for Jenkins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jenkins")
            .field("url", &self.url)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl Jenkins {
    /// The job `job` (`folder/name` in a folder) of the server at `url`,
    /// triggered with `token`.
    pub fn new(url: &str, job: &str, token: &str) -> Jenkins {
        Jenkins {
            url: url.trim_end_matches('/').to_string(),
            job: job.to_string(),
            token: token.to_string(),
        }
    }

    /// The job's URL: `<url>/job/<a>/job/<b>` for `a/b`, each name encoded.
    fn job_url(&self) -> Result<Url, Failure> {
        let mut url = Url::parse(&format!("{}/", self.url)).map_err(|e| {
            Failure::Never(format!(
                "the Jenkins URL `{}` does not parse ({e})",
                self.url
            ))
        })?;
        {
            let mut path = url.path_segments_mut().map_err(|_| {
                Failure::Never(format!("the Jenkins URL `{}` cannot have a path", self.url))
            })?;
            path.pop_if_empty();
            for name in self.job.split('/') {
                path.push("job").push(name);
            }
        }
        Ok(url)
    }

    fn target(&self, url: &Url, net: &Net) -> Result<ssrf::Target, Failure> {
        ssrf::check(url.as_str(), net.allow_private, &ssrf::system_resolve).map_err(|e| {
            Failure::Later(format!(
                "the Jenkins URL `{}` is refused: {}",
                self.url,
                redact(&e.reason, &[&self.token])
            ))
        })
    }

    /// What an answer without a status means: Jenkins could not be reached.
    fn unreachable(&self, error: Option<&str>) -> Failure {
        Failure::Later(format!(
            "Jenkins at {} could not be reached: {}",
            self.url,
            redact(error.unwrap_or("no answer"), &[&self.token])
        ))
    }
}

impl Provider for Jenkins {
    fn trigger(&self, request: &BuildRequest, net: &Net) -> Result<(), Failure> {
        let mut url = self.job_url()?;
        url.path_segments_mut()
            .map_err(|_| Failure::Never("the Jenkins URL cannot have a path".into()))?
            .push("buildWithParameters");
        url.query_pairs_mut()
            .append_pair("token", &self.token)
            .append_pair("REPO", &request.repo_url)
            .append_pair("BRANCH", &request.branch)
            .append_pair("BRANCH_TO", &request.branch_to)
            .append_pair("cause", &request.pull.to_string());
        let target = self.target(&url, net)?;
        let answer = deliver::post(&target, &[], b"", net.timeout);
        let job = &self.job;
        match answer.status {
            Some(200..=299) => Ok(()),
            Some(s @ (401 | 403)) => Err(Failure::Never(format!(
                "Jenkins refused to build job `{job}` (HTTP {s}): is the trigger token the job's (`forge ci set`)?"
            ))),
            Some(404) => Err(Failure::Never(format!(
                "Jenkins at {} has no job `{job}` taking parameters (HTTP 404)",
                self.url
            ))),
            Some(s) if s == 429 || s >= 500 => Err(Failure::Later(format!(
                "Jenkins answered HTTP {s} to the build of job `{job}`"
            ))),
            Some(s) => Err(Failure::Never(format!(
                "Jenkins answered HTTP {s} to the build of job `{job}`"
            ))),
            None => Err(self.unreachable(answer.error.as_deref())),
        }
    }

    fn report(&self, number: u64, net: &Net) -> Result<Report, Failure> {
        let mut url = self.job_url()?;
        url.path_segments_mut()
            .map_err(|_| Failure::Never("the Jenkins URL cannot have a path".into()))?
            .push(&number.to_string())
            .push("api")
            .push("json");
        url.query_pairs_mut().append_pair("tree", TREE);
        let target = self.target(&url, net)?;
        let answer = deliver::get(&target, &[], net.timeout, JSON_LIMIT);
        let job = &self.job;
        match answer.status {
            Some(200) => {}
            Some(404) => {
                return Err(Failure::Never(format!(
                    "Jenkins knows no build {number} of job `{job}` (HTTP 404)"
                )))
            }
            Some(s) if s == 429 || s >= 500 => {
                return Err(Failure::Later(format!(
                    "Jenkins answered HTTP {s} about build {number} of job `{job}`"
                )))
            }
            Some(s) => {
                return Err(Failure::Never(format!(
                    "Jenkins answered HTTP {s} about build {number} of job `{job}`"
                )))
            }
            None => return Err(self.unreachable(answer.error.as_deref())),
        }
        let build: Build = serde_json::from_str(&answer.response).map_err(|e| {
            Failure::Later(format!(
                "Jenkins' JSON about build {number} of job `{job}` does not read ({e})"
            ))
        })?;
        let pull = build.pull().ok_or_else(|| {
            Failure::Never(format!(
                "build {number} of job `{job}` names no pull request (its `cause` parameter is missing or not a number): was it started by forge?"
            ))
        })?;
        Ok(Report {
            pull,
            flag: build.flag("jenkins"),
            finished: build.finished(),
        })
    }
}

/// The fields of a build's `api/json` that the flag is made of.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Build {
    /// The build's number.
    #[serde(default)]
    pub number: Option<u64>,
    /// `SUCCESS`, `UNSTABLE`, `FAILURE`, `NOT_BUILT`, `ABORTED`; null
    /// while it runs.
    #[serde(default)]
    pub result: Option<String>,
    /// Whether it still runs.
    #[serde(default)]
    pub building: bool,
    /// The build's page.
    #[serde(default)]
    pub url: Option<String>,
    /// What Jenkins did for it; the parameters it was given are among
    /// them.
    #[serde(default)]
    pub actions: Vec<serde_json::Value>,
}

impl Build {
    /// The value of the parameter `name` the build was given.
    pub fn parameter(&self, name: &str) -> Option<String> {
        self.actions
            .iter()
            .filter_map(|a| a.get("parameters")?.as_array())
            .flatten()
            .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
            .and_then(|p| match p.get("value")? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    }

    /// The pull request it was built for: its `cause` parameter.
    pub fn pull(&self) -> Option<u64> {
        self.parameter("cause")?.trim().parse().ok()
    }

    /// Whether the build has ended, so that its flag is final (while it
    /// runs, the flag is pending and the build is read again later).
    pub fn finished(&self) -> bool {
        !self.building && self.result.is_some()
    }

    /// The flag `name` that the build makes: SUCCESS success at 100%,
    /// FAILURE and UNSTABLE failure at 0%, ABORTED and NOT_BUILT canceled,
    /// running pending, any other result an error that names it.
    pub fn flag(&self, name: &str) -> NewFlag {
        let (status, percent, comment) = match (self.building, self.result.as_deref()) {
            (true, _) | (false, None) => (FlagStatus::Pending, None, "Build in progress".into()),
            (false, Some("SUCCESS")) => (FlagStatus::Success, Some(100), "Build successful".into()),
            (false, Some("FAILURE")) => (FlagStatus::Failure, Some(0), "Build failed".into()),
            (false, Some("UNSTABLE")) => (FlagStatus::Failure, Some(0), "Build unstable".into()),
            (false, Some("ABORTED")) => (FlagStatus::Canceled, None, "Build aborted".into()),
            (false, Some("NOT_BUILT")) => (FlagStatus::Canceled, None, "Build not run".into()),
            (false, Some(other)) => (
                FlagStatus::Error,
                None,
                format!("Jenkins answered an unknown result: {}", shown(other)),
            ),
        };
        NewFlag {
            name: name.to_string(),
            status,
            percent,
            comment,
            url: self.url.clone(),
        }
    }
}

/// `text` as a flag may show it: at most 40 characters, no control ones.
fn shown(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(json: &str) -> Build {
        serde_json::from_str(json).expect("build JSON")
    }

    #[test]
    fn each_result_makes_its_flag() {
        let url = "http://ci.example/job/hammer/7/";
        for (result, building, status, percent) in [
            ("\"SUCCESS\"", false, FlagStatus::Success, Some(100)),
            ("\"FAILURE\"", false, FlagStatus::Failure, Some(0)),
            ("\"UNSTABLE\"", false, FlagStatus::Failure, Some(0)),
            ("\"ABORTED\"", false, FlagStatus::Canceled, None),
            ("\"NOT_BUILT\"", false, FlagStatus::Canceled, None),
            ("null", true, FlagStatus::Pending, None),
            ("null", false, FlagStatus::Pending, None),
        ] {
            let b = build(&format!(
                r#"{{"_class": "hudson.model.FreeStyleBuild", "number": 7, "result": {result}, "building": {building}, "url": "{url}", "duration": 0}}"#
            ));
            let flag = b.flag("jenkins");
            assert_eq!((flag.status, flag.percent), (status, percent), "{result}");
            assert_eq!(flag.url.as_deref(), Some(url));
            assert_eq!(b.finished(), status != FlagStatus::Pending, "{result}");
        }
    }

    /// A loopback server answering each request with the next of
    /// `answers` (status, body), and the request lines it got.
    fn server(answers: Vec<(u16, &'static str)>) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{BufRead as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/ci", listener.local_addr().expect("addr"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for (status, body) in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = std::io::BufReader::new(stream.try_clone().expect("clone"));
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let _ = tx.send(first.trim_end().to_string());
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (url, rx)
    }

    fn net() -> Net {
        Net {
            allow_private: true,
            timeout: std::time::Duration::from_secs(5),
        }
    }

    fn request() -> BuildRequest {
        BuildRequest {
            pull: 3,
            repo_url: "http://forge.example/forks/bob/hammer.git".into(),
            branch: "fix/it & more".into(),
            branch_to: "main".into(),
        }
    }

    #[test]
    fn a_build_is_asked_for_with_pagures_parameters() {
        let (url, got) = server(vec![(201, ""), (403, "no"), (404, ""), (503, "")]);
        let jenkins = Jenkins::new(&url, "tools/hammer ci", "s3cr&t");
        jenkins.trigger(&request(), &net()).expect("201 is taken");
        let line = got.recv().expect("request");
        assert!(
            line.starts_with("POST /ci/job/tools/job/hammer%20ci/buildWithParameters?token=s3cr%26t&REPO=http%3A%2F%2Fforge.example%2Fforks%2Fbob%2Fhammer.git&BRANCH=fix%2Fit+%26+more&BRANCH_TO=main&cause=3 "),
            "{line}"
        );
        let e = jenkins.trigger(&request(), &net()).expect_err("403");
        assert!(
            matches!(&e, Failure::Never(m) if m.contains("trigger token")),
            "{e:?}"
        );
        let e = jenkins.trigger(&request(), &net()).expect_err("404");
        assert!(
            matches!(&e, Failure::Never(m) if m.contains("no job `tools/hammer ci`")),
            "{e:?}"
        );
        let e = jenkins.trigger(&request(), &net()).expect_err("503");
        assert!(
            matches!(&e, Failure::Later(m) if m.contains("503")),
            "{e:?}"
        );
    }

    #[test]
    fn a_down_server_is_retried_and_the_token_never_shows() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        let jenkins = Jenkins::new(&url, "hammer", "s3cr&t");
        let e = jenkins.trigger(&request(), &net()).expect_err("down");
        let text = e.to_string();
        assert!(matches!(e, Failure::Later(_)), "{text}");
        assert!(text.contains("could not be reached"), "{text}");
        assert!(!text.contains("s3cr"), "{text}");
        let e = Jenkins::new(&url, "hammer", "t")
            .trigger(
                &request(),
                &Net {
                    allow_private: false,
                    ..net()
                },
            )
            .expect_err("loopback refused");
        assert!(e.to_string().contains("refused"), "{e}");
    }

    #[test]
    fn a_report_reads_the_pull_request_from_the_cause_parameter() {
        let running = r#"{"number": 7, "result": null, "building": true, "url": "http://ci/job/hammer/7/",
            "actions": [{}, {"_class": "hudson.model.ParametersAction", "parameters": [
                {"name": "REPO", "value": "x"}, {"name": "cause", "value": "12"}]}]}"#;
        let done = r#"{"number": 7, "result": "SUCCESS", "building": false, "url": "http://ci/job/hammer/7/",
            "actions": [{"parameters": [{"name": "cause", "value": "12"}]}]}"#;
        let manual = r#"{"number": 8, "result": "SUCCESS", "building": false, "actions": []}"#;
        let (url, got) = server(vec![
            (200, running),
            (200, done),
            (200, manual),
            (404, "<html>"),
            (200, "{\"number\": 9, \"result\""),
        ]);
        let jenkins = Jenkins::new(&url, "hammer", "t");
        let r = jenkins.report(7, &net()).expect("running");
        assert_eq!(
            (r.pull, r.finished, r.flag.status),
            (12, false, FlagStatus::Pending)
        );
        let line = got.recv().expect("request");
        assert!(
            line.starts_with("GET /ci/job/hammer/7/api/json?tree="),
            "{line}"
        );
        let r = jenkins.report(7, &net()).expect("done");
        assert_eq!(
            (r.pull, r.finished, r.flag.status),
            (12, true, FlagStatus::Success)
        );
        let e = jenkins.report(8, &net()).expect_err("no cause");
        assert!(
            matches!(&e, Failure::Never(m) if m.contains("names no pull request")),
            "{e:?}"
        );
        let e = jenkins.report(404, &net()).expect_err("unknown build");
        assert!(
            matches!(&e, Failure::Never(m) if m.contains("knows no build 404")),
            "{e:?}"
        );
        let e = jenkins.report(9, &net()).expect_err("truncated");
        assert!(
            matches!(&e, Failure::Later(m) if m.contains("does not read")),
            "{e:?}"
        );
    }

    #[test]
    fn an_unknown_result_is_an_error_that_names_it_briefly() {
        let b = build(&format!(
            r#"{{"result": "WEIRD\u0007{}", "building": false}}"#,
            "x".repeat(100)
        ));
        let flag = b.flag("jenkins");
        assert_eq!(flag.status, FlagStatus::Error);
        assert!(
            flag.comment.contains("unknown result: WEIRDxxx"),
            "{}",
            flag.comment
        );
        assert!(flag.comment.len() < 80, "{}", flag.comment);
        assert!(b.finished());
    }
}
