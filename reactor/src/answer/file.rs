//! Files as responses: `Content-Length`, `Last-Modified`, `ETag`, conditional requests
//! (304) and a single byte range (206, 416), the body sent straight from the page cache.
//!
//! The file is opened and stat'ed by the handler; its bytes never pass through the
//! process: the loop hands them to the socket with `sendfile(2)` as the client reads, up to
//! 1 MiB per call, so one download cannot hold the loop for long.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crate::http::date::{format_http_date, parse_http_date};
use crate::http::request::Request;
use crate::http::response::{FileBody, Response};

impl Response {
    /// The file at `path`, answering `req`: its content type from the extension (see
    /// [`content_type_for`]), then as [`Response::file`].
    ///
    /// ```no_run
    /// use warden_reactor::{Request, Response};
    ///
    /// fn handler(req: &Request<'_>) -> Response {
    ///     Response::open(req, "/srv/www/index.html").unwrap_or_else(|_| Response::status_page(404))
    /// }
    /// # let _ = handler;
    /// ```
    ///
    /// The file is opened without waiting (`O_NONBLOCK`), then checked: a FIFO or a
    /// device put where a file was expected is refused, never waited on by the loop
    /// (opening a FIFO with no writer would block). Regular files ignore the flag.
    ///
    /// # Errors
    ///
    /// Opening or stat'ing the file fails, or it is not a regular file (`InvalidInput`).
    pub fn open(req: &Request<'_>, path: impl AsRef<Path>) -> io::Result<Response> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = path.as_ref();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        Ok(Response::file(req, file)?.with_content_type(content_type_for(path)))
    }

    /// `file`, answering `req`: `200` with `Content-Length`, `Last-Modified`, `ETag` and
    /// `Accept-Ranges`; `304` when `If-None-Match` (or, without it, `If-Modified-Since`)
    /// says the client's copy is current; `206` with `Content-Range` for a single
    /// satisfiable `Range` of a GET (several ranges, or an `If-Range` that no longer
    /// matches, get the whole file); `416` for a range past the end. The content type is
    /// `application/octet-stream` unless set afterwards.
    ///
    /// # Errors
    ///
    /// Stat'ing the file fails, or it is not a regular file (`InvalidInput`).
    pub fn file(req: &Request<'_>, file: File) -> io::Result<Response> {
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let len = meta.len();
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        // As nginx makes them: the modification time and the length. Strong, since the
        // same time and length serve the same bytes for every practical purpose, and a
        // range needs a strong validator.
        let etag = format!("\"{modified:x}-{len:x}\"");
        let last_modified = String::from_utf8_lossy(&format_http_date(modified)).into_owned();
        let validators = |r: Response| {
            r.with_header("ETag", etag.clone())
                .with_header("Last-Modified", last_modified.clone())
        };
        let conditional = matches!(req.method(), "GET" | "HEAD");
        if conditional && is_current(req, &etag, modified) {
            return Ok(validators(Response::new(304)));
        }
        let whole = FileBody {
            file: Arc::new(file),
            offset: 0,
            len,
        };
        let range = match req.header_str("range") {
            Some(range) if req.method() == "GET" && if_range_holds(req, &etag, modified) => {
                parse_range(range, len)
            }
            _ => Range::Whole,
        };
        let response = match range {
            Range::Whole => Response::new(200).with_file_body(whole),
            Range::Part { first, last } => Response::new(206)
                .with_header("Content-Range", format!("bytes {first}-{last}/{len}"))
                .with_file_body(FileBody {
                    offset: first,
                    len: last - first + 1,
                    ..whole
                }),
            Range::Unsatisfiable => Response::new(416)
                .with_header("Content-Range", format!("bytes */{len}"))
                .with_content_type("text/plain; charset=utf-8"),
        };
        Ok(validators(response)
            .with_header("Accept-Ranges", "bytes")
            .with_content_type("application/octet-stream"))
    }
}

/// Whether the client's copy is current: "A recipient MUST ignore If-Modified-Since if the
/// request contains an If-None-Match header field" (RFC 9110 13.1.3).
fn is_current(req: &Request<'_>, etag: &str, modified: u64) -> bool {
    if let Some(tags) = req.header_str("if-none-match") {
        // Weak comparison: W/ prefixes do not matter here.
        return tags
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag);
    }
    req.header_str("if-modified-since")
        .and_then(parse_http_date)
        .is_some_and(|since| modified <= since)
}

/// "If the validator given in the If-Range header field matches the current validator
/// for the selected representation ... the server SHOULD process the Range header field";
/// otherwise it ignores it. An entity tag must match strongly; a date exactly.
fn if_range_holds(req: &Request<'_>, etag: &str, modified: u64) -> bool {
    match req.header_str("if-range").map(str::trim) {
        None => true,
        Some(tag) if tag.starts_with('"') => tag == etag,
        Some(date) => parse_http_date(date) == Some(modified),
    }
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// Ignore it: not bytes, malformed, or several ranges (answering those as one would
    /// need a multipart body; the whole file is a valid answer).
    Whole,
    /// Bytes `first..=last`.
    Part { first: u64, last: u64 },
    /// No byte of the file is in the range: 416.
    Unsatisfiable,
}

/// `bytes=first-last`, `bytes=first-` or `bytes=-suffix` (RFC 9110 14.1.2).
fn parse_range(header: &str, len: u64) -> Range {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first, last) {
        ("", suffix) => match number(suffix) {
            None => Range::Whole,
            Some(0) => Range::Unsatisfiable,
            Some(_) if len == 0 => Range::Unsatisfiable,
            Some(n) => Range::Part {
                first: len.saturating_sub(n),
                last: len - 1,
            },
        },
        (first, last) => {
            let Some(first) = number(first) else {
                return Range::Whole;
            };
            let last = match last {
                "" => None,
                last => match number(last) {
                    Some(n) if n >= first => Some(n),
                    _ => return Range::Whole, // invalid: ignored
                },
            };
            if first >= len {
                return Range::Unsatisfiable;
            }
            Range::Part {
                first,
                last: last.map_or(len - 1, |l| l.min(len - 1)),
            }
        }
    }
}

/// The content type of a file named `path`, from its extension; `application/octet-stream`
/// when unknown.
pub fn content_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use Range::*;
        for (header, len, want) in [
            ("bytes=0-9", 100, Part { first: 0, last: 9 }),
            (
                "bytes=90-",
                100,
                Part {
                    first: 90,
                    last: 99,
                },
            ),
            (
                "bytes=90-200",
                100,
                Part {
                    first: 90,
                    last: 99,
                },
            ),
            (
                "bytes=-10",
                100,
                Part {
                    first: 90,
                    last: 99,
                },
            ),
            ("bytes=-200", 100, Part { first: 0, last: 99 }),
            (
                "bytes=99-99",
                100,
                Part {
                    first: 99,
                    last: 99,
                },
            ),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=100-200", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=9-0", 100, Whole),
            ("bytes=0-9,20-29", 100, Whole),
            ("items=0-9", 100, Whole),
            ("bytes=a-b", 100, Whole),
            ("bytes=+1-2", 100, Whole),
            ("bytes=", 100, Whole),
            ("bytes=-", 100, Whole),
        ] {
            assert_eq!(parse_range(header, len), want, "{header} of {len}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type_for(Path::new("a/b.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type_for(Path::new("x.woff2")), "font/woff2");
        assert_eq!(
            content_type_for(Path::new("noext")),
            "application/octet-stream"
        );
    }
}
