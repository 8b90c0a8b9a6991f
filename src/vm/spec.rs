//! What `--kernel` names: a Debian series, a kernel image on disk, or the
//! host itself.

use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelSpec {
    Debian(Series),
    Image(PathBuf),
    Host,
    /// A kernel already in the cache (its directory with SOURCE.json).
    Cached(PathBuf),
}

/// A spec with extra kernel command-line words: `debian:6.12,mitigations=off`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub spec: KernelSpec,
    pub append: Vec<String>,
    /// As the user wrote it, for the column label.
    pub text: String,
}

impl Target {
    pub fn parse(s: &str) -> Result<Target, String> {
        let mut parts = s.split(',');
        let spec = KernelSpec::parse(parts.next().unwrap_or(""))?;
        let append: Vec<String> = parts.filter(|p| !p.is_empty()).map(str::to_string).collect();
        if spec == KernelSpec::Host && !append.is_empty() {
            return Err(format!("--kernel {s}: the host's command line cannot be changed"));
        }
        Ok(Target { spec, append, text: s.to_string() })
    }
}

/// The default matrix: four Debian series and the host.
pub const DEFAULT: &[&str] = &["debian:5.10", "debian:6.1", "debian:6.12", "debian:sid", "host"];

impl KernelSpec {
    pub fn parse(s: &str) -> Result<KernelSpec, String> {
        if s == "host" {
            return Ok(KernelSpec::Host);
        }
        if let Some(series) = s.strip_prefix("debian:") {
            return Series::parse(series).map(KernelSpec::Debian);
        }
        let p = PathBuf::from(s);
        if p.is_file() {
            return Ok(KernelSpec::Image(p));
        }
        Err(format!("--kernel {s}: not `host`, a Debian series (debian:5.10, debian:6.1, debian:6.12, debian:sid) or an existing kernel image file"))
    }

    pub fn label(&self) -> String {
        match self {
            KernelSpec::Debian(s) => s.label(),
            KernelSpec::Image(p) => p.display().to_string(),
            KernelSpec::Host => "host".into(),
            KernelSpec::Cached(d) => d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        }
    }
}

/// A Debian kernel series: `5.10`, `6.1`, `6.12`, ... or `sid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series(String);

const SUFFIXES: [&str; 2] = ["-cloud-amd64-unsigned", "-cloud-amd64"];

impl Series {
    pub fn parse(s: &str) -> Result<Series, String> {
        let ok = s == "sid" || {
            let parts: Vec<&str> = s.split('.').collect();
            parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        };
        if ok { Ok(Series(s.to_string())) } else { Err(format!("debian:{s}: a series is MAJOR.MINOR (5.10, 6.1, 6.12) or sid")) }
    }

    pub fn id(&self) -> String {
        format!("debian-{}", self.0)
    }

    pub fn label(&self) -> String {
        format!("debian:{}", self.0)
    }

    pub fn name_prefix(&self) -> &'static str {
        if self.0 == "sid" { "linux-" } else { "linux-image-" }
    }

    pub fn describe_pattern(&self) -> String {
        if self.0 == "sid" {
            "linux-binary[-unsigned]-VERSION+deb14-cloud-amd64 or linux-image-VERSION+deb14-cloud-amd64[-unsigned]".into()
        } else {
            format!("linux-image-{}.0-ABI-cloud-amd64[-unsigned] or linux-image-{}.PATCH+debN-cloud-amd64[-unsigned]", self.0, self.0)
        }
    }

    /// Whether a package name is a cloud kernel image of this series.
    pub fn matches(&self, name: &str) -> bool {
        if self.0 == "sid" {
            let body = name.strip_prefix("linux-binary-unsigned-").or_else(|| name.strip_prefix("linux-binary-"));
            if let Some(b) = body {
                return b.strip_suffix("-cloud-amd64").is_some_and(|v| v.contains("+deb14"));
            }
            return name.strip_prefix("linux-image-").and_then(strip_cloud).is_some_and(|v| v.contains("+deb14"));
        }
        let Some(rest) = name.strip_prefix(&format!("linux-image-{}", self.0)).and_then(strip_cloud) else { return false };
        // `.0-57` (5.10, 6.1) or `.118+deb12` / `.90+deb13.1` (6.12 on).
        if let Some(abi) = rest.strip_prefix(".0-") {
            return !abi.is_empty() && abi.chars().all(|c| c.is_ascii_digit());
        }
        let Some(r) = rest.strip_prefix('.') else { return false };
        let Some((patch, deb)) = r.split_once("+deb") else { return false };
        let deb_ok = deb.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        !patch.is_empty() && patch.chars().all(|c| c.is_ascii_digit()) && deb_ok
    }

    /// The package holding the config for the new (sid) packaging.
    pub fn config_package(&self, name: &str) -> Option<String> {
        let v = name.strip_prefix("linux-binary-unsigned-").or_else(|| name.strip_prefix("linux-binary-"))?;
        Some(format!("linux-base-{v}"))
    }
}

fn strip_cloud(s: &str) -> Option<&str> {
    SUFFIXES.iter().find_map(|suf| s.strip_suffix(suf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_match_package_names() {
        let s = |x: &str| Series::parse(x).unwrap();
        assert!(s("5.10").matches("linux-image-5.10.0-46-cloud-amd64-unsigned"));
        assert!(s("5.10").matches("linux-image-5.10.0-46-cloud-amd64"));
        assert!(!s("5.10").matches("linux-image-5.10.0-46-cloud-amd64-dbg"));
        assert!(s("6.1").matches("linux-image-6.1.0-57-cloud-amd64-unsigned"));
        assert!(!s("6.1").matches("linux-image-6.1.0-0.deb11.52-cloud-amd64-unsigned"));
        assert!(!s("6.1").matches("linux-image-6.12.118+deb12-cloud-amd64"));
        assert!(s("6.12").matches("linux-image-6.12.118+deb13-cloud-amd64-unsigned"));
        assert!(s("6.12").matches("linux-image-6.12.90+deb13.1-cloud-amd64"));
        assert!(s("sid").matches("linux-binary-unsigned-7.2.13+deb14-cloud-amd64"));
        assert!(!s("sid").matches("linux-image-cloud-amd64"));
        assert_eq!(s("sid").config_package("linux-binary-unsigned-7.2.13+deb14-cloud-amd64").as_deref(), Some("linux-base-7.2.13+deb14-cloud-amd64"));
        assert!(Series::parse("6").is_err());
        assert!(KernelSpec::parse("debian:bogus").is_err());
        assert!(KernelSpec::parse("/no/such/bzImage").unwrap_err().contains("existing kernel image"));
    }
}
