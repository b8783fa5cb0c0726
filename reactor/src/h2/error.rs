//! HTTP/2's error codes (RFC 9113, section 7) and what a frame that breaks the protocol
//! costs: the stream, or the whole connection.

use std::fmt;

/// An error code of `RST_STREAM` and `GOAWAY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// `NO_ERROR` (0x0): a graceful end.
    NoError,
    /// `PROTOCOL_ERROR` (0x1).
    Protocol,
    /// `INTERNAL_ERROR` (0x2).
    Internal,
    /// `FLOW_CONTROL_ERROR` (0x3).
    FlowControl,
    /// `SETTINGS_TIMEOUT` (0x4).
    SettingsTimeout,
    /// `STREAM_CLOSED` (0x5).
    StreamClosed,
    /// `FRAME_SIZE_ERROR` (0x6).
    FrameSize,
    /// `REFUSED_STREAM` (0x7): not processed; safe to retry.
    RefusedStream,
    /// `CANCEL` (0x8).
    Cancel,
    /// `COMPRESSION_ERROR` (0x9).
    Compression,
    /// `CONNECT_ERROR` (0xa).
    Connect,
    /// `ENHANCE_YOUR_CALM` (0xb): the peer is behaving in a way that might be generating
    /// excessive load.
    EnhanceYourCalm,
    /// `INADEQUATE_SECURITY` (0xc).
    InadequateSecurity,
    /// `HTTP_1_1_REQUIRED` (0xd).
    Http11Required,
    /// A code this implementation does not know: "MUST NOT trigger any special behavior".
    Other(u32),
}

impl ErrorCode {
    /// Its number on the wire.
    pub fn code(self) -> u32 {
        match self {
            ErrorCode::NoError => 0x0,
            ErrorCode::Protocol => 0x1,
            ErrorCode::Internal => 0x2,
            ErrorCode::FlowControl => 0x3,
            ErrorCode::SettingsTimeout => 0x4,
            ErrorCode::StreamClosed => 0x5,
            ErrorCode::FrameSize => 0x6,
            ErrorCode::RefusedStream => 0x7,
            ErrorCode::Cancel => 0x8,
            ErrorCode::Compression => 0x9,
            ErrorCode::Connect => 0xa,
            ErrorCode::EnhanceYourCalm => 0xb,
            ErrorCode::InadequateSecurity => 0xc,
            ErrorCode::Http11Required => 0xd,
            ErrorCode::Other(code) => code,
        }
    }

    /// The code numbered `code`.
    pub fn from_code(code: u32) -> ErrorCode {
        match code {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::Protocol,
            0x2 => ErrorCode::Internal,
            0x3 => ErrorCode::FlowControl,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSize,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::Compression,
            0xa => ErrorCode::Connect,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Other(other),
        }
    }

    /// Its name as the RFC writes it, for logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NoError => "NO_ERROR",
            ErrorCode::Protocol => "PROTOCOL_ERROR",
            ErrorCode::Internal => "INTERNAL_ERROR",
            ErrorCode::FlowControl => "FLOW_CONTROL_ERROR",
            ErrorCode::SettingsTimeout => "SETTINGS_TIMEOUT",
            ErrorCode::StreamClosed => "STREAM_CLOSED",
            ErrorCode::FrameSize => "FRAME_SIZE_ERROR",
            ErrorCode::RefusedStream => "REFUSED_STREAM",
            ErrorCode::Cancel => "CANCEL",
            ErrorCode::Compression => "COMPRESSION_ERROR",
            ErrorCode::Connect => "CONNECT_ERROR",
            ErrorCode::EnhanceYourCalm => "ENHANCE_YOUR_CALM",
            ErrorCode::InadequateSecurity => "INADEQUATE_SECURITY",
            ErrorCode::Http11Required => "HTTP_1_1_REQUIRED",
            ErrorCode::Other(_) => "UNKNOWN",
        }
    }
}

/// A frame that breaks the protocol, and what it costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The connection ends: `GOAWAY` with this code, then the close.
    Connection(ErrorCode, &'static str),
    /// Only this stream ends: `RST_STREAM` with this code; the connection goes on.
    Stream(u32, ErrorCode, &'static str),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Connection(code, why) => {
                write!(f, "connection error {}: {why}", code.name())
            }
            FrameError::Stream(id, code, why) => {
                write!(f, "stream {id} error {}: {why}", code.name())
            }
        }
    }
}

impl std::error::Error for FrameError {}
