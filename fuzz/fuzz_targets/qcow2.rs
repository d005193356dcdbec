#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use stencil_formats::Format;

fuzz_target!(|data: &[u8]| {
    common::exercise(data, Some(Format::Qcow2));
});
