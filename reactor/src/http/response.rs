//! The response a handler returns.

use std::borrow::Cow;
use std::fs::File;
use std::sync::Arc;

/// A response: a status, headers and a body. warden adds `Server`, `Date`, the length and
/// `Connection` itself; headers are validated when encoded, and an invalid response is
/// replaced by a 500 rather than written.
///
/// Built from `'static` strings, a response allocates nothing:
///
/// ```
/// use warden_reactor::Response;
///
/// let hello = Response::text("Hello, World!");
/// assert_eq!(hello.status(), 200);
///
/// let created = Response::json(r#"{"id":7}"#)
///     .with_status(201)
///     .with_header("Location", "/items/7");
/// assert_eq!(created.header("location"), Some("/items/7"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    status: u16,
    content_type: Option<Cow<'static, str>>,
    headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    body: Cow<'static, [u8]>,
    /// A body sent from a file instead (see `file.rs`).
    file: Option<Box<FileBody>>,
    fault: Option<Fault>,
    /// The placeholder of a deferred request: the answer comes later.
    placeholder: bool,
}

/// A failure staged after a response, for testing supervision: honoured only when
/// [`Config::fault_injection`](crate::Config::fault_injection) is on, ignored otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The connection's own processing panics at the end of the turn that wrote the
    /// response: the connection frame catches it and closes the connection.
    ConnectionPanic,
    /// The worker's event loop panics at the end of the turn that wrote the response: the
    /// worker frame catches it.
    WorkerPanic,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Cow::Borrowed(b""),
            file: None,
            fault: None,
            placeholder: false,
        }
    }

    /// Sends `len` bytes of `file` from `offset` as the body.
    pub(crate) fn with_file_body(mut self, body: FileBody) -> Response {
        self.body = Cow::Borrowed(b"");
        self.file = Some(Box::new(body));
        self
    }

    /// The file range sent as the body, if any.
    pub(crate) fn file_body(&self) -> Option<&FileBody> {
        self.file.as_deref()
    }

    /// The body's length: its bytes, or its file range.
    pub(crate) fn body_len(&self) -> u64 {
        self.file.as_ref().map_or(self.body.len() as u64, |f| f.len)
    }

    /// What a deferring handler returns now: see [`Request::defer`](crate::Request::defer).
    pub(crate) fn placeholder() -> Response {
        Response {
            placeholder: true,
            ..Response::new(0)
        }
    }

    /// Whether this is the placeholder of a deferred request.
    pub fn is_placeholder(&self) -> bool {
        self.placeholder
    }

    /// 200 with a `text/plain; charset=utf-8` body.
    pub fn text(body: impl Into<Cow<'static, str>>) -> Response {
        Response::new(200)
            .with_content_type("text/plain; charset=utf-8")
            .with_body(str_to_bytes(body.into()))
    }

    /// 200 with an `application/json` body, already serialized.
    pub fn json(body: impl Into<Cow<'static, str>>) -> Response {
        Response::new(200)
            .with_content_type("application/json")
            .with_body(str_to_bytes(body.into()))
    }

    /// 200 with a body of arbitrary bytes and the given content type.
    pub fn bytes(
        content_type: impl Into<Cow<'static, str>>,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Response {
        Response::new(200)
            .with_content_type(content_type)
            .with_body(body)
    }

    /// An empty response with `status` whose body is its reason phrase, e.g. `404 Not Found`.
    pub fn status_page(status: u16) -> Response {
        Response::new(status)
            .with_content_type("text/plain; charset=utf-8")
            .with_body(crate::http::status::status_page(status))
    }

    /// Replaces the status.
    pub fn with_status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Cow<'static, [u8]>>) -> Response {
        self.body = body.into();
        self
    }

    /// Sets the `Content-Type`.
    pub fn with_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Response {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds a header. A `Server` or `Date` header replaces warden's own; `Connection: close`
    /// closes the connection after this response. `Content-Length` must match the body and
    /// `Transfer-Encoding` is refused, since warden frames every response itself. A
    /// response has one content type: `Content-Type` sets it, as
    /// [`Response::with_content_type`] does, replacing any earlier one.
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Response {
        self.add_header(name, value);
        self
    }

    /// Adds a header to a response in place; see [`Response::with_header`].
    pub fn add_header(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> &mut Response {
        let name = name.into();
        if name.eq_ignore_ascii_case("content-type") {
            self.content_type = Some(value.into());
        } else {
            self.headers.push((name, value.into()));
        }
        self
    }

    /// Stages `fault` after this response; see [`Fault`].
    pub fn with_fault(mut self, fault: Fault) -> Response {
        self.fault = Some(fault);
        self
    }

    /// The fault staged after this response, if any.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The content type, if set.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The first header named `name` (case-insensitive), not counting the content type.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The headers added with [`Response::with_header`], in order.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (&**n, &**v))
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// A range of an open file, sent as a response body straight from the page cache.
#[derive(Clone, Debug)]
pub(crate) struct FileBody {
    pub(crate) file: Arc<File>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl PartialEq for FileBody {
    fn eq(&self, other: &FileBody) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && self.offset == other.offset && self.len == other.len
    }
}

impl Eq for FileBody {}

fn str_to_bytes(s: Cow<'static, str>) -> Cow<'static, [u8]> {
    match s {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors() {
        let r = Response::text("hi");
        assert_eq!((r.status(), r.body()), (200, &b"hi"[..]));
        assert_eq!(r.content_type(), Some("text/plain; charset=utf-8"));

        let r = Response::json(String::from("{}")).with_status(202);
        assert_eq!(
            (r.status(), r.content_type()),
            (202, Some("application/json"))
        );

        let r = Response::status_page(404);
        assert_eq!(r.body(), b"404 Not Found\n");

        let r = Response::new(204)
            .with_header("X-A", "1")
            .with_header("x-b", "2");
        assert_eq!(
            r.headers().collect::<Vec<_>>(),
            [("X-A", "1"), ("x-b", "2")]
        );
        assert_eq!(r.header("X-B"), Some("2"));
        assert!(r.body().is_empty());
    }

    #[test]
    fn one_content_type_whichever_way_it_is_set() {
        let r = Response::text("x").with_header("content-TYPE", "text/html");
        assert_eq!(r.content_type(), Some("text/html"));
        assert_eq!(r.headers().count(), 0);
        let r = Response::new(200)
            .with_header("Content-Type", "a/b")
            .with_content_type("c/d");
        assert_eq!(r.content_type(), Some("c/d"));
    }

    #[test]
    fn static_bodies_borrow() {
        let r = Response::text("static");
        assert!(matches!(r.body, Cow::Borrowed(_)));
    }
}
