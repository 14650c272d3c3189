"""docs/ownership.md lists every C-API name the module uses, so it cannot drift.

The names are found in src/module/*.rs three ways: `ffi::Name` (and
`ffi::compat::Name`), `callout::Name` (the wrappers of callout.rs), and the
`fn Name(` declarations of callout.rs's `callouts!` list, which call the C
function of that name.
"""
import glob
import os
import re

REFLEAKS_RUN_ONCE = "reads files; runs no module code"

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHEET = os.path.join(REPO, "docs", "ownership.md")
NAME = r"(_?Py\w+)"


def used_names():
    names = {}
    for path in sorted(glob.glob(os.path.join(REPO, "src", "module", "*.rs"))):
        with open(path) as f:
            text = f.read()
        found = set(re.findall(r"\bffi::(?:compat::)?" + NAME, text))
        found |= set(re.findall(r"\bcallout::" + NAME, text))
        if os.path.basename(path) == "callout.rs":
            found |= set(re.findall(r"^\s*(?:pub\S* )?(?:unsafe )?fn " + NAME + r"\(", text,
                                    re.M))
        for name in found:
            names.setdefault(name, os.path.relpath(path, REPO))
    return names


def listed_names():
    with open(SHEET) as f:
        return set(re.findall(r"`" + NAME + r"`", f.read()))


def test_the_scan_finds_the_calls_the_lessons_talk_about():
    names = used_names()
    for name in ("PyObject_CallOneArg", "PyEval_GetBuiltins", "PyTuple_SetItem", "Py_INCREF",
                 "Py_DECREF", "PyDict_GetItemStringRef", "PyObject_VectorcallDict",
                 "PyModule_AddObjectRef"):
        assert name in names, name
    assert len(names) > 80


def test_every_name_the_module_uses_is_on_the_sheet():
    missing = {name: path for name, path in used_names().items() if name not in listed_names()}
    assert not missing, "docs/ownership.md does not list: %s" % ", ".join(
        "%s (%s)" % item for item in sorted(missing.items()))


def test_the_check_would_notice_a_new_name(tmp_path):
    """The test above can fail: a name absent from the sheet is reported."""
    assert "PyObject_NoSuchCall" not in listed_names()
    assert "PyObject_CallOneArg" in listed_names()
