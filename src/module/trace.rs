//! Where trace lines go: Python's `sys.stdout`, through PySys_WriteStdout,
//! so they interleave in order with Python's own prints and can be captured
//! with `contextlib.redirect_stdout`.

use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3_ffi as ffi;

use super::callout;

/// Writes one line now.
pub(crate) fn write_line(line: &str) {
    let Ok(text) = CString::new(format!("{line}\n")) else {
        return;
    };
    // SAFETY: plain queries, callable at any time in the process's life.
    let ready = unsafe { ffi::Py_IsInitialized() != 0 && ffi::PyGILState_Check() != 0 };
    if ready {
        // SAFETY: the interpreter is running and this thread holds the GIL.
        // PySys_WriteStdout saves and restores any pending exception, and
        // falls back to the C stdout when sys.stdout is missing (as late in
        // interpreter shutdown), so it cannot fail or raise. It cuts output
        // at 1000 bytes; our lines are short.
        unsafe { callout::PySys_WriteStdout(&text) };
    } else {
        // No GIL (a foreign caller of the C ABI) or no interpreter: write
        // straight to file descriptor 1.
        // SAFETY: writing a valid buffer of the given length to fd 1.
        unsafe { libc::write(1, text.as_ptr().cast(), text.as_bytes().len()) };
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
    PENDING.with(|p| p.borrow_mut().push(line.to_owned()));
    QUEUED.fetch_add(1, Ordering::Relaxed);
}

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
    QUEUED.fetch_sub(lines.len(), Ordering::Relaxed);
    for line in lines {
        write_line(&line);
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
