//! The guest's initramfs, written directly as a `newc` cpio archive: our
//! own binary as /init (and its shared libraries, if it has any), busybox
//! when the host has it (for `--shell`), the case tree and the kernel's
//! config.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Cpio {
    out: Vec<u8>,
    ino: u32,
    dirs: BTreeSet<String>,
}

impl Default for Cpio {
    fn default() -> Self {
        Cpio::new()
    }
}

impl Cpio {
    pub fn new() -> Cpio {
        Cpio { out: Vec::new(), ino: 1, dirs: BTreeSet::new() }
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        let name = name.trim_start_matches('/');
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino, mode, 0, 0, 1, 0, data.len(), 0, 0, 0, 0, name.len() + 1, 0
        );
        self.ino += 1;
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        pad4(&mut self.out);
        self.out.extend_from_slice(data);
        pad4(&mut self.out);
    }

    /// Adds every missing parent directory of `path`, then `path` itself
    /// when `is_dir`.
    pub fn dir(&mut self, path: &str) {
        let mut cur = String::new();
        for part in path.trim_matches('/').split('/').filter(|p| !p.is_empty()) {
            cur.push('/');
            cur.push_str(part);
            if self.dirs.insert(cur.clone()) {
                let c = cur.clone();
                self.entry(&c, 0o040755, &[]);
            }
        }
    }

    pub fn file(&mut self, path: &str, data: &[u8], executable: bool) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entry(path, if executable { 0o100755 } else { 0o100644 }, data);
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entry(path, 0o120777, target.as_bytes());
    }

    /// Copies a host file to the same path in the archive.
    pub fn host_file(&mut self, host: &Path, at: &str) -> std::io::Result<()> {
        let data = std::fs::read(host)?;
        let exec = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(host)?.permissions()) & 0o111 != 0;
        self.file(at, &data, exec);
        Ok(())
    }

    /// Copies a host directory tree, skipping paths `skip` rejects.
    pub fn host_tree(&mut self, host: &Path, at: &str, skip: &dyn Fn(&Path) -> bool) -> std::io::Result<()> {
        self.dir(at);
        let mut entries: Vec<PathBuf> = std::fs::read_dir(host)?.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if skip(&p) {
                continue;
            }
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let target = format!("{}/{name}", at.trim_end_matches('/'));
            if p.is_dir() {
                self.host_tree(&p, &target, skip)?;
            } else if p.is_file() {
                self.host_file(&p, &target)?;
            }
        }
        Ok(())
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[]);
        // Pad to a whole block, as cpio(1) does.
        while self.out.len() % 512 != 0 {
            self.out.push(0);
        }
        self.out
    }
}

fn pad4(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

/// The shared libraries a dynamic executable needs, from `ldd` (empty for
/// a static binary).
pub fn shared_libraries(exe: &Path) -> Result<Vec<PathBuf>, String> {
    let out = std::process::Command::new("ldd").arg(exe).output().map_err(|e| format!("cannot run ldd on {}: {e}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("not a dynamic executable") || text.contains("statically linked") || !out.status.success() {
        return Ok(vec![]);
    }
    let mut libs = Vec::new();
    for line in text.lines() {
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next().filter(|p| p.starts_with('/')),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    Ok(libs)
}

/// What goes into every guest.
pub struct Contents<'a> {
    pub exe: &'a Path,
    pub suite_root: &'a Path,
    pub kconfig: Option<&'a Path>,
    pub busybox: Option<&'a Path>,
    /// Exported C programs (`matrix --c-exports`): the directory they were
    /// compiled into and their test names.
    pub exports: Option<(&'a Path, &'a [String])>,
}

pub fn build(c: &Contents<'_>, out: &Path) -> Result<u64, String> {
    let mut cpio = Cpio::new();
    for d in ["/proc", "/sys", "/dev", "/tmp", "/run", "/etc", "/suite"] {
        cpio.dir(d);
    }
    let err = |what: &str, e: std::io::Error| format!("cannot add {what} to the initramfs: {e}");
    cpio.host_file(c.exe, "/bin/epollcheck").map_err(|e| err("our binary", e))?;
    cpio.symlink("/init", "/bin/epollcheck");
    for lib in shared_libraries(c.exe)? {
        // Keep the path the binary's interpreter and loader expect, and the
        // canonical file behind any symlink.
        let real = std::fs::canonicalize(&lib).unwrap_or(lib.clone());
        cpio.host_file(&real, &lib.display().to_string()).map_err(|e| err(&lib.display().to_string(), e))?;
    }
    if let Some(bb) = c.busybox {
        cpio.host_file(bb, "/bin/busybox").map_err(|e| err("busybox", e))?;
        for applet in ["sh", "ls", "cat", "ps", "dmesg", "uname", "mount", "grep", "less", "vi", "kill", "ip"] {
            cpio.symlink(&format!("/bin/{applet}"), "busybox");
        }
    }
    cpio.file("/etc/hosts", b"127.0.0.1 localhost\n::1 localhost\n", false);
    cpio.file("/etc/passwd", b"root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", false);
    let skip = |p: &Path| {
        let s = p.to_string_lossy();
        s.ends_with("/bad-cases") || p.metadata().is_ok_and(|m| m.len() > (1 << 20))
    };
    cpio.host_tree(&c.suite_root.join("cases"), "/suite/cases", &skip).map_err(|e| err("cases/", e))?;
    if c.suite_root.join("fixtures").is_dir() {
        cpio.host_tree(&c.suite_root.join("fixtures"), "/suite/fixtures", &skip).map_err(|e| err("fixtures/", e))?;
    }
    if let Some((dir, names)) = c.exports {
        add_exports(&mut cpio, dir, names)?;
    }
    if let Some(k) = c.kconfig {
        cpio.host_file(k, "/suite/kconfig").map_err(|e| err("the kernel config", e))?;
    }
    let bytes = cpio.finish();
    let mut f = std::fs::File::create(out).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    f.write_all(&bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(bytes.len() as u64)
}

/// The programs under /exports with a LIST of their test names, and the
/// C library they were linked against at its usual path.
fn add_exports(cpio: &mut Cpio, dir: &Path, names: &[String]) -> Result<(), String> {
    let guest_dir = super::guest::EXPORTS_DIR;
    cpio.dir(guest_dir);
    for n in names {
        let file = crate::export::agree::file_name(n);
        cpio.host_file(&dir.join(&file), &format!("{guest_dir}/{file}")).map_err(|e| format!("cannot add the C program {file} to the initramfs: {e}"))?;
    }
    cpio.file(&format!("{guest_dir}/LIST"), (names.join("\n") + "\n").as_bytes(), false);
    if let Some(first) = names.first() {
        for lib in shared_libraries(&dir.join(crate::export::agree::file_name(first)))? {
            let real = std::fs::canonicalize(&lib).unwrap_or(lib.clone());
            cpio.host_file(&real, &lib.display().to_string()).map_err(|e| format!("cannot add {} to the initramfs: {e}", lib.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_entries_are_aligned_and_terminated() {
        let mut c = Cpio::new();
        c.file("/a/b.txt", b"hello", false);
        c.symlink("/init", "/bin/x");
        let bytes = c.finish();
        assert!(bytes.starts_with(b"070701"));
        assert_eq!(bytes.len() % 512, 0);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("a/b.txt\0"));
        assert!(text.contains("TRAILER!!!"));
        // Directory "a" comes before the file in it.
        assert!(text.find("a\0").unwrap() < text.find("a/b.txt").unwrap());
    }
}
