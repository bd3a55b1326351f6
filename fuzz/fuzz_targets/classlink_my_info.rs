//! ClassLink's `GET /v2/my/info` body, read by the window and the gateway to learn who
//! the teacher is.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollbook_core::MyInfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = MyInfo::parse(data) {
        let _ = format!("{info:?}");
    }
});
