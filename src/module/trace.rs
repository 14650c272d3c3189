//! Where trace lines go: Python's `sys.stdout`, through PySys_WriteStdout,
//! so they interleave in order with Python's own prints and can be captured
//! with `contextlib.redirect_stdout`.

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3_ffi as ffi;

use super::callout;

/// The longest line written, in bytes: the library cuts its lines at 512
/// (library/trace.rs), so this only guards the buffer. PySys_WriteStdout
/// cuts its output at 1000 bytes, newline included: a line must stay below.
const LINE_MAX: usize = 900;

/// Writes one line now, from a buffer on the stack (no allocation, so a
/// line is written even when memory has run out).
pub(crate) fn write_line(line: &str) {
    let mut end = line.len().min(LINE_MAX);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    let mut text = [0u8; LINE_MAX + 2];
    text[..end].copy_from_slice(&line.as_bytes()[..end]);
    text[end] = b'\n';
    // A NUL inside the line would end it early for C: cut it there instead.
    let len = text[..=end].iter().position(|&b| b == 0).unwrap_or(end + 1);
    text[len] = 0;
    // SAFETY: plain queries, callable at any time in the process's life.
    let ready = unsafe { ffi::Py_IsInitialized() != 0 && ffi::PyGILState_Check() != 0 };
    if ready {
        let text = std::ffi::CStr::from_bytes_until_nul(&text).unwrap_or(c"");
        // SAFETY: the interpreter is running and this thread holds the GIL.
        // PySys_WriteStdout saves and restores any pending exception, and
        // falls back to the C stdout when sys.stdout is missing (as late in
        // interpreter shutdown), so it cannot fail or raise.
        unsafe { callout::PySys_WriteStdout(text) };
    } else {
        // No GIL (a foreign caller of the C ABI) or no interpreter: write
        // straight to file descriptor 1.
        // SAFETY: writing a valid buffer of the given length to fd 1.
        unsafe { libc::write(1, text.as_ptr().cast(), len) };
    }
}

thread_local! {
    /// Lines the library produced while the module held a borrow of a table.
    static PENDING: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The sink installed into the library's tracer: it only queues the line.
///
/// Writing to `sys.stdout` runs Python code (a redirected stdout's `write`),
/// which could call back into the very table the library is working on. So
/// lines wait here until the module layer, holding no borrow, calls [`flush`].
pub(crate) fn queue_line(line: &str) {
    // Tracing is a debugging aid: when memory has run out, a line is dropped
    // (and counted) rather than the process aborted.
    let queued = PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        let mut owned = String::new();
        if pending.try_reserve(1).is_err() || owned.try_reserve_exact(line.len()).is_err() {
            return false;
        }
        owned.push_str(line);
        pending.push(owned);
        true
    });
    if queued {
        QUEUED.fetch_add(1, Ordering::Relaxed);
    } else {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        QUEUED.fetch_add(1, Ordering::Relaxed); // so that flush reports it
    }
}

/// Lines dropped because memory ran out, not yet reported.
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Lines queued in all threads and not yet taken by [`flush`]. A thread
/// always sees its own increments, so zero means this thread has nothing
/// queued: `flush`, called several times per table operation, then returns
/// without touching thread-local storage (a function call in a shared object).
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// Writes every queued line, in order. Call only where no borrow of a table
/// is alive: the writing may run Python code.
#[inline]
pub(crate) fn flush() {
    if QUEUED.load(Ordering::Relaxed) != 0 {
        flush_queued();
    }
}

#[cold]
fn flush_queued() {
    let lines = PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        if pending.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut *pending)
        }
    });
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    QUEUED.fetch_sub(lines.len() + dropped, Ordering::Relaxed);
    for line in lines {
        write_line(&line);
    }
    if dropped > 0 {
        let note = super::refs::Text::of(format_args!(
            "Module: ({dropped} trace line{} dropped: out of memory)",
            if dropped == 1 { "" } else { "s" }
        ));
        write_line(note.as_str());
    }
}

/// The `calls`-level line of a module call (`Module: len()`), written at once.
#[inline(always)]
pub(crate) fn module_call(call: &str) {
    crate::trace!(
        crate::library::trace::Level::Calls,
        crate::library::trace::Origin::Module,
        "{call}"
    );
    flush();
}
