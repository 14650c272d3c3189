"""What the lessons (examples/0*.py) share: run a child, report its fate.

A lesson runs the dangerous part of its demonstration in a child process, so
the lesson itself always finishes and can say what happened to the child:

    import _lesson
    fate = _lesson.run_child('''
        h = hashtable.HashTable()
        h.set(1, 1)
    ''', variant="forget-incref", env={"PYTHONMALLOC": "debug"})
    fate.report()          # its output, then "killed by SIGSEGV ..." or "exit status 0"

The child code starts with `hashtable` already imported from the build of
`variant` *for the child's own interpreter*: the child calls _build.load()
itself, so a child running another interpreter (the debug one) builds and
imports its own copy. A build older than the sources is rebuilt first (the
rule of examples/_build.py). Children run with -X faulthandler and unbuffered
output, so a crash still shows every line printed before it and the Python
traceback of the crash.

Quick mode, for the test suite: HASHTABLE_QUICK=1 in the environment, or
--quick on a lesson's command line, makes the long lessons shorter.
Standard library only.
"""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import _build  # noqa: E402

REPO = _build.REPO
QUICK = os.environ.get("HASHTABLE_QUICK", "") not in ("", "0") or "--quick" in sys.argv[1:]

# Where a lesson looks for a debug interpreter (one with sys.gettotalrefcount)
# when it is not running under one: tools/test-all makes .venvs/3.11-dbg, and
# .venvs/3.15-dbg in the sid chroot. This interpreter's own version first.
DEBUG_PYTHONS = [os.environ.get("HASHTABLE_DEBUG_PYTHON")] + [
    python
    for minor in dict.fromkeys(["%d.%d" % sys.version_info[:2], "3.11", "3.15"])
    for python in (os.path.join(REPO, ".venvs", minor + "-dbg", "bin", "python"),
                   "/usr/bin/python%s-dbg" % minor)
]

# Long lines of a child's stderr (a debug interpreter dumps the repr of the
# object it stopped on: the whole builtins dict) are cut to this length.
LINE_MAX = 160
ADDRESS = re.compile(r"((?:thread|address *:) )0x[0-9a-fA-F]+")
STDLIB_FILE = re.compile(r'"[^"]*/lib/python\d+\.\d+/')
# A Rust panic: "thread '<unnamed>' (4242) panicked at src/x.rs:1:2:", the
# message on the next line; the thread id changes from run to run, and the
# standard library's files sit under /rustc/<the compiler's commit>/.
RUST_THREAD_ID = re.compile(r"^(thread '[^']*') \(\d+\)")
RUSTC_DIR = re.compile(r"/rustc/[0-9a-f]+/")
# The frames of a Rust backtrace (printed even without RUST_BACKTRACE when a
# panic cannot unwind): "  12:  0x7f.. - name" and "     at file:line".
BACKTRACE_FRAME = re.compile(r"^\s+(\d+:|at )")


def portable(line):
    """`line` without what changes from run to run or machine to machine:
    addresses become 0x..., the standard library's directory <stdlib>, this
    repository's directory nothing (its paths become relative)."""
    line = ADDRESS.sub(r"\g<1>0x...", line)
    line = STDLIB_FILE.sub('"<stdlib>/', line)
    line = RUST_THREAD_ID.sub(r"\1", line)
    line = RUSTC_DIR.sub("<rust>/", line)
    return line.replace(REPO + os.sep, "")


def heading(title):
    print()
    print("=" * 4, title, "=" * max(4, 72 - len(title)))


def version(python=sys.executable):
    """'CPython 3.11.7' (and ' debug build' for a debug interpreter)."""
    code = ("import platform, sys; print(platform.python_implementation(), platform.python_version()"
            " + (' debug build' if hasattr(sys, 'gettotalrefcount') else ''))")
    if python == sys.executable:
        return "%s %s%s" % (sys.implementation.name.replace("cpython", "CPython"),
                            sys.version.split()[0],
                            " debug build" if hasattr(sys, "gettotalrefcount") else "")
    return subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()


def _can_build_or_load(python, variant):
    """True when `python` is a debug interpreter that has this variant built or can build it."""
    probe = ("import sys; assert hasattr(sys, 'gettotalrefcount'); sys.path.insert(0, %r); "
             "import _build\n"
             "if not _build.is_fresh(%r): import setuptools_rust" % (HERE, variant))
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def debug_python(variant=None):
    """A debug interpreter able to load `variant`, or None.

    The running interpreter if it is one; otherwise the first of
    DEBUG_PYTHONS that has the build already or has setuptools-rust to make it.
    """
    if hasattr(sys, "gettotalrefcount"):
        return sys.executable
    for python in DEBUG_PYTHONS:
        if python and os.access(python, os.X_OK) and _can_build_or_load(python, variant):
            return python
    return None


def debug_python_missing():
    return ("no usable debug interpreter (tried %s: missing, or without setuptools-rust "
            "to build the module); `tools/test-all` makes .venvs/3.11-dbg, or:\n"
            "  python3.11-dbg -m venv .venvs/3.11-dbg && "
            ".venvs/3.11-dbg/bin/pip install -r tests/requirements.txt"
            % ", ".join(p for p in DEBUG_PYTHONS if p))


def debug_python_or_skip(variant, title):
    """debug_python(variant), its build of `variant` prepared; or None, once
    the part of a lesson called `title` is announced as skipped, with how to
    get a debug interpreter."""
    python = debug_python(variant)
    if python is None:
        heading("%s on a debug interpreter: skipped" % title)
        print(debug_python_missing())
    else:
        prepare(variant, python)
    return python


class Fate:
    """How a child process ended, and what it printed."""

    def __init__(self, args, returncode, stdout, stderr, hung, timeout, seconds):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.hung = hung
        self.timeout = timeout
        self.seconds = seconds

    @property
    def signal_name(self):
        """'SIGSEGV' when a signal ended the child (returncode -N), else None."""
        if self.hung or self.returncode is None or self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return "signal %d" % -self.returncode

    @property
    def crashed(self):
        """Killed by a signal (SIGSEGV, SIGABRT from an assertion or Py_FatalError, ...)."""
        return self.signal_name is not None

    @property
    def ok(self):
        return not self.hung and self.returncode == 0

    def summary(self):
        if self.hung:
            return "hung: still running after %g s, killed by the lesson" % self.timeout
        if self.crashed:
            return "killed by %s (exit code %d)" % (self.signal_name, self.returncode)
        return "exit status %d" % self.returncode

    def fatal_error(self):
        """The interesting part of stderr: from the first Rust panic, 'Fatal
        Python error' or assertion line to the end (faulthandler's traceback),
        without Rust's backtraces, long lines cut."""
        lines = self.stderr.splitlines()
        start = next((i for i, line in enumerate(lines)
                      if "Fatal Python error" in line or "Assertion" in line
                      or " panicked at " in line), None)
        if start is None:
            return ""
        keep = []
        skipping = False
        in_backtrace = False
        for line in lines[start:]:
            if line == "stack backtrace:" or line.startswith("note: run with `RUST_BACKTRACE"):
                in_backtrace = line == "stack backtrace:"
                continue
            if in_backtrace:
                in_backtrace = bool(BACKTRACE_FRAME.match(line))
                if in_backtrace:
                    continue
            # A debug interpreter's object dump: the repr of the object can be
            # huge (the builtins dict) and span many lines.
            if line.startswith("object repr"):
                skipping = True
                keep.append(line[:LINE_MAX] + " ...[the repr, cut]")
                continue
            if skipping:
                # The repr may hold blank lines of its own (the copyright text):
                # skip to the fatal error line that follows every dump.
                skipping = "Fatal Python error" not in line
                if skipping:
                    continue
                keep.append("")
            line = portable(line)
            if len(line) > LINE_MAX:
                line = line[:LINE_MAX] + " ...[%d more characters]" % (len(line) - LINE_MAX)
            keep.append(line)
        return "\n".join(keep)

    def report(self, show_stdout=True, stdout_tail=None, stdout_head=0):
        """Prints the child's output (with stdout_tail, only its first
        stdout_head and last stdout_tail lines), its fatal error (if any) and
        how it ended."""
        if show_stdout:
            out = self.stdout.rstrip("\n").splitlines()
            if stdout_tail and len(out) > stdout_head + stdout_tail:
                for line in out[:stdout_head]:
                    print("  " + line)
                print("  [... %d lines ...]" % (len(out) - stdout_head - stdout_tail))
                out = out[-stdout_tail:]
            for line in out:
                print("  " + line)
        fatal = self.fatal_error()
        if fatal:
            panicked = " panicked at " in fatal.splitlines()[0]
            print("  --- the child's stderr (%s) ---"
                  % ("Rust's panic, then faulthandler" if panicked else "faulthandler"))
            for line in fatal.splitlines():
                print("  " + line)
        elif not self.ok and self.stderr.strip():
            print("  --- the child's stderr ---")
            for line in self.stderr.rstrip().splitlines()[-15:]:
                print("  " + portable(line)[:LINE_MAX])
        print("  => child:", self.summary())


def load(variant=None):
    """`hashtable` built as `variant`, imported into this process (_build.load)."""
    return _build.load(variant)


def prelude(variant):
    """The first lines of every child: import `hashtable` built as `variant`
    for the child's own interpreter (building it there if needed)."""
    return ("import sys\n"
            "sys.path.insert(0, %r)\n"
            "import _build\n"
            "hashtable = _build.load(%r)\n" % (HERE, variant))


def prepare(variant=None, python=None):
    """Makes sure `python` (default: this one) has an up-to-date `variant`."""
    if python is None or python == sys.executable:
        _build.build(variant)
        return
    fate = run_child("", variant=variant, python=python, timeout=1800)
    if not fate.ok:
        fate.report()
        raise RuntimeError("could not build %s for %s" % (variant or "the normal build", python))


def repl_code(session):
    """Child code that types `session` (lines) into an interactive console, as
    the REPL does: each expression's value echoed by sys.displayhook and kept
    in `_`; each line printed after its prompt, like a terminal transcript."""
    return ("SESSION = %r\n" % session) + textwrap.dedent('''
        import code

        class Console(code.InteractiveConsole):
            """Reads the session's lines instead of the keyboard, echoing each one."""
            def raw_input(self, prompt=""):
                if not LINES:
                    raise EOFError
                line = LINES.pop(0)
                print(prompt + line)
                return line

        LINES = SESSION.splitlines()
        Console(locals={"HashTable": hashtable.HashTable}).interact(banner="", exitmsg="")
        ''')


def run_child(code, variant=None, python=None, env=None, timeout=60, args=(), trace=None):
    """Runs dedented `code` after prelude(variant) in a child; returns its Fate.

    `python` defaults to this interpreter; `env` adds environment variables;
    `trace` sets HASHTABLE_TRACE (by default the child gets the module's
    default level, "lifecycle"). A child that runs longer than `timeout`
    seconds is killed and reported as hung.
    """
    python = python or sys.executable
    full_env = dict(os.environ)
    full_env.pop("HASHTABLE_TRACE", None)
    if trace:
        full_env["HASHTABLE_TRACE"] = trace
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    source = prelude(variant) + textwrap.dedent(code)
    cmd = [python, "-X", "faulthandler", "-c", source] + list(args)
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, env=full_env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        def text(b):
            return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
        return Fate(cmd, None, text(e.stdout), text(e.stderr), True, timeout,
                    time.monotonic() - start)
    return Fate(cmd, done.returncode, done.stdout, done.stderr, False, timeout,
                time.monotonic() - start)
