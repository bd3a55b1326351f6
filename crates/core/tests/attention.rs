//! What waits for the teacher outside the grid's cells, settled through core's use cases
//! against the demo district and the real keychain (run inside
//! `scripts/in-test-session.sh`): an edit whose assignment the district deletes, a new
//! assignment the district refuses, a store set aside when its key went missing, and the
//! store's key found again when the data folder is reached by another spelling.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rollbook_core::auth::{KeychainStore, TokenStore};
use rollbook_core::grades::CellInput;
use rollbook_core::grades::store::{CellChange, NewLineItem, OrphanReason};
use rollbook_core::{
    Account, AppPaths, AttentionItem, ClassId, CommandBrowser, HeldReason, IfUnsent, LineItemId,
    ProviderSettings, SetAsideReason, SettleAction, SignInDesk, StudentId, TermFilter,
    store_key_account,
};
use rollbook_sandbox::{Knobs, RosterAccess, Sandbox, SandboxConfig, Size, demo_credentials};

/// A keychain service of this test's own (the real Secret Service), emptied when dropped.
struct Keychain {
    store: Arc<dyn TokenStore>,
    accounts: std::sync::Mutex<Vec<String>>,
}

impl Keychain {
    fn new(name: &str) -> Self {
        let service = format!("org.rollbook.test.attention.{name}.{}", std::process::id());
        Self {
            store: Arc::new(KeychainStore::new().with_service(service)),
            accounts: std::sync::Mutex::default(),
        }
    }

    fn store(&self) -> Arc<dyn TokenStore> {
        Arc::clone(&self.store)
    }

    fn get(&self, account: &str) -> Option<String> {
        self.store.load_secret(account).unwrap()
    }

    fn set(&self, account: &str, secret: &str) {
        self.accounts.lock().unwrap().push(account.to_owned());
        self.store.save_secret(account, secret).unwrap();
    }

    fn remove(&self, account: &str) {
        self.store.clear_secret(account).unwrap();
    }
}

impl Drop for Keychain {
    fn drop(&mut self) {
        // The store's keys are named after temporary folders: clear the ones this test
        // knows of (sign-out clears the rest).
        for account in self.accounts.lock().unwrap().iter() {
            let _ = self.store.clear_secret(account);
        }
    }
}

async fn district() -> Sandbox {
    Sandbox::start(SandboxConfig {
        seed: 18,
        size: Size::Tiny,
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
    .unwrap()
}

fn test_browser(teacher: &str) -> CommandBrowser {
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

async fn sign_in(sandbox: &Sandbox, root: &Path, keychain: &Keychain) -> Account {
    let account = Account::new(AppPaths::under(root), keychain.store()).unwrap();
    let teacher = sandbox.district().staff[0].id.clone();
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

/// The first class, its first line item and first student, read into the store.
async fn first_cell(account: &Account) -> (ClassId, LineItemId, StudentId) {
    let class =
        ClassId::from(&account.rosters().classes(TermFilter::All).await.unwrap()[0].sourced_id);
    let page = account.grades().gradebook_page(&class).await.unwrap();
    (
        class,
        LineItemId::from(&page.gradebook.columns[0].sourced_id),
        StudentId::from(&page.gradebook.students[0].sourced_id),
    )
}

async fn grade(
    account: &Account,
    class: &ClassId,
    item: &LineItemId,
    student: &StudentId,
    score: f64,
) {
    account
        .grades()
        .enter_grade(
            class,
            item,
            student,
            CellChange::Input(CellInput::Score(score)),
        )
        .await
        .unwrap();
}

/// The district deletes an assignment (through its OneRoster API, with the demo
/// application's credentials) while a grade of it waits to be sent: the edit is an
/// orphan, listed for the teacher, kept on request, and gone once discarded, after
/// which sign-out is no longer held up by it.
#[tokio::test(flavor = "multi_thread")]
async fn an_edit_for_an_assignment_the_district_deleted_is_listed_kept_and_discarded() {
    let sandbox = district().await;
    let keychain = Keychain::new("orphan");
    let home = tempfile::tempdir().unwrap();
    let account = sign_in(&sandbox, home.path(), &keychain).await;
    let (class, item, student) = first_cell(&account).await;
    grade(&account, &class, &item, &student, 7.5).await;

    let deleted = reqwest::Client::new()
        .delete(format!("{}/lineItems/{item}", sandbox.oneroster_url()))
        .bearer_auth(demo_credentials::PROXY_BEARER)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    account.grades().gradebook_page(&class).await.unwrap();

    let attention = account.grades().gradebook_attention(&class).await.unwrap();
    assert_eq!(attention.orphans.len(), 1, "{attention:?}");
    let orphan = &attention.orphans[0];
    assert_eq!(
        (
            orphan.line_item_id.as_str(),
            orphan.student_id.as_str(),
            orphan.why,
            orphan.value.score,
            orphan.assignment.as_deref(),
            orphan.kept,
        ),
        (
            item.as_str(),
            student.as_str(),
            OrphanReason::AssignmentGone,
            Some(7.5),
            // The district's deletion took the assignment's record from the store too.
            None,
            false
        )
    );
    assert!(
        orphan.student.is_some(),
        "the student is still on the roster"
    );
    assert_eq!(account.grades().unsent_grades().await.unwrap(), 1);

    let it = AttentionItem::Orphan {
        line_item_id: item.to_string(),
        student_id: student.to_string(),
    };
    account
        .grades()
        .settle_attention(it.clone(), SettleAction::Keep)
        .await
        .unwrap();
    let kept = account.grades().gradebook_attention(&class).await.unwrap();
    assert!(kept.orphans[0].kept, "kept, and shown as kept");
    assert_eq!(
        account.grades().unsent_grades().await.unwrap(),
        1,
        "kept is unsent"
    );
    assert_eq!(
        account.sign_out(IfUnsent::Refuse).await.unwrap_err().code(),
        "unsent_grades"
    );

    account
        .grades()
        .settle_attention(it.clone(), SettleAction::Discard)
        .await
        .unwrap();
    assert!(
        account
            .grades()
            .gradebook_attention(&class)
            .await
            .unwrap()
            .orphans
            .is_empty()
    );
    assert_eq!(account.grades().unsent_grades().await.unwrap(), 0);
    let again = account
        .grades()
        .settle_attention(it, SettleAction::Discard)
        .await
        .unwrap_err();
    assert_eq!(again.code(), "gradebook_not_found");
    account.sign_out(IfUnsent::Refuse).await.unwrap();
}

/// A new assignment the district refuses is held with the grade behind it; once the
/// district takes writes again, "try again" sends both with the next sync.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_new_assignment_is_held_and_sent_when_tried_again() {
    let sandbox = district().await;
    let keychain = Keychain::new("held");
    let home = tempfile::tempdir().unwrap();
    let account = sign_in(&sandbox, home.path(), &keychain).await;
    let (class, _, student) = first_cell(&account).await;
    sandbox.update_knobs(|k| k.access.refuse_writes = true);
    let poster = account
        .grades()
        .create_assignment(
            &class,
            NewLineItem {
                title: "Poster project".into(),
                category_id: None,
                max_points: 10.0,
                assign_date: "2026-09-01".into(),
                due_date: "2026-09-08".into(),
            },
        )
        .await
        .unwrap();
    grade(&account, &class, &LineItemId::from(&poster), &student, 9.0).await;
    account.grades().sync_grades(true).await.unwrap();

    let held = account
        .grades()
        .gradebook_attention(&class)
        .await
        .unwrap()
        .held;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (
            held[0].line_item_id.as_str(),
            held[0].title.as_str(),
            held[0].why,
            held[0].grades
        ),
        (poster.as_str(), "Poster project", HeldReason::Refused, 1)
    );

    sandbox.update_knobs(|k| k.access.refuse_writes = false);
    account
        .grades()
        .settle_attention(
            AttentionItem::Held {
                line_item_id: poster.clone(),
            },
            SettleAction::Retry,
        )
        .await
        .unwrap();
    assert!(
        account
            .grades()
            .gradebook_attention(&class)
            .await
            .unwrap()
            .held
            .is_empty()
    );
    let report = account.grades().sync_grades(false).await.unwrap();
    assert_eq!((report.waiting, report.held), (0, 0), "{report:?}");
    assert_eq!(account.grades().unsent_grades().await.unwrap(), 0);
}

/// The store's key goes missing: the store is set aside and listed. Trying again fails
/// in words while no key opens it; once the keychain has the key again (a restored
/// keychain) it is opened again, grade and all. A second one is kept (no longer listed)
/// and then discarded (gone from disk).
#[tokio::test(flavor = "multi_thread")]
async fn a_set_aside_store_is_opened_again_when_its_key_comes_back_kept_or_discarded() {
    let sandbox = district().await;
    let keychain = Keychain::new("aside");
    let home = tempfile::tempdir().unwrap();
    let paths = AppPaths::under(home.path());
    let account = sign_in(&sandbox, home.path(), &keychain).await;
    let (class, item, student) = first_cell(&account).await;
    grade(&account, &class, &item, &student, 4.25).await;
    let db = the_store(&paths);
    let key_name = store_key_account(&db);
    let old_key = keychain
        .get(&key_name)
        .expect("the store's key is in the keychain");
    drop(account);

    keychain.remove(&key_name);
    let account = Account::new(paths.clone(), keychain.store()).unwrap();
    account.grades().saved_gradebook(&class).await.unwrap();
    let attention = account.grades().gradebook_attention(&class).await.unwrap();
    assert_eq!(attention.set_aside.len(), 1, "{attention:?}");
    let aside = attention.set_aside[0].clone();
    assert_eq!(
        (aside.reason, aside.unsent),
        (SetAsideReason::KeyMissing, Some(1))
    );
    let it = AttentionItem::SetAside {
        path: aside.path.clone(),
    };
    let refused = account
        .grades()
        .settle_attention(it.clone(), SettleAction::Retry)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "local_store_failed");
    assert!(
        refused.to_string().contains("still cannot be opened"),
        "{refused}"
    );
    // Only a path core listed: never a file the window names.
    let elsewhere = AttentionItem::SetAside {
        path: db.display().to_string(),
    };
    assert_eq!(
        account
            .grades()
            .settle_attention(elsewhere, SettleAction::Discard)
            .await
            .unwrap_err()
            .code(),
        "gradebook_not_found"
    );
    assert!(db.exists());

    // The keychain is restored: its key opens the store again, grade and all.
    keychain.set(&key_name, &old_key);
    account
        .grades()
        .settle_attention(it, SettleAction::Retry)
        .await
        .unwrap();
    assert!(!Path::new(&aside.path).exists());
    let page = account
        .grades()
        .saved_gradebook(&class)
        .await
        .unwrap()
        .unwrap();
    assert!(page.set_aside.is_none());
    let cell = page
        .gradebook
        .cells
        .iter()
        .find(|c| c.line_item_id == item.as_str() && c.student_id == student.as_str())
        .unwrap();
    assert_eq!(cell.value.score, Some(4.25));
    assert_eq!(account.grades().unsent_grades().await.unwrap(), 1);
    assert!(
        account
            .grades()
            .gradebook_attention(&class)
            .await
            .unwrap()
            .set_aside
            .is_empty()
    );
    drop(account);

    // Lost again: kept (stays on disk, no longer listed), then discarded.
    keychain.remove(&key_name);
    let account = Account::new(paths.clone(), keychain.store()).unwrap();
    account.grades().saved_gradebook(&class).await.unwrap();
    let aside = account
        .grades()
        .gradebook_attention(&class)
        .await
        .unwrap()
        .set_aside[0]
        .clone();
    let it = AttentionItem::SetAside {
        path: aside.path.clone(),
    };
    account
        .grades()
        .settle_attention(it.clone(), SettleAction::Keep)
        .await
        .unwrap();
    assert!(Path::new(&aside.path).exists());
    assert!(
        account
            .grades()
            .gradebook_attention(&class)
            .await
            .unwrap()
            .set_aside
            .is_empty()
    );
    assert!(
        account
            .grades()
            .gradebook_page(&class)
            .await
            .unwrap()
            .set_aside
            .is_none(),
        "the page stops showing it"
    );
    assert_eq!(
        account.grades().set_aside_stores().len(),
        1,
        "doctor still lists it"
    );
    account
        .grades()
        .settle_attention(it, SettleAction::Discard)
        .await
        .unwrap();
    assert!(account.grades().set_aside_stores().is_empty());
    let left: Vec<String> = std::fs::read_dir(&paths.data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".db.keyless-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The same data folder reached by another spelling (a symlink, `a/../a`) finds the
/// store's key: nothing is set aside. A key an earlier release saved under the path as
/// spelled is found too, and moved to the canonical name.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_stores_key_is_found_whatever_the_spelling_of_its_folder() {
    let sandbox = district().await;
    let keychain = Keychain::new("spelling");
    let top = tempfile::tempdir().unwrap();
    let real = top.path().join("home");
    std::fs::create_dir(&real).unwrap();
    let account = sign_in(&sandbox, &real, &keychain).await;
    let (class, item, student) = first_cell(&account).await;
    grade(&account, &class, &item, &student, 6.0).await;
    let db = the_store(&AppPaths::under(&real));
    drop(account);

    let link = top.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let dotted = real.join("..").join("home");
    for root in [link.clone(), dotted] {
        let account = Account::new(AppPaths::under(&root), keychain.store()).unwrap();
        let page = account
            .grades()
            .saved_gradebook(&class)
            .await
            .unwrap()
            .unwrap();
        assert!(page.set_aside.is_none(), "{root:?}: {:?}", page.set_aside);
        assert_eq!(
            account.grades().unsent_grades().await.unwrap(),
            1,
            "{root:?}"
        );
    }
    assert!(std::fs::read_dir(real.join("data")).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".db.keyless-")
    }));

    // An install from before: its key under the account named by the path as spelled.
    let canonical = store_key_account(&db);
    let spelled_db = AppPaths::under(&link)
        .data_dir
        .join(db.file_name().unwrap());
    let spelled = format!(
        "{} {}",
        rollbook_core::STORE_KEY_ACCOUNT,
        spelled_db.display()
    );
    assert_ne!(canonical, spelled);
    let key = keychain.get(&canonical).unwrap();
    keychain.remove(&canonical);
    keychain.set(&spelled, &key);
    let account = Account::new(AppPaths::under(&link), keychain.store()).unwrap();
    let page = account
        .grades()
        .saved_gradebook(&class)
        .await
        .unwrap()
        .unwrap();
    assert!(page.set_aside.is_none(), "{:?}", page.set_aside);
    assert_eq!(
        keychain.get(&canonical).as_deref(),
        Some(key.as_str()),
        "moved"
    );
    assert_eq!(
        keychain.get(&spelled),
        None,
        "and not left under the old name"
    );
}

/// The gradebook database under `paths` (one sign-in, one store).
fn the_store(paths: &AppPaths) -> std::path::PathBuf {
    std::fs::read_dir(&paths.data_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("the gradebook database")
}
