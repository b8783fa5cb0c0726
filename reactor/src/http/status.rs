//! Status codes: reason phrases, status lines and the bodies of error pages, made from one
//! list, so a status line is a static string, never formatted per response.

use std::borrow::Cow;

/// Every registered status with its reason phrase; `reason` and `status_line` are made
/// from this one list, so a status line is a static string, never formatted per response.
macro_rules! statuses {
    ($($code:literal $reason:literal,)*) => {
        /// The reason phrase of a status, or `""` for one without a registered phrase.
        pub(crate) fn reason(status: u16) -> &'static str {
            match status {
                $($code => $reason,)*
                _ => "",
            }
        }

        /// `HTTP/1.1 <status> <reason>\r\n`.
        pub(crate) fn status_line(status: u16) -> Cow<'static, [u8]> {
            match status {
                $($code => Cow::Borrowed(concat!("HTTP/1.1 ", $code, " ", $reason, "\r\n").as_bytes()),)*
                _ => Cow::Owned(format!("HTTP/1.1 {status} \r\n").into_bytes()),
            }
        }
    };
}

statuses! {
    100 "Continue",
    101 "Switching Protocols",
    200 "OK",
    201 "Created",
    202 "Accepted",
    203 "Non-Authoritative Information",
    204 "No Content",
    205 "Reset Content",
    206 "Partial Content",
    300 "Multiple Choices",
    301 "Moved Permanently",
    302 "Found",
    303 "See Other",
    304 "Not Modified",
    307 "Temporary Redirect",
    308 "Permanent Redirect",
    400 "Bad Request",
    401 "Unauthorized",
    402 "Payment Required",
    403 "Forbidden",
    404 "Not Found",
    405 "Method Not Allowed",
    406 "Not Acceptable",
    407 "Proxy Authentication Required",
    408 "Request Timeout",
    409 "Conflict",
    410 "Gone",
    411 "Length Required",
    412 "Precondition Failed",
    413 "Content Too Large",
    414 "URI Too Long",
    415 "Unsupported Media Type",
    416 "Range Not Satisfiable",
    417 "Expectation Failed",
    421 "Misdirected Request",
    422 "Unprocessable Content",
    426 "Upgrade Required",
    428 "Precondition Required",
    429 "Too Many Requests",
    431 "Request Header Fields Too Large",
    500 "Internal Server Error",
    501 "Not Implemented",
    502 "Bad Gateway",
    503 "Service Unavailable",
    504 "Gateway Timeout",
    505 "HTTP Version Not Supported",
}

/// The body of an error page: `404 Not Found\n`.
pub(crate) fn status_page(status: u16) -> Cow<'static, [u8]> {
    match status {
        400 => Cow::Borrowed(b"400 Bad Request\n"),
        404 => Cow::Borrowed(b"404 Not Found\n"),
        408 => Cow::Borrowed(b"408 Request Timeout\n"),
        413 => Cow::Borrowed(b"413 Content Too Large\n"),
        414 => Cow::Borrowed(b"414 URI Too Long\n"),
        431 => Cow::Borrowed(b"431 Request Header Fields Too Large\n"),
        500 => Cow::Borrowed(b"500 Internal Server Error\n"),
        503 => Cow::Borrowed(b"503 Service Unavailable\n"),
        501 => Cow::Borrowed(b"501 Not Implemented\n"),
        505 => Cow::Borrowed(b"505 HTTP Version Not Supported\n"),
        _ => Cow::Owned(format!("{status} {}\n", reason(status)).into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_and_pages() {
        assert_eq!(reason(431), "Request Header Fields Too Large");
        assert_eq!(&*status_page(418), b"418 \n");
        assert_eq!(&*status_line(413), b"HTTP/1.1 413 Content Too Large\r\n");
    }
}
