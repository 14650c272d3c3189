//! The talk's hash functions, as pure functions of plain values.
//!
//! The table never hashes anything: the caller passes every hash in, as the
//! talk's library expected. These functions are the caller's side of that
//! contract, kept here because they are part of the talk's library. The
//! module layer reads the plain value out of a Python object (an int's value,
//! a float's value, a str's length) and calls them; nothing here knows
//! Python.

/// The Mersenne prime CPython reduces numeric hashes by (`sys.hash_info.modulus`).
pub const HASH_MODULUS: u64 = (1 << 61) - 1;
/// What CPython hashes `inf` to (`sys.hash_info.inf`); `-inf` hashes to its negation.
pub const HASH_INF: i64 = 314_159;
/// What CPython hashed every NaN to before 3.10 (`sys.hash_info.nan`).
pub const HASH_NAN: i64 = 0;

/// The talk's deliberately terrible hash of an int: the int itself.
///
/// Only for ints that fit in `i64`; a larger int is the caller's to reduce
/// (the module hashes it as CPython hashes an int, so `2**70` and
/// `float(2**70)` still hash alike).
#[inline]
pub fn naive_hash_int(i: i64) -> i64 {
    i
}

/// The talk's naive hash of a float: its floor, so `1.0` hashes as `1` (keys
/// that compare equal must hash equal).
///
/// `±inf` has no floor and hashes as CPython hashes it (`±314159`); NaN has
/// none either and hashes to 0 ([`HASH_NAN`]). `None` when the floor lies
/// outside `i64`: the floor is then an int too large for this function, and
/// the caller reduces it as it reduces such an int.
#[inline]
pub fn naive_hash_float(f: f64) -> Option<i64> {
    if f.is_nan() {
        return Some(HASH_NAN);
    }
    if f.is_infinite() {
        return Some(if f > 0.0 { HASH_INF } else { -HASH_INF });
    }
    let floor = f.floor();
    // -2**63 <= floor < 2**63 is exactly where `as` converts an integral float without loss.
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&floor) {
        Some(floor as i64)
    } else {
        None
    }
}

/// The talk's naive hash of a str: its length in code points (as `len(s)`
/// counts), so every string of one length lands in one chain. The talk cites
/// an early PHP symbol table that hashed function names this way.
#[inline]
pub fn naive_hash_str(code_points: usize) -> i64 {
    code_points as i64
}

/// CPython's `hash()` of an int that fits in `i64`: |i| reduced modulo
/// 2**61 - 1 (`sys.hash_info.modulus`), with i's sign, and -1 (the C API's
/// error marker) becoming -2. The module uses it for exact ints instead of
/// calling `hash()`, which gives the same number.
#[inline]
pub fn python_int_hash(i: i64) -> i64 {
    let magnitude = i.unsigned_abs();
    let reduced = if magnitude < HASH_MODULUS {
        magnitude
    } else {
        magnitude % HASH_MODULUS
    } as i64;
    let h = if i < 0 { -reduced } else { reduced };
    if h == -1 { -2 } else { h }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_hash_is_the_talks() {
        assert_eq!(naive_hash_int(42), 42);
        assert_eq!(naive_hash_int(-7), -7);
        assert_eq!(naive_hash_float(3.7), Some(3));
        assert_eq!(naive_hash_float(-3.2), Some(-4));
        assert_eq!(naive_hash_float(-0.0), Some(0));
        assert_eq!(naive_hash_float(1.0), Some(naive_hash_int(1)));
        assert_eq!(naive_hash_str("pi".chars().count()), 2);
        assert_eq!(naive_hash_str("π≈3".chars().count()), 3);
    }

    #[test]
    fn floats_without_an_i64_floor() {
        assert_eq!(naive_hash_float(f64::INFINITY), Some(HASH_INF));
        assert_eq!(naive_hash_float(f64::NEG_INFINITY), Some(-HASH_INF));
        assert_eq!(naive_hash_float(f64::NAN), Some(HASH_NAN));
        // -2**63 fits, 2**63 does not; 2**70 is the caller's to reduce.
        assert_eq!(naive_hash_float(-(2f64.powi(63))), Some(i64::MIN));
        assert_eq!(naive_hash_float(2f64.powi(63)), None);
        assert_eq!(naive_hash_float(-(2f64.powi(70))), None);
        // The largest float below 2**63 converts exactly.
        let below = 2f64.powi(63) - 1024.0;
        assert_eq!(naive_hash_float(below), Some(below as i64));
    }

    #[test]
    fn python_int_hash_is_cpythons() {
        // Values from CPython: hash(n) for these n.
        assert_eq!(python_int_hash(0), 0);
        assert_eq!(python_int_hash(42), 42);
        assert_eq!(python_int_hash(-1), -2);
        assert_eq!(python_int_hash(-2), -2);
        assert_eq!(python_int_hash((1 << 61) - 2), (1 << 61) - 2);
        assert_eq!(python_int_hash((1 << 61) - 1), 0);
        assert_eq!(python_int_hash(1 << 62), 2);
        assert_eq!(python_int_hash(-(1 << 62)), -2);
        assert_eq!(python_int_hash(i64::MAX), 3); // 2**63 - 1 = 4 * (2**61 - 1) + 3
        assert_eq!(python_int_hash(i64::MIN), -4);
        // -(2**61 - 1) - 1 = -2**61 reduces to -1, which becomes -2.
        assert_eq!(python_int_hash(-(1 << 61)), -2);
    }
}
