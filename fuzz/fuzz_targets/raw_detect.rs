#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // No declared format: detection picks the reader (raw for anything unrecognised).
    common::exercise(data, None);
});
