//! Debug prints, as in the talk's final demo: every layer prints, each line
//! prefixed by where it comes from.
//!
//! The library does not know where lines go: the module layer installs a
//! sink (it writes through Python's `sys.stdout`). Without a sink, as in
//! `cargo test`, lines are dropped. Nothing is formatted unless the level
//! asks for it, so tracing costs one atomic load when it is off.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// How much is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Nothing.
    Off = 0,
    /// Allocation, dealloc and free lines, as the talk's tp_dealloc printed.
    Lifecycle = 1,
    /// Also every module call and every library step.
    Calls = 2,
}

impl Level {
    pub const NAMES: [&'static str; 3] = ["off", "lifecycle", "calls"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Level> {
        match name {
            "off" => Some(Level::Off),
            "lifecycle" => Some(Level::Lifecycle),
            "calls" => Some(Level::Calls),
            _ => None,
        }
    }
}

/// Which layer a line comes from; the prefix a reader of the talk expects.
#[derive(Clone, Copy, Debug)]
pub enum Origin {
    Module,
    Library,
}

impl Origin {
    fn prefix(self) -> &'static str {
        match self {
            Origin::Module => "Module: ",
            Origin::Library => "Library: ",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Lifecycle as u8);
static SINK: OnceLock<fn(&str)> = OnceLock::new();

fn from_u8(raw: u8) -> Level {
    match raw {
        0 => Level::Off,
        1 => Level::Lifecycle,
        _ => Level::Calls,
    }
}

/// Sets the level; returns the previous one.
pub fn set_level(level: Level) -> Level {
    from_u8(LEVEL.swap(level as u8, Ordering::Relaxed))
}

pub fn level() -> Level {
    from_u8(LEVEL.load(Ordering::Relaxed))
}

#[inline]
pub fn enabled(level: Level) -> bool {
    LEVEL.load(Ordering::Relaxed) >= level as u8 && level != Level::Off
}

/// Installs the function every trace line is handed to (the first one
/// installed stays: the module installs the same one on every import).
pub fn set_sink(sink: fn(&str)) {
    let _ = SINK.set(sink);
}

/// Formats one line and hands it to the sink. Use the `trace!` macro, which
/// checks the level before any formatting happens.
#[cold]
pub fn emit(origin: Origin, args: fmt::Arguments<'_>) {
    let Some(sink) = SINK.get() else { return };
    let mut line = String::from(origin.prefix());
    let _ = fmt::write(&mut line, args);
    sink(&line);
}

/// Runs `f` out of line: the formatting of a trace line then takes no
/// registers or stack in the hot function that traces.
#[cold]
#[inline(never)]
pub fn cold<F: FnOnce()>(f: F) {
    f()
}

/// `trace!(Level::Calls, Origin::Library, "resize {} -> {}", a, b)`.
#[macro_export]
macro_rules! trace {
    ($level:expr, $origin:expr, $($arg:tt)*) => {
        if $crate::library::trace::enabled($level) {
            $crate::library::trace::cold(|| {
                $crate::library::trace::emit($origin, format_args!($($arg)*))
            });
        }
    };
}
