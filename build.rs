//! Build script: pyo3's interpreter detection plus the C layout probe.
//!
//! `use_pyo3_cfgs()` turns the target interpreter's configuration into cfgs
//! (`Py_3_12`, `Py_DEBUG`, ...), exactly as pyo3-ffi itself sees it. The probe
//! (`src/layout_probe.c`) is compiled against that interpreter's own headers,
//! so `PyInit_hashtable` can check pyo3-ffi's struct layouts against the truth.
use std::process::Command;

fn main() {
    pyo3_build_config::use_pyo3_cfgs();

    let config = pyo3_build_config::get();
    let python = config
        .executable()
        .map(str::to_owned)
        .expect("pyo3-build-config found no Python interpreter (set PYO3_PYTHON)");
    let output = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; p = sysconfig.get_paths(); print(p['include']); print(p['platinclude'])",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        output.status.success(),
        "{python} failed to report its include directories: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("include paths are not UTF-8");

    let mut probe = cc::Build::new();
    probe.file("src/layout_probe.c").warnings(true);
    for dir in stdout.lines().filter(|l| !l.is_empty()) {
        probe.include(dir);
    }
    probe.compile("hashtable_layout_probe");

    println!("cargo:rerun-if-changed=src/layout_probe.c");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
