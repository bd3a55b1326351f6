//! One live session per `Account`: concurrent calls share it, so an expired access
//! token is refreshed once, not once per call (with rotating refresh tokens, a second
//! refresh would spend a used token and the provider would end the session). And a
//! session the keychain cannot take stays usable for the life of the process.
//!
//! The token store here is in memory: this is a test of core's bookkeeping, not of
//! the keychain (the CLI and window tests use the real one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rollbook_core::auth::{ManualClock, StoreError, StoreKey, StoredCredentials, TokenStore};
use rollbook_core::grades::CellInput;
use rollbook_core::grades::store::CellChange;
use rollbook_core::{
    Account, AppPaths, ClassId, ClassPage, CommandBrowser, GradebookPage, IfUnsent, LastView,
    LineItemId, LocalStorePolicy, ProviderSettings, SignInDesk, SignInProgress, StoreLocation,
    StudentId, TermFilter,
};
use rollbook_sandbox::{Knobs, RosterAccess, Sandbox, SandboxConfig, Size, TokenPolicy};

#[derive(Debug, Default)]
struct MemoryStore {
    entries: Mutex<HashMap<StoreKey, StoredCredentials>>,
    secrets: Mutex<HashMap<String, String>>,
    refuse_saves: bool,
    /// Deleting fails as a locked keychain's does.
    refuse_clears: AtomicBool,
}

impl TokenStore for MemoryStore {
    fn load(&self, key: &StoreKey) -> Result<Option<StoredCredentials>, StoreError> {
        Ok(self.entries.lock().unwrap().get(key).cloned())
    }
    fn save(&self, key: &StoreKey, credentials: &StoredCredentials) -> Result<(), StoreError> {
        if self.refuse_saves {
            return Err(StoreError::TimedOut);
        }
        self.entries
            .lock()
            .unwrap()
            .insert(key.clone(), credentials.clone());
        Ok(())
    }
    fn clear(&self, key: &StoreKey) -> Result<(), StoreError> {
        if self.refuse_clears.load(Ordering::SeqCst) {
            return Err(StoreError::TimedOut);
        }
        self.entries.lock().unwrap().remove(key);
        Ok(())
    }
    fn probe(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn load_secret(&self, account: &str) -> Result<Option<String>, StoreError> {
        Ok(self.secrets.lock().unwrap().get(account).cloned())
    }
    fn save_secret(&self, account: &str, secret: &str) -> Result<(), StoreError> {
        self.secrets
            .lock()
            .unwrap()
            .insert(account.to_owned(), secret.to_owned());
        Ok(())
    }
    fn clear_secret(&self, account: &str) -> Result<(), StoreError> {
        if self.refuse_clears.load(Ordering::SeqCst) {
            return Err(StoreError::TimedOut);
        }
        self.secrets.lock().unwrap().remove(account);
        Ok(())
    }
}

fn test_browser(teacher: &str) -> CommandBrowser {
    // This test's binary is target/debug/deps/live_session-…; the browser sits in
    // target/debug, beside the deps folder.
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let bin = rollbook_fake_op::test_browser_bin(&deps).unwrap();
    CommandBrowser::parse(Some(&format!("{} --login {teacher}", bin.display())))
        .unwrap()
        .unwrap()
}

async fn district(access_token_seconds: u64) -> Sandbox {
    Sandbox::start(SandboxConfig {
        seed: 11,
        size: Size::Tiny,
        // Core's session rules against a plain OneRoster server that takes the
        // teacher's token (roster 401 → refresh → retry); the gateway road is the CLI's.
        knobs: Knobs {
            access: RosterAccess {
                accept_teacher_tokens: true,
                ..RosterAccess::default()
            },
            tokens: TokenPolicy {
                access_token_seconds,
                ..TokenPolicy::default()
            },
            ..Knobs::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

async fn signed_in(sandbox: &Sandbox, store: MemoryStore) -> (Account, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let account = sign_in_at(sandbox, AppPaths::under(home.path()), Arc::new(store), None).await;
    (account, home)
}

/// The district's first teacher signed in, with this home and keychain, and this clock
/// (the wall clock when `None`).
async fn sign_in_at(
    sandbox: &Sandbox,
    paths: AppPaths,
    store: Arc<MemoryStore>,
    clock: Option<Arc<ManualClock>>,
) -> Account {
    sign_in_as(sandbox, paths, store, clock, 0).await
}

/// The district's `staff`th teacher signed in.
async fn sign_in_as(
    sandbox: &Sandbox,
    paths: AppPaths,
    store: Arc<MemoryStore>,
    clock: Option<Arc<ManualClock>>,
    staff: usize,
) -> Account {
    let mut account = Account::new(paths, store).unwrap();
    if let Some(clock) = clock {
        account = account.with_clock(clock);
    }
    let teacher = sandbox.district().staff[staff].id.clone();
    let desk = SignInDesk::new();
    account
        .sign_in(
            ProviderSettings::demo(sandbox.issuer(), &sandbox.oneroster_url()),
            &test_browser(&teacher),
            &desk.begin().unwrap(),
            Duration::from_secs(20),
            &mut |_| {},
        )
        .await
        .unwrap();
    account
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_calls_with_an_expired_token_refresh_once() {
    // The teacher's clock moves on to 20 s before the access token's expiry (core renews
    // 30 s before); the district's does not move, so the refreshed tokens (ID tokens
    // live 600 s there) are good by both clocks.
    let sandbox = district(600).await;
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let home = tempfile::tempdir().unwrap();
    let account = sign_in_at(
        &sandbox,
        AppPaths::under(home.path()),
        Arc::new(MemoryStore::default()),
        Some(Arc::clone(&clock)),
    )
    .await;
    let classes = account.rosters().classes(TermFilter::All).await.unwrap();
    let class_id = ClassId::from(&classes[0].sourced_id);
    let before = sandbox.stats()["token"];
    account.rosters().classes(TermFilter::All).await.unwrap();
    assert_eq!(
        sandbox.stats()["token"],
        before,
        "a fresh token is not refreshed"
    );
    clock.advance(Duration::from_secs(600 - 20));

    let before = sandbox.stats()["token"];
    let (roster, gradebook, again) = tokio::join!(
        account.rosters().students(&class_id),
        account.rosters().gradebook(&class_id),
        account.rosters().classes(TermFilter::All),
    );
    roster.unwrap();
    gradebook.unwrap();
    again.unwrap();
    assert_eq!(
        sandbox.stats()["token"],
        before + 1,
        "three calls found the token expired; one refresh served them all"
    );
    assert!(account.whoami(false).await.is_ok(), "the session survived");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_the_keychain_refused_still_works_in_this_process() {
    let sandbox = district(3600).await;
    let store = MemoryStore {
        refuse_saves: true,
        ..MemoryStore::default()
    };
    let (account, home) = signed_in(&sandbox, store).await;
    assert!(
        !home.path().join("data/session.json").exists(),
        "nothing is recorded for a session that was not saved"
    );
    let classes = account.rosters().classes(TermFilter::All).await.unwrap();
    assert!(!classes.is_empty());
    account.sign_out(IfUnsent::Refuse).await.unwrap();
    assert!(
        account.rosters().classes(TermFilter::All).await.is_err(),
        "signed out"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_class_page_lives_and_dies_with_the_session() {
    let sandbox = district(3600).await;
    let (account, home) = signed_in(&sandbox, MemoryStore::default()).await;
    assert_eq!(account.warm_start().last_view().await.unwrap(), None);
    let view = LastView {
        class_id: "cls-00002".into(),
        page: ClassPage::Gradebook,
    };
    account
        .warm_start()
        .remember_view(Some(view.clone()))
        .await
        .unwrap();
    let record = std::fs::read_to_string(home.path().join("data/session.json")).unwrap();
    assert!(record.contains("cls-00002"), "{record}");
    // Finding the teacher's id rewrites the record; the view must survive that.
    account.rosters().classes(TermFilter::All).await.unwrap();
    assert_eq!(account.warm_start().last_view().await.unwrap(), Some(view));
    account.sign_out(IfUnsent::Refuse).await.unwrap();
    assert!(!home.path().join("data/session.json").exists());
    assert!(
        account.warm_start().remember_view(None).await.is_err(),
        "nothing to remember it for"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_provider_metadata_is_fetched_again_at_the_next_start() {
    let sandbox = district(3600).await;
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    sign_in_at(&sandbox, paths.clone(), store.clone(), None).await;
    let record_path = home.path().join("data").join("session.json");
    let rewrite = |age: i64| {
        let mut record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        record["metadata_fetched_at"] = serde_json::json!(i64::try_from(now).unwrap() - age);
        record["metadata"]["userinfo_endpoint"] = serde_json::json!("http://127.0.0.1:9/moved");
        std::fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();
    };
    let userinfo = |path: &std::path::Path| {
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        record["metadata"]["userinfo_endpoint"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // An hour old: trusted as it is, no discovery call.
    rewrite(3_600);
    let discoveries = sandbox.stats().get("discovery").copied().unwrap_or(0);
    let restarted = Account::new(paths.clone(), store.clone()).unwrap();
    restarted.whoami(false).await.unwrap();
    assert_eq!(
        sandbox.stats().get("discovery").copied().unwrap_or(0),
        discoveries
    );
    assert_eq!(userinfo(&record_path), "http://127.0.0.1:9/moved");

    // Two days old: fetched again at the next start, and kept.
    rewrite(2 * 86_400);
    let restarted = Account::new(paths, store).unwrap();
    restarted.whoami(false).await.unwrap();
    assert_eq!(
        sandbox.stats().get("discovery").copied().unwrap_or(0),
        discoveries + 1
    );
    assert!(
        userinfo(&record_path).starts_with(sandbox.issuer()),
        "{}",
        userinfo(&record_path)
    );
}

#[test]
fn today_follows_the_accounts_clock_and_time_zone() {
    let home = tempfile::tempdir().unwrap();
    // 2026-11-28 01:30 UTC: the 27th in New York, the 28th in UTC.
    let clock = Arc::new(ManualClock::starting_at(
        std::time::UNIX_EPOCH + Duration::from_secs(1_795_829_400),
    ));
    let account = Account::new(
        AppPaths::under(home.path()),
        Arc::new(MemoryStore::default()),
    )
    .unwrap()
    .with_clock(clock.clone());
    let new_york = account.with_time_zone(jiff::tz::TimeZone::get("America/New_York").unwrap());
    assert_eq!(new_york.today(), "2026-11-27");
    clock.advance(Duration::from_secs(5 * 3600));
    assert_eq!(new_york.today(), "2026-11-28");
}

/// The window's session ends (here: another process signed in as someone else, which
/// removed its keychain entry) while a CLI `login` has just written its own record: the
/// window's clean-up must leave the newer record alone.
#[tokio::test(flavor = "multi_thread")]
async fn an_ended_session_does_not_delete_a_newer_sign_in_record() {
    let sandbox = Sandbox::start(SandboxConfig {
        seed: 11,
        size: Size::Pair,
        knobs: Knobs {
            access: RosterAccess {
                accept_teacher_tokens: true,
                ..RosterAccess::default()
            },
            ..Knobs::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let store = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    let window = sign_in_as(&sandbox, paths.clone(), store.clone(), None, 0).await;
    let cli = sign_in_as(&sandbox, paths.clone(), store.clone(), None, 1).await;
    let second = cli.whoami(false).await.unwrap().identity.subject;

    let ended = window.whoami(true).await.unwrap_err();
    assert_eq!(ended.code(), "sign_in_again", "{ended}");
    drop((window, cli));

    let next_process = Account::new(paths, store).unwrap();
    let me = next_process.whoami(false).await.unwrap();
    assert_eq!(
        me.identity.subject, second,
        "the newer sign-in survived the old one's clean-up"
    );
}

/// A browser that opens nothing: the attempt waits for an answer that never comes.
fn silent_browser() -> CommandBrowser {
    CommandBrowser::parse(Some("true")).unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_sign_in_waits_its_turn_and_cancel_reaches_the_one_waiting() {
    let sandbox = district(3600).await;
    let store = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let account = Account::new(AppPaths::under(home.path()), store.clone()).unwrap();
    let desk = SignInDesk::new();
    let attempt = desk.begin().unwrap();
    let settings = ProviderSettings::demo(sandbox.issuer(), &sandbox.oneroster_url());
    let canceller = desk.clone();
    let browser = silent_browser();
    let mut progress = |_| {};
    let (outcome, ()) = tokio::join!(
        account.sign_in(
            settings,
            &browser,
            &attempt,
            Duration::from_secs(20),
            &mut progress
        ),
        async {
            while canceller.waiting_url().is_none() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(
                canceller.begin().unwrap_err().code(),
                "sign_in_in_progress",
                "a second sign-in while one waits is refused"
            );
            assert!(canceller.cancel());
        }
    );
    assert_eq!(outcome.unwrap_err().code(), "sign_in_cancelled");
    drop(attempt);
    assert!(
        store.entries.lock().unwrap().is_empty(),
        "nothing in the keychain"
    );
    assert!(!home.path().join("data/session.json").exists(), "no record");
    assert!(desk.begin().is_ok(), "the desk is free again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_once_the_session_is_being_stored_changes_nothing() {
    let sandbox = district(3600).await;
    let store = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let account = Account::new(AppPaths::under(home.path()), store.clone()).unwrap();
    let desk = SignInDesk::new();
    let teacher = sandbox.district().staff[0].id.clone();
    let mut refused_cancels = 0;
    let mut progress = |stage: SignInProgress| {
        if stage == SignInProgress::Finishing && !desk.cancel() {
            refused_cancels += 1;
        }
    };
    account
        .sign_in(
            ProviderSettings::demo(sandbox.issuer(), &sandbox.oneroster_url()),
            &test_browser(&teacher),
            &desk.begin().unwrap(),
            Duration::from_secs(20),
            &mut progress,
        )
        .await
        .expect("the sign-in finishes: the cancel came too late");
    assert_eq!(refused_cancels, 1);
    assert_eq!(store.entries.lock().unwrap().len(), 1, "one keychain entry");
    assert!(
        home.path().join("data/session.json").exists(),
        "and its record"
    );
}

/// A sign-out the keychain will not finish (locked) says so, signs out anyway (no record,
/// no session in this process), and lists the entry; the next start deletes it.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_out_the_keychain_refuses_is_reported_and_finished_at_the_next_start() {
    let sandbox = district(3600).await;
    let store = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    let account = sign_in_at(&sandbox, paths.clone(), store.clone(), None).await;
    let pending = home.path().join("data/pending-wipes.json");

    store.refuse_clears.store(true, Ordering::SeqCst);
    let unfinished = account.sign_out(IfUnsent::Refuse).await.unwrap_err();
    assert_eq!(unfinished.code(), "sign_out_unfinished", "{unfinished}");
    assert!(
        unfinished.to_string().contains("signed out"),
        "{unfinished}"
    );
    assert!(!home.path().join("data/session.json").exists(), "no record");
    assert_eq!(
        store.entries.lock().unwrap().len(),
        1,
        "the entry is still there"
    );
    let listed = std::fs::read_to_string(&pending).unwrap();
    assert!(listed.contains(sandbox.issuer()), "{listed}");
    assert!(!listed.contains("token"), "keys only: {listed}");
    assert_eq!(
        account.whoami(false).await.unwrap_err().code(),
        "not_signed_in",
        "the session ended in this process"
    );
    // Still locked at the next start: the same honest answer.
    let restarted = Account::new(paths.clone(), store.clone()).unwrap();
    assert_eq!(
        restarted
            .finish_pending_sign_out()
            .await
            .unwrap_err()
            .code(),
        "sign_out_unfinished"
    );
    // IT's wipe while it is still locked says so, and keeps the list: it is the only
    // pointer to the refresh token still in the keychain.
    let wiped = restarted.wipe_local_data(IfUnsent::Discard).await.unwrap();
    assert!(
        wiped.problems.iter().any(|p| p.contains("keychain")),
        "{:?}",
        wiped.problems
    );
    assert!(pending.exists(), "the list of entries to delete was wiped");

    store.refuse_clears.store(false, Ordering::SeqCst);
    let restarted = Account::new(paths, store.clone()).unwrap();
    restarted.finish_pending_sign_out().await.unwrap();
    assert!(
        store.entries.lock().unwrap().is_empty(),
        "the entry is gone"
    );
    assert!(!pending.exists(), "and so is the list");
}

/// A listed entry that a new sign-in (of the same teacher) took over is the new
/// session's: the next start must not delete it.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_sign_in_takes_its_entry_off_the_pending_list() {
    let sandbox = district(3600).await;
    let store = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    let account = sign_in_at(&sandbox, paths.clone(), store.clone(), None).await;
    store.refuse_clears.store(true, Ordering::SeqCst);
    account.sign_out(IfUnsent::Refuse).await.unwrap_err();
    drop(account);
    sign_in_at(&sandbox, paths.clone(), store.clone(), None).await;
    store.refuse_clears.store(false, Ordering::SeqCst);

    let restarted = Account::new(paths, store.clone()).unwrap();
    restarted.finish_pending_sign_out().await.unwrap();
    assert!(
        restarted.whoami(false).await.is_ok(),
        "the new sign-in survived"
    );
}

/// Shared-machine mode keeps the session in memory: no keychain entry, no record, and
/// the sign-out reports it so the face ends the browser's provider session too.
#[tokio::test(flavor = "multi_thread")]
async fn a_shared_machine_session_leaves_nothing_on_disk_or_in_the_keychain() {
    let sandbox = district(3600).await;
    let store = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let account = Account::new(AppPaths::under(home.path()), store.clone()).unwrap();
    let mut settings = ProviderSettings::demo(sandbox.issuer(), &sandbox.oneroster_url());
    settings.shared_machine = true;
    let teacher = sandbox.district().staff[0].id.clone();
    let report = account
        .sign_in(
            settings,
            &test_browser(&teacher),
            &SignInDesk::new().begin().unwrap(),
            Duration::from_secs(20),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert!(!report.persisted && !report.has_refresh_token);
    assert!(
        !account
            .rosters()
            .classes(TermFilter::All)
            .await
            .unwrap()
            .is_empty()
    );
    account
        .warm_start()
        .remember_view(Some(LastView {
            class_id: "cls-00002".into(),
            page: ClassPage::Roster,
        }))
        .await
        .unwrap();
    // Grades too stay in memory: no database file, no key in the keychain.
    let class =
        ClassId::from(&account.rosters().classes(TermFilter::All).await.unwrap()[0].sourced_id);
    let page = account.grades().gradebook_page(&class).await.unwrap();
    assert!(matches!(page.location, StoreLocation::Memory { .. }));
    let (item, student) = (
        LineItemId::from(&page.gradebook.columns[0].sourced_id),
        StudentId::from(&page.gradebook.students[0].sourced_id),
    );
    account
        .grades()
        .enter_grade(
            &class,
            &item,
            &student,
            CellChange::Input(CellInput::Score(4.5)),
        )
        .await
        .unwrap();
    assert!(
        store.entries.lock().unwrap().is_empty() && store.secrets.lock().unwrap().is_empty(),
        "no keychain entry"
    );
    assert_eq!(
        account.grades().unsent_lost_on_restart().await.unwrap(),
        1,
        "an update's restart would lose the grade: it is in memory only"
    );
    let mut files: Vec<String> = walk(home.path());
    files.sort();
    assert_eq!(
        files,
        vec![
            "data/session.lock".to_owned(),
            "data/shared-session-open.json".to_owned()
        ],
        "only the (empty) lock file, and the note that a shared session is open"
    );
    let note = std::fs::read_to_string(home.path().join("data/shared-session-open.json")).unwrap();
    assert!(
        !note.contains(&teacher) && !note.contains("token"),
        "the note names the provider only: {note}"
    );
    // Closing the window ends it; a personal session would outlive the window.
    let signed_out = account.end_shared_session().await.unwrap().unwrap();
    assert!(signed_out.shared_machine);
    assert!(account.end_shared_session().await.is_none(), "ended once");
    assert!(
        account.take_unended_shared_session().is_none(),
        "ended properly: nothing for the next start to finish"
    );
    let (personal, _home) = signed_in(&sandbox, MemoryStore::default()).await;
    assert!(personal.end_shared_session().await.is_none());
    assert!(personal.whoami(false).await.is_ok(), "kept");
    grade_first_cell(&personal, 3.5).await;
    assert_eq!(personal.grades().unsent_grades().await.unwrap(), 1);
    assert_eq!(
        personal.grades().unsent_lost_on_restart().await.unwrap(),
        0,
        "on disk, a restart keeps it"
    );
}

/// The first class's gradebook read, and a grade entered in its first cell.
async fn grade_first_cell(account: &Account, score: f64) -> (ClassId, LineItemId, StudentId) {
    let class =
        ClassId::from(&account.rosters().classes(TermFilter::All).await.unwrap()[0].sourced_id);
    let page = account.grades().gradebook_page(&class).await.unwrap();
    let (item, student) = (
        LineItemId::from(&page.gradebook.columns[0].sourced_id),
        StudentId::from(&page.gradebook.students[0].sourced_id),
    );
    account
        .grades()
        .enter_grade(
            &class,
            &item,
            &student,
            CellChange::Input(CellInput::Score(score)),
        )
        .await
        .unwrap();
    (class, item, student)
}

fn saved_score(page: Option<GradebookPage>, item: &LineItemId, student: &StudentId) -> Option<f64> {
    page?
        .gradebook
        .cells
        .into_iter()
        .find(|c| c.line_item_id == item.as_str() && c.student_id == student.as_str())?
        .value
        .score
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_gradebook_is_encrypted_per_sign_in_and_a_damaged_one_is_set_aside() {
    let sandbox = district(3600).await;
    let keychain = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    let account = sign_in_at(&sandbox, paths.clone(), Arc::clone(&keychain), None).await;
    let (class, item, student) = grade_first_cell(&account, 4.25).await;
    let db = the_store(&paths);
    assert!(db.exists());
    assert_eq!(
        keychain.secrets.lock().unwrap().len(),
        1,
        "its key is in the keychain"
    );
    drop(account);

    // The next start (a new process) reads it back with the key from the keychain.
    let again = Account::new(paths.clone(), Arc::clone(&keychain) as Arc<dyn TokenStore>).unwrap();
    assert_eq!(
        saved_score(
            again.grades().saved_gradebook(&class).await.unwrap(),
            &item,
            &student
        ),
        Some(4.25)
    );
    drop(again);

    // Damaged: set aside (not deleted), and a new store opens.
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let _ = std::fs::remove_file(wal);
    let damaged =
        Account::new(paths.clone(), Arc::clone(&keychain) as Arc<dyn TokenStore>).unwrap();
    assert!(
        damaged
            .grades()
            .saved_gradebook(&class)
            .await
            .unwrap()
            .is_none()
    );
    let aside: Vec<String> = walk(home.path())
        .into_iter()
        .filter(|f| f.contains(".db.unreadable-") && !f.ends_with(".unsent"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    // The teacher is told, with what it held (the count kept beside it).
    let notice = damaged.grades().store_set_aside().await.expect("a notice");
    assert_eq!(
        (notice.code.as_str(), notice.unsent),
        ("store_set_aside", Some(1))
    );
    assert_eq!(damaged.grades().set_aside_stores(), vec![notice]);
    damaged
        .grades()
        .enter_grade(
            &class,
            &item,
            &student,
            CellChange::Input(CellInput::Score(1.0)),
        )
        .await
        .unwrap_err();
    grade_first_cell(&damaged, 3.0).await;
    drop(damaged);

    // Another teacher on the same computer account gets a store of their own; the first
    // teacher's (with a grade not yet sent) stays, encrypted under its own key.
    let other = sign_in_as(&sandbox, paths.clone(), Arc::clone(&keychain), None, 1).await;
    assert!(
        other
            .grades()
            .saved_gradebook(&class)
            .await
            .unwrap()
            .is_none(),
        "the first teacher's grades are not theirs"
    );
    let theirs = the_store(&paths);
    assert!(theirs != db && theirs.exists() && db.exists());
    assert_eq!(keychain.secrets.lock().unwrap().len(), 2);
    // Sign-out deletes that teacher's database and key only.
    other.sign_out(IfUnsent::Refuse).await.unwrap();
    assert!(!theirs.exists() && db.exists());
    assert_eq!(keychain.secrets.lock().unwrap().len(), 1);
    // The first teacher signs in again: the grade is still there, waiting to be sent.
    let back = sign_in_at(&sandbox, paths.clone(), Arc::clone(&keychain), None).await;
    assert_eq!(back.grades().unsent_grades().await.unwrap(), 1);
    assert_eq!(
        back.sign_out(IfUnsent::Refuse).await.unwrap_err().code(),
        "unsent_grades"
    );
    assert!(db.exists(), "a refused sign-out deletes nothing");
    back.sign_out(IfUnsent::Discard).await.unwrap();
    assert!(!db.exists());
    assert!(keychain.secrets.lock().unwrap().is_empty());

    // The district's policy keeps grades in memory only.
    let fresh = tempfile::tempdir().unwrap();
    let memory_only = sign_in_at(
        &sandbox,
        AppPaths::under(fresh.path()),
        Arc::new(MemoryStore::default()),
        None,
    )
    .await
    .with_local_store_policy(LocalStorePolicy::MemoryOnly);
    grade_first_cell(&memory_only, 2.0).await;
    let files = walk(fresh.path());
    assert!(files.iter().all(|f| !f.contains("gradebook")), "{files:?}");
}

fn walk(root: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found
}

/// The newest gradebook database under `paths` (one per sign-in).
fn the_store(paths: &AppPaths) -> std::path::PathBuf {
    let mut found: Vec<_> = std::fs::read_dir(&paths.data_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("gradebook-") && name.ends_with(".db")
        })
        .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
        .collect();
    found.sort();
    found.pop().unwrap().1
}

/// Whether any gradebook database exists under `paths`.
fn has_a_store(paths: &AppPaths) -> bool {
    std::fs::read_dir(&paths.data_dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("gradebook-"))
    })
}

/// The class list and the roster the window showed are kept in the encrypted store: the
/// next start shows them before any network call, and with the district unreachable the
/// saved copies are shown with the reason. Sign-out takes them with the store.
#[tokio::test(flavor = "multi_thread")]
async fn class_lists_and_rosters_are_kept_for_a_warm_start_and_shown_offline() {
    let sandbox = district(3600).await;
    let keychain = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    let account = sign_in_at(&sandbox, paths.clone(), Arc::clone(&keychain), None).await;
    // A fresh sign-in has nothing saved, and looking creates no store.
    let start = account.warm_start().saved_start().await.unwrap().unwrap();
    assert!(start.classes.is_none() && start.roster.is_none() && start.last_view.is_none());
    assert!(!has_a_store(&paths), "looking created a store");

    let classes = account
        .rosters()
        .classes_page(TermFilter::Current)
        .await
        .unwrap();
    assert!(classes.offline_reason.is_none() && !classes.value.is_empty());
    let class = ClassId::from(&classes.value[0].sourced_id);
    let roster = account.rosters().roster_page(&class).await.unwrap();
    assert!(roster.offline_reason.is_none() && !roster.value.is_empty());
    // In the roster's default order (family name, then first name), which the window
    // and the warm start show without sorting it again.
    let by_name = |students: &[rollbook_core::Student]| {
        students
            .iter()
            .map(|s| s.sort_name().to_lowercase())
            .collect::<Vec<_>>()
            .is_sorted()
    };
    assert!(by_name(&roster.value));
    account
        .warm_start()
        .remember_view(Some(LastView {
            class_id: class.to_string(),
            page: ClassPage::Roster,
        }))
        .await
        .unwrap();
    drop(account);

    // The next start, with the district gone: all of it from this computer.
    let issuer = sandbox.issuer().to_owned();
    sandbox.shutdown().await;
    let restarted = Account::new(paths.clone(), keychain.clone()).unwrap();
    let start = restarted.warm_start().saved_start().await.unwrap().unwrap();
    assert_eq!(start.who.identity.issuer, issuer);
    assert_eq!(start.classes.map(|c| c.value), Some(classes.value.clone()));
    let saved_roster = start.roster.unwrap();
    assert_eq!(saved_roster.value, roster.value);
    assert_eq!(saved_roster.read_at, roster.read_at);
    assert!(saved_roster.offline_reason.is_none());

    // Offline: the saved copies, with why they are not fresher.
    let offline = restarted
        .rosters()
        .classes_page(TermFilter::Current)
        .await
        .unwrap();
    assert_eq!(offline.value, classes.value);
    assert!(offline.offline_reason.is_some());
    let offline = restarted.rosters().roster_page(&class).await.unwrap();
    assert_eq!(offline.value, roster.value);
    // A class never read here is an error, not an empty roster.
    let never = restarted
        .rosters()
        .roster_page(&ClassId::from("cls-never-read"))
        .await
        .unwrap_err();
    assert_eq!(never.code().as_str(), "roster_unreachable");
    // The only copy of a student's name on disk is inside the encrypted database.
    let name = roster.value[0].family_name.as_bytes().to_vec();
    for file in walk(home.path()) {
        let bytes = std::fs::read(home.path().join(&file)).unwrap();
        assert!(
            !bytes.windows(name.len()).any(|w| w == name),
            "a student's name is readable in {file}"
        );
    }

    // Sign-out takes the copies with the store.
    let _ = restarted.sign_out(IfUnsent::Refuse).await;
    assert!(!has_a_store(&paths), "the store outlived the sign-out");
    let again = Account::new(paths, keychain).unwrap();
    assert!(again.warm_start().saved_start().await.unwrap().is_none());
}

/// A shared-machine session that never ended (the app crashed or was killed at logoff):
/// the next start learns of it once, to end the browser's provider session.
#[tokio::test(flavor = "multi_thread")]
async fn a_shared_session_that_never_ended_is_finished_at_the_next_start() {
    let sandbox = district(3600).await;
    let home = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::default());
    let account = Account::new(AppPaths::under(home.path()), store.clone()).unwrap();
    let mut settings = ProviderSettings::demo(sandbox.issuer(), &sandbox.oneroster_url());
    settings.shared_machine = true;
    let teacher = sandbox.district().staff[0].id.clone();
    account
        .sign_in(
            settings,
            &test_browser(&teacher),
            &SignInDesk::new().begin().unwrap(),
            Duration::from_secs(20),
            &mut |_| {},
        )
        .await
        .unwrap();
    // The process dies: nothing ends the session.
    drop(account);
    let next = Account::new(AppPaths::under(home.path()), store).unwrap();
    let unended = next
        .take_unended_shared_session()
        .expect("the note survives");
    assert_eq!(
        unended.issuer.trim_end_matches('/'),
        sandbox.issuer().trim_end_matches('/')
    );
    assert!(next.take_unended_shared_session().is_none(), "taken once");
}

/// A district run in this process, as the window runs its demo district: started on
/// demand on its one port, with a token key that outlives a restart.
#[derive(Debug)]
struct DistrictOnDemand {
    issuer: String,
    port: u16,
    running: tokio::sync::Mutex<Option<Sandbox>>,
    starts: std::sync::atomic::AtomicUsize,
}

impl DistrictOnDemand {
    fn config(port: u16) -> SandboxConfig {
        SandboxConfig {
            seed: 11,
            size: Size::Pair,
            port,
            token_key: Some([7; 32]),
            knobs: Knobs {
                access: RosterAccess {
                    accept_teacher_tokens: true,
                    ..RosterAccess::default()
                },
                ..Knobs::default()
            },
            ..SandboxConfig::default()
        }
    }

    async fn started() -> Arc<Self> {
        let sandbox = Sandbox::start(Self::config(0)).await.unwrap();
        Arc::new(Self {
            issuer: sandbox.issuer().to_owned(),
            port: sandbox.port(),
            running: tokio::sync::Mutex::new(Some(sandbox)),
            starts: std::sync::atomic::AtomicUsize::new(1),
        })
    }

    async fn stop(&self) {
        if let Some(sandbox) = self.running.lock().await.take() {
            sandbox.shutdown().await;
        }
    }

    fn starts(&self) -> usize {
        self.starts.load(Ordering::SeqCst)
    }
}

impl rollbook_core::LocalDistrict for DistrictOnDemand {
    fn issuer(&self) -> &str {
        &self.issuer
    }
    fn start(&self) -> rollbook_core::Starting<'_> {
        Box::pin(async {
            let mut running = self.running.lock().await;
            if running.is_none() {
                *running = Some(Sandbox::start(Self::config(self.port)).await.unwrap());
                self.starts.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })
    }
}

/// The window's demo district after a restart: every use of a saved session that signs
/// in there starts it first, whether the session is being reopened or already open; a
/// session elsewhere leaves it alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_district_run_in_this_process_is_started_before_its_session_is_used() {
    let district = DistrictOnDemand::started().await;
    let store = Arc::new(MemoryStore::default());
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    {
        let running = district.running.lock().await;
        sign_in_at(
            running.as_ref().unwrap(),
            paths.clone(),
            store.clone(),
            None,
        )
        .await;
    }
    district.stop().await;

    // Without the district, the saved session cannot reach its provider.
    let unaided = Account::new(paths.clone(), store.clone()).unwrap();
    assert!(unaided.whoami(true).await.is_err());
    assert_eq!(district.starts(), 1);

    let restarted = Account::new(paths.clone(), store.clone())
        .unwrap()
        .with_local_district(district.clone());
    restarted.whoami(true).await.unwrap();
    assert_eq!(district.starts(), 2, "reopening the session started it");
    district.stop().await;
    restarted
        .rosters()
        .classes(TermFilter::Current)
        .await
        .unwrap();
    assert_eq!(district.starts(), 3, "using the open session started it");

    // The window at start, before anything reads the keychain.
    district.stop().await;
    let next_start = Account::new(paths, store)
        .unwrap()
        .with_local_district(district.clone());
    next_start.start_saved_district().await.unwrap();
    assert_eq!(district.starts(), 4);
    next_start.start_saved_district().await.unwrap();
    assert_eq!(
        district.starts(),
        4,
        "a running district is not started twice"
    );

    // A session somewhere else does not start it.
    district.stop().await;
    let elsewhere = DistrictOnDemand::started().await;
    let other_home = tempfile::tempdir().unwrap();
    let other = {
        let running = elsewhere.running.lock().await;
        sign_in_at(
            running.as_ref().unwrap(),
            AppPaths::under(other_home.path()),
            Arc::new(MemoryStore::default()),
            None,
        )
        .await
    }
    .with_local_district(district.clone());
    other.whoami(true).await.unwrap();
    other.start_saved_district().await.unwrap();
    assert_eq!(district.starts(), 4);
    elsewhere.stop().await;
}
