//! OneRoster 1.1 bodies as servers really send them: the lenient models inside list and
//! single envelopes, and `imsx_` error statuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rollbook_oneroster::fuzzing::{error_from_status, parse_list, parse_single};
use rollbook_oneroster::{
    AcademicSession, Category, Class, Enrollment, GradeResult, ImsxStatus, LineItem, Org, User,
};

fn both<T: serde::de::DeserializeOwned + std::fmt::Debug>(body: &[u8], list: &str, one: &str) {
    if let Ok(Some(items)) = parse_list::<T>(body, list) {
        let _ = format!("{items:?}");
    }
    if let Ok(Some(item)) = parse_single::<T>(body, one) {
        let _ = format!("{item:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 9 {
        0 => both::<Class>(body, "classes", "class"),
        1 => both::<User>(body, "users", "user"),
        2 => both::<LineItem>(body, "lineItems", "lineItem"),
        3 => both::<GradeResult>(body, "results", "result"),
        4 => both::<Enrollment>(body, "enrollments", "enrollment"),
        5 => both::<AcademicSession>(body, "academicSessions", "academicSession"),
        6 => both::<Category>(body, "categories", "category"),
        7 => both::<Org>(body, "orgs", "org"),
        _ => {
            let _ = ImsxStatus::from_body(body);
            let status = 400 + u16::from(which) % 200;
            let error = error_from_status(status, body);
            // Every failure has a code and a human message.
            assert!(!error.code().as_str().is_empty());
            assert!(!error.to_string().is_empty());
        }
    }
});
