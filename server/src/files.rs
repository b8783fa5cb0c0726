//! `--static DIR`: the files under `DIR`, at `/static/`, with no way out of `DIR`.

use std::path::{Path, PathBuf};

use warden::{Request, Response};

/// The URL prefix of the static files.
pub(crate) const PREFIX: &str = "/static/";

/// Answers `GET`/`HEAD /static/...` from `root` (canonical): the file, or 404 for anything
/// that is not a regular file inside `root`, whatever the reason (a client learns nothing
/// about what lies outside).
pub(crate) fn serve(req: &Request<'_>, root: &Path) -> Response {
    let Some(rest) = req.path().strip_prefix(PREFIX) else {
        return Response::status_page(404);
    };
    let Some(path) = resolve(root, rest) else {
        return Response::status_page(404);
    };
    open(req, &path).unwrap_or_else(|e| {
        log::debug!("static {}: {e}", path.display());
        Response::status_page(404)
    })
}

/// The file at `path` (canonical: no symlink in it), opened on the loop without ever
/// waiting: `O_NONBLOCK` (a FIFO swapped in has no writer to wait for) and `O_NOFOLLOW`
/// (a symlink swapped in since the path was resolved is refused), then checked on the
/// open file itself ([`Response::file`] refuses anything but a regular file), so nothing
/// can change between the check and the use.
fn open(req: &Request<'_>, path: &Path) -> std::io::Result<Response> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    Ok(Response::file(req, file)?.with_content_type(warden::content_type_for(path)))
}

/// The file `rest` (a URL path below the prefix, percent-encoded) names under `root`, if
/// it stays inside `root`: no `..` or `.` segment (decoded or not), no empty segment, no
/// NUL or backslash, and after following symlinks still under `root`. What it is (a
/// directory has no listing; only regular files are served) is checked on the open file.
pub(crate) fn resolve(root: &Path, rest: &str) -> Option<PathBuf> {
    let decoded = percent_decode(rest)?;
    let decoded = String::from_utf8(decoded).ok()?;
    if decoded.is_empty() || decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut path = root.to_path_buf();
    for segment in decoded.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return None;
        }
        path.push(segment);
    }
    // Symlinks may lead anywhere: the real path must still be under the root.
    let real = path.canonicalize().ok()?;
    real.starts_with(root).then_some(real)
}

/// `%XX` decoded; `None` for a malformed escape.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_outside_the_root_is_reachable() {
        let base = std::env::temp_dir().join(format!("warden-static-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).expect("dirs");
        std::fs::write(root.join("a.txt"), "a").expect("file");
        std::fs::write(root.join("sub/b.txt"), "b").expect("file");
        std::fs::write(base.join("secret"), "s").expect("file");
        std::os::unix::fs::symlink(base.join("secret"), root.join("link")).expect("symlink");
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("inside")).expect("symlink");
        let root = root.canonicalize().expect("canonical");

        for (rest, found) in [
            ("a.txt", true),
            ("sub/b.txt", true),
            ("sub%2Fb.txt", true), // an encoded slash is a slash: still inside
            ("inside", true),      // a symlink that stays inside
            ("../secret", false),
            ("%2e%2e/secret", false),
            ("%2E%2E%2Fsecret", false),
            ("sub/../../secret", false),
            ("./a.txt", false),
            ("sub//b.txt", false),
            ("/etc/passwd", false),
            ("%2Fetc%2Fpasswd", false),
            ("a.txt%00.png", false),
            ("..%5csecret", false),
            ("link", false), // a symlink leading out
            ("sub", true),   // found, and refused once opened: no listing
            ("", false),
            ("missing", false),
            ("%zz", false),
            ("%2", false),
        ] {
            assert_eq!(resolve(&root, rest).is_some(), found, "{rest:?}");
        }
        let _ = std::fs::remove_dir_all(&base);
    }
}
