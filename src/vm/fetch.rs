//! Debian cloud kernels from Debian's archive, through a private apt
//! configuration (its own sources list, state and cache under our cache
//! directory), so the system's apt setup is never read or changed.
//!
//! Package names change with every upload and superseded files vanish
//! from the pool while still listed, so we list every candidate of a
//! series, newest first (unsigned before its signed twin, which boots the
//! same), and fall back down the list when a download fails.

use super::debver;
use super::spec::Series;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const MIRROR: &str = "http://deb.debian.org";
pub const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// The index is refreshed when older than this (package names move weekly).
const INDEX_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A kernel ready to boot, and where it came from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Kernel {
    pub label: String,
    pub image: PathBuf,
    pub config: Option<PathBuf>,
    /// `linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.192-3`, or the path given.
    pub package: String,
    pub package_version: String,
    pub source_url: String,
}

pub fn cache_dir() -> PathBuf {
    if let Ok(d) = std::env::var("EPOLLCHECK_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|_| std::env::temp_dir());
    base.join("epollcheck")
}

struct Apt {
    dir: PathBuf,
}

impl Apt {
    fn new(cache: &Path) -> Result<Apt, String> {
        let dir = cache.join("apt");
        for sub in ["state/lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| format!("cannot create {}: {e}", dir.join(sub).display()))?;
        }
        let status = dir.join("state/status");
        if !status.exists() {
            std::fs::write(&status, "").map_err(|e| format!("cannot create {}: {e}", status.display()))?;
        }
        if !Path::new(KEYRING).exists() {
            return Err(format!("{KEYRING} is missing: install the debian-archive-keyring package (apt-get install debian-archive-keyring), or pass --kernel PATH to a kernel image"));
        }
        let suites = [
            ("debian", "bullseye"),
            ("debian-security", "bullseye-security"),
            ("debian", "bookworm"),
            ("debian-security", "bookworm-security"),
            ("debian", "bookworm-backports"),
            ("debian", "trixie"),
            ("debian-security", "trixie-security"),
            ("debian", "sid"),
        ];
        let list: String = suites.iter().map(|(repo, s)| format!("deb [signed-by={KEYRING}] {MIRROR}/{repo} {s} main\n")).collect();
        std::fs::write(dir.join("sources.list"), list).map_err(|e| format!("cannot write the private sources.list: {e}"))?;
        Ok(Apt { dir })
    }

    fn opts(&self) -> Vec<String> {
        let d = self.dir.display();
        [
            format!("Dir::Etc::SourceList={d}/sources.list"),
            "Dir::Etc::SourceParts=/nonexistent".into(),
            format!("Dir::State={d}/state"),
            format!("Dir::State::status={d}/state/status"),
            format!("Dir::Cache={d}/cache"),
            "Debug::NoLocking=1".into(),
            "APT::Architecture=amd64".into(),
            "APT::Architectures=amd64".into(),
            // Downloads land in our own directories, which apt's _apt
            // sandbox user could not write to.
            "APT::Sandbox::User=root".into(),
            "Acquire::Languages=none".into(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_string(), o])
        .collect()
    }

    fn run(&self, tool: &str, args: &[&str], cwd: Option<&Path>) -> Result<String, String> {
        let mut cmd = Command::new(tool);
        cmd.args(self.opts()).args(args);
        if let Some(c) = cwd {
            cmd.current_dir(c);
        }
        let out = cmd.output().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{tool} is not installed: fetching Debian kernels needs apt (Debian or Ubuntu); or pass --kernel PATH to a kernel image"),
            _ => format!("cannot run {tool}: {e}"),
        })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(3).collect();
            return Err(format!("{tool} {} failed: {}", args.join(" "), tail.into_iter().rev().collect::<Vec<_>>().join(" / ")));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn index_age(&self) -> Option<std::time::Duration> {
        let lists = self.dir.join("state/lists");
        let newest = std::fs::read_dir(&lists)
            .ok()?
            .flatten()
            // apt keeps lists compressed: `..._Packages.lz4`.
            .filter(|e| e.file_name().to_string_lossy().contains("_Packages"))
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max()?;
        newest.elapsed().ok()
    }

    fn update(&self) -> Result<(), String> {
        self.run("apt-get", &["-q", "update"], None).map(|_| ()).map_err(|e| format!("{e}\n(cannot reach {MIRROR}? use kernels already cached, or --kernel PATH)"))
    }

    /// `(package, version, filename)` of every package matching `series`.
    fn candidates(&self, series: &Series) -> Result<Vec<(String, String, String)>, String> {
        let names = self.run("apt-cache", &["pkgnames", series.name_prefix()], None)?;
        let mut out = Vec::new();
        for name in names.lines().filter(|n| series.matches(n)) {
            let show = self.run("apt-cache", &["show", name], None)?;
            // A package may be listed by several suites; each stanza is a candidate.
            for stanza in show.split("\n\n") {
                let field = |k: &str| stanza.lines().find_map(|l| l.strip_prefix(&format!("{k}: "))).map(str::to_string);
                if let (Some(v), Some(f)) = (field("Version"), field("Filename")) {
                    out.push((name.to_string(), v, f));
                }
            }
        }
        // Newest version first; an unsigned package before its signed twin.
        out.sort_by(|a, b| debver::compare(&b.1, &a.1).then_with(|| b.0.ends_with("-unsigned").cmp(&a.0.ends_with("-unsigned"))).then_with(|| a.0.cmp(&b.0)));
        out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        Ok(out)
    }
}

/// Returns a cached kernel of the series, fetching one if none is cached
/// (or if `refresh`).
pub fn debian_kernel(series: &Series, refresh: bool, log: &dyn Fn(&str)) -> Result<Kernel, String> {
    let cache = cache_dir();
    let kdir = cache.join("kernels").join(series.id());
    if !refresh {
        if let Some(k) = newest_cached(&kdir) {
            return Ok(k);
        }
    }
    let apt = Apt::new(&cache)?;
    let mut updated = false;
    if refresh || apt.index_age().is_none_or(|a| a > INDEX_MAX_AGE) {
        log(&format!("updating the private package index under {}", apt.dir.display()));
        apt.update()?;
        updated = true;
    }
    let mut cands = apt.candidates(series)?;
    if cands.is_empty() && !updated {
        log("no candidate in the cached index; updating it");
        apt.update()?;
        cands = apt.candidates(series)?;
    }
    if cands.is_empty() {
        return Err(format!("no package for {} in Debian's archive (searched {} with the pattern {})", series.label(), series.name_prefix(), series.describe_pattern()));
    }
    let mut errors = Vec::new();
    for (name, version, filename) in cands.iter().take(6) {
        log(&format!("{}: downloading {name} {version}", series.label()));
        match download_and_extract(&apt, &kdir, series, name, version, filename) {
            Ok(k) => return Ok(k),
            Err(e) => errors.push(format!("{name} {version}: {e}")),
        }
    }
    Err(format!("every candidate for {} failed to download:\n  {}", series.label(), errors.join("\n  ")))
}

/// Every kernel in the cache, each with the directory it lives in.
pub fn all_cached() -> Vec<(PathBuf, Kernel)> {
    let root = cache_dir().join("kernels");
    let mut out = Vec::new();
    for series in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for k in std::fs::read_dir(series.path()).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(k.path().join("SOURCE.json")).unwrap_or_default();
            if let Ok(kernel) = serde_json::from_str::<Kernel>(&text) {
                if kernel.image.exists() {
                    out.push((k.path(), kernel));
                }
            }
        }
    }
    out
}

pub fn load_cached(dir: &Path) -> Result<Kernel, String> {
    let text = std::fs::read_to_string(dir.join("SOURCE.json")).map_err(|e| format!("{}: not a cached kernel ({e})", dir.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}/SOURCE.json: {e}", dir.display()))
}

fn newest_cached(kdir: &Path) -> Option<Kernel> {
    let mut found: Vec<Kernel> = std::fs::read_dir(kdir)
        .ok()?
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("SOURCE.json")).ok())
        .filter_map(|t| serde_json::from_str::<Kernel>(&t).ok())
        .filter(|k| k.image.exists())
        .collect();
    found.sort_by(|a, b| debver::compare(&b.package_version, &a.package_version));
    found.into_iter().next()
}

fn download_and_extract(apt: &Apt, kdir: &Path, series: &Series, name: &str, version: &str, filename: &str) -> Result<Kernel, String> {
    let work = tempfile::Builder::new().prefix("epollcheck-kernel-").tempdir().map_err(|e| e.to_string())?;
    apt.run("apt-get", &["-q", "download", &format!("{name}={version}")], Some(work.path()))?;
    let mut debs: Vec<PathBuf> = std::fs::read_dir(work.path()).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
    // The new packaging (sid) keeps the config in a separate linux-base package.
    if let Some(base) = series.config_package(name) {
        if apt.run("apt-get", &["-q", "download", &format!("{base}={version}")], Some(work.path())).is_ok() {
            debs = std::fs::read_dir(work.path()).map_err(|e| e.to_string())?.flatten().map(|e| e.path()).collect();
        }
    }
    let tree = work.path().join("tree");
    for deb in debs.iter().filter(|d| d.extension().is_some_and(|x| x == "deb")) {
        let out = Command::new("dpkg").arg("-x").arg(deb).arg(&tree).output().map_err(|e| format!("cannot run dpkg: {e} (install dpkg)"))?;
        if !out.status.success() {
            return Err(format!("dpkg -x {} failed: {}", deb.display(), String::from_utf8_lossy(&out.stderr).trim()));
        }
    }
    let image = find(&tree, &|n| n.starts_with("vmlinuz")).ok_or("the package holds no vmlinuz")?;
    let config = find(&tree, &|n| n.starts_with("config-") || n == "config");
    let dest = kdir.join(format!("{name}_{version}"));
    std::fs::create_dir_all(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    std::fs::copy(&image, dest.join("vmlinuz")).map_err(|e| format!("cannot copy the image: {e}"))?;
    if let Some(c) = &config {
        std::fs::copy(c, dest.join("config")).map_err(|e| format!("cannot copy the config: {e}"))?;
    }
    let k = Kernel {
        label: series.label(),
        image: dest.join("vmlinuz"),
        config: config.map(|_| dest.join("config")),
        package: name.to_string(),
        package_version: version.to_string(),
        source_url: format!("{MIRROR}/{}", filename.trim_start_matches('/')),
    };
    let json = serde_json::to_string_pretty(&k).map_err(|e| e.to_string())?;
    std::fs::write(dest.join("SOURCE.json"), json).map_err(|e| format!("cannot record the source: {e}"))?;
    Ok(k)
}

fn find(dir: &Path, pred: &dyn Fn(&str) -> bool) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, pred) {
                return Some(f);
            }
        } else if p.file_name().and_then(|n| n.to_str()).is_some_and(pred) {
            return Some(p);
        }
    }
    None
}
