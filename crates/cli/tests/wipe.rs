//! `rollbook doctor --wipe-local-data`: the clean-up IT runs before a computer changes
//! hands (and after an MSI uninstall, which leaves per-user data behind), end to end with
//! the demo district, the real keychain and the encrypted store. Run through
//! `scripts/test.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use rollbook_sandbox::Knobs;
use support::Home;
use support::demo::{district, login_demo};

#[tokio::test(flavor = "multi_thread")]
async fn wiping_refuses_while_grades_wait_then_removes_the_data_the_store_and_the_webview() {
    let sandbox = district(Knobs::default()).await;
    let home = Home::new();
    let teacher = sandbox.district().staff[4].id.clone();
    login_demo(&home, &sandbox, &teacher).await;
    let classes = home.run(&["classes", "--json"]).await.json();
    let class = classes[0]["sourcedId"].as_str().unwrap().to_owned();
    let page = home.run(&["gradebook", &class, "--json"]).await.json();
    let item = page["gradebook"]["columns"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let student = page["gradebook"]["students"][0]["sourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = home.run(&["grade", &class, &item, &student, "6"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    let paths = home.app_paths();
    let db = std::fs::read_dir(&paths.data_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("the gradebook database");
    // A set-aside store (as a store no key opened leaves), and the web view's folders as
    // the window leaves them (XDG data and cache, named after the app's identifier).
    let aside = paths
        .data_dir
        .join("gradebook-0000.db.unreadable-1700000000");
    std::fs::write(&aside, b"not a database").unwrap();
    // Its count, as set_aside keeps it: nothing waited in it.
    std::fs::write(
        paths
            .data_dir
            .join("gradebook-0000.db.unreadable-1700000000.unsent"),
        b"0\n",
    )
    .unwrap();
    let root = paths
        .data_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let webview = [
        root.join("data").join("org.rollbook.desktop"),
        root.join("cache").join("org.rollbook.desktop"),
    ];
    for dir in &webview {
        std::fs::create_dir_all(dir.join("WebKitCache")).unwrap();
        std::fs::write(dir.join("WebKitCache").join("entry"), b"cached page").unwrap();
    }

    // Not while a grade waits: the count is said, and nothing is touched.
    let run = home.run(&["doctor", "--wipe-local-data"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("unsent_grades")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 grade"), "{}", run.stderr);
    assert!(db.exists() && aside.exists() && webview.iter().all(|d| d.exists()));
    let whoami = home.run(&["whoami"]).await;
    assert_eq!(whoami.code, 0, "still signed in: {}", whoami.stderr);

    // With --discard-unsent: signed out, and every folder gone.
    let run = home
        .run(&["doctor", "--wipe-local-data", "--discard-unsent", "--json"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let wiped = run.json();
    assert_eq!(wiped["wiped"]["unsent_discarded"], 1, "{wiped}");
    assert_eq!(wiped["wiped"]["signed_out"], true, "{wiped}");
    let left: Vec<_> = std::fs::read_dir(&paths.data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["logs"], "only the log folder stays");
    assert!(!db.exists() && !aside.exists());
    for dir in &webview {
        assert!(!dir.exists(), "{} is gone", dir.display());
    }
    let service = std::env::var("ROLLBOOK_KEYCHAIN_SERVICE").unwrap();
    let key = format!("{} {}", rollbook_core::STORE_KEY_ACCOUNT, db.display());
    assert!(
        keyring::Entry::new(&service, &key)
            .unwrap()
            .get_password()
            .is_err(),
        "the store's key left the keychain"
    );
    let whoami = home.run(&["whoami"]).await;
    assert_eq!(
        whoami.error_code(),
        Some("not_signed_in"),
        "{}",
        whoami.stderr
    );

    // A second run finds nothing and says so.
    let run = home.run(&["doctor", "--wipe-local-data"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("no Rollbook data"), "{}", run.stdout);
}

/// Stores other than the signed-in teacher's are deleted by a wipe too, so what waits in
/// them counts: a store kept when policy ended a session (its grades to be sent at the
/// same sign-in), another teacher's, a set-aside one. With no session at all, a store
/// whose count says grades wait is refused like the session's own, and one with no count
/// (what it holds cannot be told without its key) refuses as unknown.
#[tokio::test(flavor = "multi_thread")]
async fn wiping_with_no_session_refuses_while_a_kept_store_holds_grades_or_cannot_tell() {
    let home = Home::new();
    let paths = home.app_paths();
    std::fs::create_dir_all(&paths.data_dir).unwrap();
    let kept = paths.data_dir.join("gradebook-0123456789abcdef.db");
    std::fs::write(&kept, b"an encrypted store").unwrap();
    std::fs::write(
        paths.data_dir.join("gradebook-0123456789abcdef.db.unsent"),
        b"2\n",
    )
    .unwrap();

    let run = home.run(&["doctor", "--wipe-local-data"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("unsent_grades")),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stderr.contains("2 grades"), "{}", run.stderr);
    assert!(kept.exists(), "nothing is touched");

    // No count beside it (nor beside a set-aside store): what it holds is unknown.
    std::fs::remove_file(paths.data_dir.join("gradebook-0123456789abcdef.db.unsent")).unwrap();
    let run = home.run(&["doctor", "--wipe-local-data"]).await;
    assert_eq!(
        (run.code, run.error_code()),
        (2, Some("unsent_unknown")),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(kept.exists(), "nothing is touched");
    std::fs::write(
        paths.data_dir.join("gradebook-0123456789abcdef.db.unsent"),
        b"0\n",
    )
    .unwrap();
    let aside = paths
        .data_dir
        .join("gradebook-fedcba9876543210.db.keyless-1700000000");
    std::fs::write(&aside, b"an encrypted store").unwrap();
    let run = home.run(&["doctor", "--wipe-local-data"]).await;
    assert_eq!(run.error_code(), Some("unsent_unknown"), "{}", run.stderr);
    assert!(kept.exists() && aside.exists(), "nothing is touched");

    // Links in the data folder (a folder and a file elsewhere): the links go, never
    // what they point at.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(elsewhere.path().join("folder")).unwrap();
    std::fs::write(elsewhere.path().join("folder/keep.txt"), b"not Rollbook's").unwrap();
    std::fs::write(elsewhere.path().join("keep.txt"), b"not Rollbook's").unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path().join("folder"),
        paths.data_dir.join("linked-folder"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path().join("keep.txt"),
        paths.data_dir.join("linked-file"),
    )
    .unwrap();

    // Told to: both stores go.
    let run = home
        .run(&["doctor", "--wipe-local-data", "--discard-unsent"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!kept.exists() && !aside.exists());
    assert!(!paths.data_dir.join("linked-folder").exists());
    assert!(
        elsewhere.path().join("folder/keep.txt").exists()
            && elsewhere.path().join("keep.txt").exists(),
        "nothing outside the data folder is deleted through a link"
    );
}
