//! Debug prints, as in the talk's final demo: every layer prints, each line
//! prefixed by where it comes from.
//!
//! The library does not know where lines go: the module layer installs a
//! sink (it writes through Python's `sys.stdout`). Without a sink, as in
//! `cargo test`, lines are dropped. Nothing is formatted unless the level
//! asks for it, so tracing costs one atomic load when it is off.
//!
//! A line is formatted into a buffer on the stack, never a `String`: a trace
//! line must not abort the process when memory is short (Rust aborts when an
//! infallible allocation fails), and the table traces while it handles
//! exactly that case.

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
    with_line(origin, args, sink);
}

/// The longest line, in bytes, prefix included; a longer one is cut and ends
/// with `...`. Lines print one key each, and keys are shown short.
const LINE_CAPACITY: usize = 512;

/// Formats `origin`'s prefix and `args` into a stack buffer and hands the
/// line to `f`. Allocates nothing.
fn with_line(origin: Origin, args: fmt::Arguments<'_>, f: impl FnOnce(&str)) {
    let mut line = LineBuffer {
        bytes: [0; LINE_CAPACITY],
        len: 0,
        cut: false,
    };
    // An error only means the line was cut (or a Display impl failed):
    // print what was written.
    let _ = fmt::Write::write_str(&mut line, origin.prefix());
    let _ = fmt::write(&mut line, args);
    f(line.finish());
}

/// A line being formatted: UTF-8 up to `len`, always cut at a character
/// boundary.
struct LineBuffer {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
    /// Something did not fit.
    cut: bool,
}

impl LineBuffer {
    /// The line, ending with `...` if it was cut.
    fn finish(&mut self) -> &str {
        if self.cut {
            let mut end = self.len.min(LINE_CAPACITY - 3);
            while end > 0 && !is_char_start(self.bytes[end]) {
                end -= 1;
            }
            self.bytes[end..end + 3].copy_from_slice(b"...");
            self.len = end + 3;
        }
        // Only whole characters were copied in, so this never fails.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// Whether `byte` begins a UTF-8 character (is not a continuation byte).
fn is_char_start(byte: u8) -> bool {
    byte & 0xC0 != 0x80
}

impl fmt::Write for LineBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Err(fmt::Error);
        }
        let room = LINE_CAPACITY - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.cut = true;
            return Err(fmt::Error); // stops the formatting: the rest is cut anyway
        }
        Ok(())
    }
}

/// `n` followed by the singular or the plural noun: "1 entry", "2 entries".
pub(crate) struct Count(pub usize, pub &'static str, pub &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Count(n, one, many) = *self;
        write!(f, "{n} {}", if n == 1 { one } else { many })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: fmt::Arguments<'_>) -> String {
        let mut out = String::new();
        with_line(Origin::Library, args, |l| out.push_str(l));
        out
    }

    #[test]
    fn a_short_line_is_prefixed_and_whole() {
        assert_eq!(
            line(format_args!("resize from {} to {} buckets", 4, 8)),
            "Library: resize from 4 to 8 buckets"
        );
    }

    #[test]
    fn a_long_line_is_cut_and_ends_with_dots() {
        let long = "x".repeat(2 * LINE_CAPACITY);
        let l = line(format_args!("add {long} to bucket 1"));
        assert_eq!(l.len(), LINE_CAPACITY);
        assert!(l.starts_with("Library: add xxx"));
        assert!(l.ends_with("x..."));
        // Exactly full is not cut.
        let exact = "y".repeat(LINE_CAPACITY - "Library: ".len());
        assert_eq!(line(format_args!("{exact}")).len(), LINE_CAPACITY);
        assert!(!line(format_args!("{exact}")).ends_with("..."));
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        for pad in 0..4 {
            let text = format!("{}{}", "a".repeat(pad), "€".repeat(LINE_CAPACITY));
            let l = line(format_args!("{text}"));
            assert!(l.len() <= LINE_CAPACITY);
            assert!(l.ends_with("€..."), "{pad}: {}", &l[l.len() - 8..]);
        }
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(Count(0, "entry", "entries").to_string(), "0 entries");
        assert_eq!(Count(1, "entry", "entries").to_string(), "1 entry");
        assert_eq!(Count(2, "bucket", "buckets").to_string(), "2 buckets");
    }
}
