//! What answers requests.

use crate::http::request::Request;
use crate::http::response::Response;

/// Answers requests. Implemented for every `Fn(&Request) -> Response`.
///
/// A reactor calls its handler on its own thread, one request at a time, so a handler that
/// is built per worker (see `warden::Server::serve_with`) may keep unsynchronized state in
/// a `Cell` or `RefCell`. A handler shared by several workers must be `Send + Sync`.
///
/// ```
/// use warden_reactor::{Handler, Request, Response};
///
/// let hello = |req: &Request<'_>| match req.path() {
///     "/plaintext" => Response::text("Hello, World!"),
///     _ => Response::status_page(404),
/// };
/// fn assert_handler(_: &impl Handler) {}
/// assert_handler(&hello);
/// ```
pub trait Handler: 'static {
    /// Answers one request. A panic here is caught by the reactor and answered with a 500;
    /// the connection stays usable when the request was fully read.
    fn call(&self, request: &Request<'_>) -> Response;
}

impl<F> Handler for F
where
    F: Fn(&Request<'_>) -> Response + 'static,
{
    fn call(&self, request: &Request<'_>) -> Response {
        self(request)
    }
}
