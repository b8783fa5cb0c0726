//! Error types: why a request was refused, and why a response could not be sent.

use std::fmt;

/// Why a request was refused before it reached the handler. Each variant earns exactly one
/// status code ([`RequestError::status`]); after any of them the connection is closed, since
/// the bytes that follow can no longer be trusted to start a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The request line is malformed: method, target or separators (400).
    RequestLine,
    /// The request target has no valid form for its method (400).
    Target,
    /// A field name is not a token, or whitespace stands before the colon, or a line is
    /// folded (400).
    HeaderName,
    /// A field value holds NUL, a bare CR or another control byte (400).
    HeaderValue,
    /// A line ends in a bare CR (400).
    LineEnding,
    /// Host is missing on HTTP/1.1, repeated, or not a valid `host[:port]` (400).
    Host,
    /// Content-Length is not `1*DIGIT`, overflows, or its values differ (400).
    ContentLength,
    /// Both Content-Length and Transfer-Encoding are present (400).
    ContentLengthWithTransferEncoding,
    /// Transfer-Encoding whose final coding is not `chunked`, or `chunked` twice (400).
    TransferEncoding,
    /// Transfer-Encoding on an HTTP/1.0 request (400).
    TransferEncodingOnHttp10,
    /// The chunked body is malformed (400).
    Chunk(ChunkError),
    /// The request line is longer than the configured limit (414).
    UriTooLong,
    /// The head is larger than the configured limit (431).
    HeadTooLarge,
    /// More header fields than the configured limit (431).
    TooManyHeaders,
    /// The body is larger than the configured limit (413).
    BodyTooLarge,
    /// A transfer coding other than `chunked` (501).
    UnknownTransferCoding,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1 (505).
    VersionNotSupported,
    /// The head did not arrive within the header timeout (408).
    HeaderTimeout,
    /// The body made no progress within the body timeout (408).
    BodyTimeout,
    /// The client's address holds more connections than the per-client limit allows
    /// (503, with `Retry-After`).
    ClientLimit,
}

impl RequestError {
    /// The status code the client receives.
    pub fn status(self) -> u16 {
        use RequestError::*;
        match self {
            RequestLine
            | Target
            | HeaderName
            | HeaderValue
            | LineEnding
            | Host
            | ContentLength
            | ContentLengthWithTransferEncoding
            | TransferEncoding
            | TransferEncodingOnHttp10
            | Chunk(_) => 400,
            HeaderTimeout | BodyTimeout => 408,
            BodyTooLarge => 413,
            UriTooLong => 414,
            HeadTooLarge | TooManyHeaders => 431,
            UnknownTransferCoding => 501,
            VersionNotSupported => 505,
            ClientLimit => 503,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RequestError::*;
        let what = match self {
            RequestLine => "malformed request line",
            Target => "invalid request target for the method",
            HeaderName => {
                "invalid header field name (not a token, whitespace before the colon, or obs-fold)"
            }
            HeaderValue => "invalid byte in a header field value",
            LineEnding => "bare CR in the request head",
            Host => "missing, repeated or invalid Host header",
            ContentLength => "invalid or conflicting Content-Length",
            ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            TransferEncoding => "Transfer-Encoding does not end in a single chunked coding",
            TransferEncodingOnHttp10 => "Transfer-Encoding on an HTTP/1.0 request",
            Chunk(e) => return write!(f, "malformed chunked body: {e}"),
            UriTooLong => "request line too long",
            HeadTooLarge => "request head too large",
            TooManyHeaders => "too many header fields",
            BodyTooLarge => "request body too large",
            UnknownTransferCoding => "unsupported transfer coding",
            VersionNotSupported => "unsupported HTTP version",
            HeaderTimeout => "request head not received within the header timeout",
            BodyTimeout => "request body stalled past the body timeout",
            ClientLimit => "too many connections from this client's address",
        };
        f.write_str(what)
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestError::Chunk(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a chunked body could not be decoded (RFC 9112 section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// A chunk size is empty or holds a byte that is not a hex digit.
    Size,
    /// A chunk size does not fit in 64 bits.
    SizeOverflow,
    /// A chunk extension holds a control byte.
    Extension,
    /// A line ends in something other than CRLF (a bare LF or bare CR).
    LineEnding,
    /// Chunk data is not followed by CRLF.
    DataTerminator,
    /// A trailer field line holds a control byte.
    Trailer,
    /// Extensions or trailers are larger than the head limit.
    MetadataTooLarge,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkError::Size => "invalid chunk size",
            ChunkError::SizeOverflow => "chunk size overflows",
            ChunkError::Extension => "invalid chunk extension",
            ChunkError::LineEnding => "chunk line not ended by CRLF",
            ChunkError::DataTerminator => "chunk data not followed by CRLF",
            ChunkError::Trailer => "invalid trailer field",
            ChunkError::MetadataTooLarge => "chunk extensions or trailers too large",
        })
    }
}

impl std::error::Error for ChunkError {}

/// Why a handler's response could not be sent as it is. It is never written: the client
/// receives a 500 instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidResponse {
    /// The status is outside 200..=599 (1xx are not the handler's to send).
    Status(u16),
    /// A header name is not a token.
    HeaderName(String),
    /// A header value holds CR, LF, NUL or another control byte.
    HeaderValue {
        /// The header whose value is invalid.
        name: String,
    },
    /// A `Content-Length` header contradicts the body's length.
    ContentLength {
        /// What the header said.
        declared: String,
        /// The body's real length.
        actual: usize,
    },
    /// A `Transfer-Encoding` header: warden frames every response itself.
    TransferEncoding,
    /// A body on a status that cannot have one (204, 304).
    BodyNotAllowed(u16),
    /// The placeholder of [`Request::defer`](crate::Request::defer) or
    /// [`Request::blocking`](crate::Request::blocking), returned by a handler that did not
    /// defer the request it answers.
    Placeholder,
    /// The head of a streamed response has a body of its own, or a status that cannot
    /// have one (204, 304): the body is what the stream writes.
    StreamedHead(u16),
    /// A `101 Switching Protocols` without the `Upgrade` header naming the protocol.
    NoUpgrade,
}

impl fmt::Display for InvalidResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidResponse::Status(s) => write!(f, "invalid response status {s}"),
            InvalidResponse::HeaderName(n) => write!(f, "invalid response header name {n:?}"),
            InvalidResponse::HeaderValue { name } => {
                write!(
                    f,
                    "control character (CR, LF or other) in the value of response header {name:?}"
                )
            }
            InvalidResponse::ContentLength { declared, actual } => write!(
                f,
                "response Content-Length {declared:?} contradicts its {actual}-byte body"
            ),
            InvalidResponse::TransferEncoding => {
                f.write_str("response sets Transfer-Encoding; warden frames responses itself")
            }
            InvalidResponse::BodyNotAllowed(s) => write!(f, "response with status {s} has a body"),
            InvalidResponse::Placeholder => f.write_str(
                "a deferred request's placeholder answered a request that was not deferred",
            ),
            InvalidResponse::NoUpgrade => f.write_str(
                "a 101 Switching Protocols response must name the protocol in an Upgrade header",
            ),
            InvalidResponse::StreamedHead(s) => write!(
                f,
                "the head of a streamed response (status {s}) has a body, or a status without one"
            ),
        }
    }
}

impl std::error::Error for InvalidResponse {}
