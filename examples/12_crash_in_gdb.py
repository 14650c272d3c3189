"""Lesson 12: the crash, in a debugger (gdb).

Lesson 2 showed the forgotten Py_INCREF crash; faulthandler printed the
Python line. Here the same bug is found the way one finds a crash nobody
planted: the program runs under gdb, in batch mode, and gdb answers three
questions, each with a native backtrace (`bt`, down to the Rust function
and its file:line, since the release profile keeps line tables: `debug = 1`
in Cargo.toml) and a Python one (`py-bt`, from CPython's gdb extension
python-gdb.py):

1. Where does it crash? At the next use of `h`: the interpreter looks up
   the method `set` on freed memory. A crash shows where freed memory was
   *used*, not who freed it.
2. Who freed it? A breakpoint on the module's tp_dealloc
   (`hashtable_dealloc`) stops while `h` is still bound: py-bt names the
   line whose call released the last reference.
3. Which function returned a reference it did not own? At the entry of the
   module's `set` and right after it returns, the object's ob_refcnt (the
   first machine word of every object): a function that returns `self` as a
   new reference must return it with one more reference than it got.

The child is this file itself (`the_bug()` below), so py-bt shows its lines.

    python examples/12_crash_in_gdb.py            (needs gdb; HASHTABLE_QUICK=1 changes nothing)

On your own machine: `gdb -batch -ex run -ex bt -ex py-bt --args python
yourscript.py`, with a build that keeps debug info (`debug = 1` or more in
the release profile, or a debug build), and python-gdb.py loaded (Debian:
apt install python3.X-dbg; a Python built from source or by pyenv installs
it next to the binary as pythonX.Y-gdb.py, which gdb only loads once
`add-auto-load-safe-path` allows it, as this lesson does).
"""
import os
import platform
import re
import shutil
import subprocess
import sys

import _lesson

CHILD = "--child"  # argv of the child: --child <variant>


def the_bug(hashtable):
    """What the child runs under gdb (the lines py-bt shows)."""
    h = hashtable.HashTable()
    h.set(1, 1)  # the result is dropped at once: the reference set handed out goes with it
    h.set(2, 2)  # h is still bound, to freed memory
    print("survived")


# Where a function's first argument and its return value are, on the
# machines this runs on (the System V and AAPCS64 calling conventions).
REGISTERS = {"x86_64": ("$rdi", "$rax"), "aarch64": ("$x0", "$x0")}

SET_IMPL = "hashtable::module::hashtable_type::set_impl"
DEALLOC = "hashtable::module::hashtable_type::hashtable_dealloc"


def gdb_commands(registers):
    """The -ex commands: breakpoints on the module's set and dealloc, then
    the backtraces and reference counts at each stop. `registers` is
    (first argument, return value), or None where unknown (no counts)."""
    arg, ret = registers or (None, None)

    def refcnt(label, register):
        if not register:
            return []
        # ob_refcnt is the first word of every object; C syntax for the cast.
        return ["set language c",
                'printf "@@ %s: %%ld\\n", ((long *)%s)[0]' % (label, register),
                "set language auto"]

    return (["set pagination off", "set print frame-arguments none",
             "set breakpoint pending on", "break " + SET_IMPL, "run",
             "echo \\n@@@ stop 1: the module's set is called\\n"]
            + refcnt("ob_refcnt of self on entry", arg)
            + ["bt 3", "py-bt", "finish", "finish"]
            + refcnt("ob_refcnt of what set returns", ret)
            + ["delete 1", "break " + DEALLOC,
               "echo \\n@@@ stop 2: the table is freed (the module's tp_dealloc)\\n",
               "continue", "bt 3", "py-bt",
               "echo \\n@@@ continue: the dealloc ends, then stop 3: the crash\\n",
               "continue", "bt 3", "py-bt"])


def python_gdb_scripts(python=sys.executable):
    """The python-gdb.py files (CPython's gdb extension) that gdb would load
    for `python`: next to the binary or libpython, or under gdb's auto-load
    directory (Debian's python3.X-dbg packages put them there)."""
    config = ("import sysconfig as s; print(s.get_config_var('LIBDIR')); "
              "print(s.get_config_var('LDLIBRARY'))")
    done = subprocess.run([python, "-c", config], capture_output=True, text=True)
    libdir, ldlibrary = (done.stdout.split("\n") + ["", ""])[:2]
    objfiles = [os.path.realpath(python)]
    if libdir and ldlibrary and ldlibrary.endswith(".so"):
        lib = os.path.join(libdir, ldlibrary)
        objfiles += [os.path.realpath(lib)] + sorted(
            os.path.realpath(p) for p in [lib + ".1.0"] if os.path.exists(p))
    found = []
    for objfile in dict.fromkeys(objfiles):
        for candidate in (objfile + "-gdb.py", "/usr/share/gdb/auto-load" + objfile + "-gdb.py"):
            if os.path.exists(candidate) and candidate not in found:
                found.append(candidate)
    return found


def where_found(script):
    """A python-gdb.py file found by python_gdb_scripts, said without the
    directories that differ from machine to machine."""
    if script.startswith("/usr/share/gdb/auto-load/"):
        return "%s, in gdb's auto-load directory" % os.path.basename(script)
    if os.path.dirname(script) == os.path.dirname(os.path.realpath(sys.executable)):
        return "%s, next to the interpreter's binary" % os.path.basename(script)
    return "%s, next to libpython" % os.path.basename(script)


# Lines of gdb's output that say nothing about the bug.
NOISE = re.compile(r"^(\[Thread debugging|Using host libthread_db|.*: No such file or directory\.$"
                   r"|Run till exit from|Warning: the current language does not match"
                   r"|Function \".*\" not defined\.$|Breakpoint \d+ \(.*\) pending\.$"
                   r"|warning: Error disabling address space randomization)")


# Code and object addresses: they differ from machine to machine.
HEX = re.compile(r"\b0x[0-9a-f]{6,}\b")


def run_gdb(variant, python=sys.executable, timeout=300):
    """This file's the_bug() on `variant`, run under gdb -batch: (gdb's
    output with the noise left out, the python-gdb.py files used), or None
    when gdb is missing."""
    gdb = shutil.which("gdb")
    if gdb is None:
        return None
    _lesson.prepare(variant, python)
    scripts = python_gdb_scripts(python)
    cmd = [gdb, "-q", "-nx", "-batch"]
    for script in scripts:
        cmd += ["-iex", "add-auto-load-safe-path " + script]
    for command in gdb_commands(REGISTERS.get(platform.machine())):
        cmd += ["-ex", command]
    cmd += ["--args", python, os.path.abspath(__file__), CHILD, variant or ""]
    env = dict(os.environ, PYTHONMALLOC="debug", HASHTABLE_TRACE="lifecycle",
               PYTHONUNBUFFERED="1")
    try:
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        out = done.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace") + "\n(gdb timed out)"
    out = HEX.sub("0x...", out)
    lines = [_lesson.portable(line)[:_lesson.LINE_MAX].rstrip()
             for line in out.splitlines() if not NOISE.match(line)]
    return "\n".join(lines), scripts


def not_run(out):
    """Why gdb could not run the program (ptrace not allowed, say), or None."""
    if "Breakpoint 1," in out:
        return None
    lines = [line for line in out.splitlines() if re.search(r"ptrace|[Ee]rror|denied", line)]
    return "gdb could not run the program: %s" % ("; ".join(lines[:2]) or "no stop at set")


def py_bt_worked(out):
    """Whether py-bt printed Python frames in run_gdb's output."""
    return "Traceback (most recent call first):" in out


def refcounts(out):
    """{label: count} from the "@@ label: count" lines of run_gdb's output."""
    return {label: int(count) for label, count in re.findall(r"^@@ (.*?): (-?\d+)$", out, re.M)}


def child(variant):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _build
    the_bug(_build.load(variant or None))


def main():
    if shutil.which("gdb") is None:
        _lesson.heading("gdb: not found")
        print("This lesson needs gdb (Debian/Ubuntu: apt install gdb). Nothing was run.")
        return
    _lesson.heading("the forget-incref build under gdb (%s, PYTHONMALLOC=debug)"
                    % _lesson.version())
    out, scripts = run_gdb("forget-incref")
    if not_run(out):
        print(out)
        print(not_run(out))
        return
    if scripts:
        print("python-gdb.py: %s" % ", ".join(where_found(s) for s in scripts))
    else:
        print("python-gdb.py: none found for this interpreter, so py-bt is not available"
              " below (Debian: apt install python3.X-dbg; a source build has it as"
              " pythonX.Y-gdb.py next to the binary).")
    print("gdb stops three times. Read them from the last, the crash, backwards: who")
    print("freed the table (stop 2), and the call that handed out a reference it did")
    print("not own (stop 1).")
    print()
    print(out)
    if scripts and not py_bt_worked(out):
        print("(py-bt found no Python frame: python-gdb.py also needs the interpreter's own"
              " debug info;\n Debian: apt install python3.X-dbg, or its -dbgsym package)")
    counts = refcounts(out)

    _lesson.heading("the fixed build: the same counts")
    fixed, _scripts = run_gdb(None)
    fixed_counts = refcounts(fixed)
    for label, count in fixed_counts.items():
        print("%s: %d" % (label, count))
    if len(counts) == 2 and len(fixed_counts) == 2:
        (entry, returned), (fixed_entry, fixed_returned) = counts.values(), fixed_counts.values()
        print("""
With the bug, set returned self with the count it came in with (%d -> %d): the
caller then owned a reference nobody had added, and when it dropped it (the
result of `h.set(1, 1)` is discarded) the table died under `h`. Fixed, the
count goes %d -> %d: one for the caller. That is the Py_INCREF(slf) missing
from set_impl, the function of the frame with src/module/hashtable_type.rs.""" % (
            entry, returned, fixed_entry, fixed_returned))
    else:
        print("(no reference counts: this machine's registers are not known to the lesson)")
    print("""
What to look for in your own crash:
- the frame that crashed: is it reading an object (a method lookup, a type
  check)? Then print that object's first word (ob_refcnt): 0xdddddddddddddddd
  with PYTHONMALLOC=debug means it was freed;
- py-bt at the crash: which Python variable it was;
- a breakpoint on that type's tp_dealloc: py-bt there is the line that
  dropped the last reference, which is where the count first went wrong;
- the functions that hand that object out: each returned reference must
  have been added (Py_INCREF, Py_NewRef) or come from a call returning a
  new one.""")


if __name__ == "__main__":
    if CHILD in sys.argv:
        child(sys.argv[sys.argv.index(CHILD) + 1])
    else:
        main()
