//! Jenkins as Pagure speaks to it: after Jenkins' notification names a
//! build, forge reads the build from Jenkins' JSON API
//! (`/job/<job>/<number>/api/json`) and flags the pull request with what
//! it says.

use forge_tickets::request::FlagStatus;
use forge_tickets::NewFlag;
use serde::Deserialize;

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
}

impl Build {
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
