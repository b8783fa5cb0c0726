//! Catching failures: the panic hook that records where a panic happened, and the
//! [`Supervisor`] a reactor reports each caught failure to.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::{self, PanicHookInfo};
use std::sync::{Arc, Once};

use crate::supervise::failure::{Failure, Restart};

/// Receives every failure a reactor catches, on the reactor's thread, right where it was
/// caught, and picks the restart to apply (like `handler-bind` choosing among the
/// restarts a `restart-case` offers).
///
/// `warden-worker` implements it with the application's `on_error` policy and the central
/// error channel. A reactor without one uses [`LogFailures`].
pub trait Supervisor: Send + 'static {
    /// Handles one failure and returns the restart to apply. A restart that does not
    /// apply to the failure's frame means that frame's default
    /// ([`Failure::default_restart`](crate::Failure::default_restart)).
    fn failure(&self, failure: Failure) -> Restart;
}

/// The supervisor of a reactor run on its own: logs each failure at error level and
/// applies each frame's default restart.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogFailures;

impl Supervisor for LogFailures {
    fn failure(&self, failure: Failure) -> Restart {
        log::log!(failure.kind.log_level(), "{failure}");
        failure.default_restart()
    }
}

/// What the panic hook recorded about the last panic on this thread.
#[derive(Debug, Default)]
struct Capture {
    location: Option<String>,
    backtrace: Option<Arc<Backtrace>>,
}

thread_local! {
    /// Panics on this thread are caught by warden's frames and reported: the hook records
    /// them instead of printing.
    static SUPERVISED: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Capture> = RefCell::new(Capture::default());
}

/// Installs (once per process) a panic hook that, on threads running warden frames,
/// records the panic's location and a backtrace (when `RUST_BACKTRACE` asks for one) for
/// the failure report, instead of printing to stderr where nobody would act on it. Panics
/// on other threads go to the hook that was installed before.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if SUPERVISED.get() {
                record(info);
            } else {
                previous(info);
            }
        }));
    });
}

fn record(info: &PanicHookInfo<'_>) {
    let backtrace = Backtrace::capture();
    let capture = Capture {
        location: info.location().map(|l| l.to_string()),
        backtrace: (backtrace.status() == BacktraceStatus::Captured).then(|| Arc::new(backtrace)),
    };
    // A panic while the slot is borrowed cannot happen (nothing panics while holding it);
    // try_borrow_mut keeps the hook itself from ever panicking.
    LAST_PANIC.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = capture;
        }
    });
}

/// Marks the current thread as running warden frames (or not), returning the previous
/// mark. Worker threads set it for their whole life; [`Reactor::run`](crate::Reactor::run)
/// sets it while it runs.
pub fn set_supervised(on: bool) -> bool {
    SUPERVISED.replace(on)
}

/// Turns a caught panic into the parts of a [`Failure`]: the message, and the location
/// and backtrace the hook recorded.
pub fn describe_panic(payload: &(dyn Any + Send), failure: &mut Failure) {
    failure.message = panic_message(payload).to_owned();
    let capture =
        LAST_PANIC.with(|slot| slot.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)));
    if let Ok(capture) = capture {
        failure.location = capture.location;
        failure.backtrace = capture.backtrace;
    }
}

/// The text of a panic payload: `panic!` gives a `&str` or a `String`.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

/// Runs `f`, returning its panic as `Err` instead of unwinding further: keeps a panicking
/// policy or handler from taking its caller down.
///
/// # Errors
///
/// The panic's payload, if `f` panicked (see [`describe_panic`]).
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Box<dyn Any + Send>> {
    panic::catch_unwind(panic::AssertUnwindSafe(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::failure::FailureKind;

    #[test]
    fn supervised_panics_are_recorded_not_printed() {
        install_panic_hook();
        let was = set_supervised(true);
        let payload = catch(|| panic!("recorded {}", 42)).expect_err("panicked");
        set_supervised(was);
        let mut failure = Failure::new(FailureKind::Panic, "");
        describe_panic(payload.as_ref(), &mut failure);
        assert_eq!(failure.message, "recorded 42");
        assert!(
            failure
                .location
                .as_deref()
                .is_some_and(|l| l.contains("frame.rs"))
        );
    }

    #[test]
    fn messages_of_both_payload_kinds() {
        let s: Box<dyn Any + Send> = Box::new("static");
        let owned: Box<dyn Any + Send> = Box::new(String::from("owned"));
        let other: Box<dyn Any + Send> = Box::new(7);
        assert_eq!(panic_message(s.as_ref()), "static");
        assert_eq!(panic_message(owned.as_ref()), "owned");
        assert_eq!(panic_message(other.as_ref()), "<non-string panic payload>");
    }
}
