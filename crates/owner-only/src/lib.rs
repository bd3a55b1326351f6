//! Files and folders only their owner can read.
//!
//! Rollbook's store, session record, logs and exports hold student data. On Unix a file
//! is created with mode 0600 and its folder set to 0700. On Windows a file created in a
//! profile folder inherits that folder's ACL, which is the user's alone on a default
//! install but not where IT widened it (lab profiles, redirected or shared folders), and
//! an export lands in Downloads with whatever that folder grants. So each file and folder
//! gets an explicit, protected DACL: the user, SYSTEM and Administrators, full control,
//! nothing inherited from above.
//!
//! The DACL is set with `SetKernelObjectSecurity` on an open handle rather than with
//! `SetNamedSecurityInfoW` or `SetSecurityInfo`: the effect is the same on Windows, and
//! it is the one of the three that Wine 8 (where the Windows suite runs) applies; the
//! other two report success there and change nothing, so a test could not tell.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Opens `path` with `options`, which must create the file when it is missing (`create`
/// or `create_new`); the file is the owner's only. Unix: mode 0600 when this creates it.
/// Windows: a missing file is created with the protected owner-only DACL in place from
/// its first instant (rights are checked when a handle is opened, so a handle another
/// account opened in a gap before a later DACL change would keep reading what is
/// written); an existing one gets that DACL at every open, so a file an older release
/// created keeps no wider ACL.
pub fn open(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    imp::open(options, path)
}

/// Makes an existing folder its owner's only (Unix: 0700; Windows: the protected
/// owner-only DACL, which files created in it afterwards inherit).
pub fn restrict_dir(path: &Path) -> io::Result<()> {
    imp::restrict(path, Kind::Dir)
}

/// Makes an existing file its owner's only (Unix: 0600; Windows: the protected
/// owner-only DACL).
pub fn restrict_file(path: &Path) -> io::Result<()> {
    imp::restrict(path, Kind::File)
}

/// Creates the folder (and its parents) when missing, then [`restrict_dir`]s it. Only
/// the folder itself is restricted: its parents are the user's profile or home. On
/// Windows a missing folder is created with its DACL in place.
pub fn create_dir(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    imp::create_dir(path)?;
    restrict_dir(path)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

#[cfg(unix)]
mod imp {
    use super::{File, Kind, OpenOptions, Path, io};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

    pub fn open(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
        options.mode(0o600);
        options.open(path)
    }

    pub fn create_dir(path: &Path) -> io::Result<()> {
        match std::fs::DirBuilder::new().mode(0o700).create(path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
            other => other,
        }
    }

    pub fn restrict(path: &Path, kind: Kind) -> io::Result<()> {
        let mode = match kind {
            Kind::File => 0o600,
            Kind::Dir => 0o700,
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    use super::{File, Kind, OpenOptions, Path, io};

    pub fn open(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
        options.open(path)
    }

    pub fn create_dir(path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    pub fn restrict(_path: &Path, _kind: Kind) -> io::Result<()> {
        Ok(())
    }
}

// The Win32 security API is C: building an ACL and a security descriptor in memory and
// handing them to the kernel takes raw pointers. This module is the workspace's only
// `unsafe` (see Cargo.toml); each block says what it relies on.
#[cfg(windows)]
#[allow(unsafe_code)]
mod imp {
    use super::{File, Kind, OpenOptions, Path, io};
    use std::ffi::c_void;
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_ALREADY_EXISTS, ERROR_FILE_EXISTS, HANDLE, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::Security::{
        ACCESS_ALLOWED_ACE, ACL, ACL_REVISION, AddAccessAllowedAceEx, CONTAINER_INHERIT_ACE,
        CopySid, CreateWellKnownSid, DACL_SECURITY_INFORMATION, GetLengthSid, GetTokenInformation,
        InitializeAcl, InitializeSecurityDescriptor, OBJECT_INHERIT_ACE, PSID, SE_DACL_PROTECTED,
        SECURITY_ATTRIBUTES, SECURITY_DESCRIPTOR, SECURITY_MAX_SID_SIZE, SetKernelObjectSecurity,
        SetSecurityDescriptorControl, SetSecurityDescriptorDacl, TOKEN_QUERY, TOKEN_USER,
        TokenUser, WELL_KNOWN_SID_TYPE, WinBuiltinAdministratorsSid, WinLocalSystemSid,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        BY_HANDLE_FILE_INFORMATION, CREATE_NEW, CreateDirectoryW, CreateFileW, FILE_ALL_ACCESS,
        FILE_ATTRIBUTE_NORMAL, FILE_FLAG_BACKUP_SEMANTICS, FILE_READ_ATTRIBUTES, FILE_SHARE_DELETE,
        FILE_SHARE_READ, FILE_SHARE_WRITE, GetFileInformationByHandle, READ_CONTROL, WRITE_DAC,
    };
    use windows_sys::Win32::System::SystemServices::SECURITY_DESCRIPTOR_REVISION;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    pub fn open(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
        // A missing file is created here with its DACL (std cannot pass one), so no other
        // account can open it between its creation and the DACL; the caller's options
        // then open that file (or fail, for create_new, on one that was there already).
        // The creating handle stays open, without delete sharing, until the caller's
        // handle is open: nobody can delete or rename the new file in between and put
        // one of their own (which they would own, and keep a handle to) in its place.
        let created = create_file(path)?;
        if created.is_some() {
            options.create(false).create_new(false);
        }
        #[cfg(test)]
        crate::windows_tests::between_create_and_open(path);
        // std opens without WRITE_DAC (and an append handle must keep its own access
        // mask), so the DACL of a file that was there already is set through a second
        // handle, before anything is written.
        let file = options.open(path)?;
        if let Some(created) = &created
            && !same_file(created, &file)?
        {
            // Where delete sharing is not enforced (Wine), the check that stands.
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the new file was replaced by another before it could be opened",
            ));
        }
        restrict(path, Kind::File)?;
        drop(created);
        Ok(file)
    }

    /// Whether two handles are one file (its volume and file index).
    fn same_file(a: &impl AsRawHandle, b: &impl AsRawHandle) -> io::Result<bool> {
        let identity = |h: &dyn AsRawHandle| -> io::Result<(u32, u32, u32)> {
            let mut info = BY_HANDLE_FILE_INFORMATION::default();
            // SAFETY: an open handle and a struct the call fills, alive for the call.
            check(unsafe { GetFileInformationByHandle(h.as_raw_handle(), &mut info) })?;
            Ok((
                info.dwVolumeSerialNumber,
                info.nFileIndexHigh,
                info.nFileIndexLow,
            ))
        };
        Ok(identity(a)? == identity(b)?)
    }

    /// Creates a missing file with the owner-only DACL: its handle (no data access,
    /// shared for reading and writing but not deleting) when this created it.
    fn create_file(path: &Path) -> io::Result<Option<std::os::windows::io::OwnedHandle>> {
        let wide = wide(path);
        with_descriptor(Kind::File, |sd| {
            let attributes = security_attributes(sd);
            // SAFETY: `wide` is a NUL-terminated path and `attributes` points at the
            // descriptor, both alive for the call; the handle is owned below.
            let handle = unsafe {
                CreateFileW(
                    wide.as_ptr(),
                    FILE_READ_ATTRIBUTES,
                    FILE_SHARE_READ | FILE_SHARE_WRITE,
                    &attributes,
                    CREATE_NEW,
                    FILE_ATTRIBUTE_NORMAL,
                    std::ptr::null_mut(),
                )
            };
            if handle == INVALID_HANDLE_VALUE {
                let error = io::Error::last_os_error();
                return match error.raw_os_error() {
                    Some(code) if code == ERROR_FILE_EXISTS as i32 => Ok(None),
                    _ => Err(error),
                };
            }
            // SAFETY: a valid handle CreateFileW returned, owned (and closed) once.
            Ok(Some(unsafe {
                std::os::windows::io::FromRawHandle::from_raw_handle(handle)
            }))
        })
    }

    /// Creates a missing folder with the owner-only DACL (its parent exists).
    pub fn create_dir(path: &Path) -> io::Result<()> {
        let wide = wide(path);
        with_descriptor(Kind::Dir, |sd| {
            let attributes = security_attributes(sd);
            // SAFETY: as in `create_file`; no handle is returned.
            if unsafe { CreateDirectoryW(wide.as_ptr(), &attributes) } != 0 {
                return Ok(());
            }
            let error = io::Error::last_os_error();
            match error.raw_os_error() {
                Some(code) if code == ERROR_ALREADY_EXISTS as i32 && path.is_dir() => Ok(()),
                _ => Err(error),
            }
        })
    }

    pub fn restrict(path: &Path, kind: Kind) -> io::Result<()> {
        let mut options = OpenOptions::new();
        // Not data access: no sharing conflict with handles already open on the file.
        options
            .access_mode(READ_CONTROL | WRITE_DAC)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
        if kind == Kind::Dir {
            // Needed to open a folder at all.
            options.custom_flags(FILE_FLAG_BACKUP_SEMANTICS);
        }
        #[cfg(test)]
        if crate::windows_tests::SKIP_RESTRICT.with(std::cell::Cell::get) {
            return Ok(());
        }
        let handle = options.open(path)?;
        with_descriptor(kind, |sd| {
            // SAFETY: the handle is open (WRITE_DAC) and `sd` a valid descriptor.
            check(unsafe {
                SetKernelObjectSecurity(handle.as_raw_handle(), DACL_SECURITY_INFORMATION, sd)
            })
        })
    }

    fn wide(path: &Path) -> Vec<u16> {
        use std::os::windows::ffi::OsStrExt;
        path.as_os_str().encode_wide().chain([0]).collect()
    }

    fn security_attributes(sd: *mut c_void) -> SECURITY_ATTRIBUTES {
        SECURITY_ATTRIBUTES {
            nLength: size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: sd,
            bInheritHandle: 0,
        }
    }

    /// Builds the owner-only security descriptor (the user, SYSTEM and Administrators,
    /// full control; protected) and hands it to `use_it`, while it is alive.
    fn with_descriptor<T>(
        kind: Kind,
        use_it: impl FnOnce(*mut c_void) -> io::Result<T>,
    ) -> io::Result<T> {
        let sids = [
            current_user()?,
            well_known(WinLocalSystemSid)?,
            well_known(WinBuiltinAdministratorsSid)?,
        ];
        // A folder passes the same ACEs to what is created in it later.
        let inherit = match kind {
            Kind::File => 0,
            Kind::Dir => OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE,
        };
        // The ACL header, then per ACE its fixed part (less the SidStart placeholder the
        // SID overlays) and the SID.
        let size = size_of::<ACL>()
            + sids
                .iter()
                .map(|sid| size_of::<ACCESS_ALLOWED_ACE>() - size_of::<u32>() + sid.len())
                .sum::<usize>();
        // InitializeAcl wants a DWORD-aligned buffer.
        let mut acl = vec![0u32; size.div_ceil(4)];
        let acl_ptr = acl.as_mut_ptr().cast::<ACL>();
        let acl_len = u32::try_from(acl.len() * 4).map_err(io::Error::other)?;
        // SAFETY: acl_ptr points at acl_len writable, DWORD-aligned bytes owned by `acl`,
        // which outlives every use below.
        check(unsafe { InitializeAcl(acl_ptr, acl_len, ACL_REVISION) })?;
        for sid in &sids {
            // SAFETY: the ACL was sized for these SIDs; each SID is a valid one in a
            // buffer of its own (made by the API in `current_user`/`well_known`), only read.
            check(unsafe {
                AddAccessAllowedAceEx(acl_ptr, ACL_REVISION, inherit, FILE_ALL_ACCESS, sid.ptr())
            })?;
        }
        let mut descriptor = SECURITY_DESCRIPTOR::default();
        let sd = (&raw mut descriptor).cast::<c_void>();
        // SAFETY: sd points at a SECURITY_DESCRIPTOR on this stack frame, which outlives
        // the calls and `use_it`; the DACL it points at is `acl`, alive until the
        // function returns.
        unsafe {
            check(InitializeSecurityDescriptor(
                sd,
                SECURITY_DESCRIPTOR_REVISION,
            ))?;
            check(SetSecurityDescriptorDacl(sd, 1, acl_ptr, 0))?;
            // Protected: nothing inherited from the folders above.
            check(SetSecurityDescriptorControl(
                sd,
                SE_DACL_PROTECTED,
                SE_DACL_PROTECTED,
            ))?;
        }
        use_it(sd)
    }

    /// A SID in a DWORD-aligned buffer of its own.
    pub(crate) struct Sid(Vec<u32>);

    impl Sid {
        pub(crate) fn ptr(&self) -> PSID {
            self.0.as_ptr().cast_mut().cast()
        }

        fn len(&self) -> usize {
            // SAFETY: the buffer holds a valid SID (see the constructors).
            unsafe { GetLengthSid(self.ptr()) as usize }
        }
    }

    pub(crate) fn well_known(kind: WELL_KNOWN_SID_TYPE) -> io::Result<Sid> {
        let mut buffer = vec![0u32; (SECURITY_MAX_SID_SIZE as usize).div_ceil(4)];
        let mut size = SECURITY_MAX_SID_SIZE;
        // SAFETY: the buffer holds `size` writable bytes; no domain SID is needed for
        // these two.
        check(unsafe {
            CreateWellKnownSid(
                kind,
                std::ptr::null_mut(),
                buffer.as_mut_ptr().cast(),
                &mut size,
            )
        })?;
        Ok(Sid(buffer))
    }

    /// The SID of the account this process runs as.
    pub(crate) fn current_user() -> io::Result<Sid> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess is a pseudo-handle; `token` receives a handle that
        // `Token` closes.
        check(unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) })?;
        let token = Token(token);
        let mut needed = 0u32;
        // SAFETY: a size query (null buffer, length 0); it fails by design and says the
        // size in `needed`.
        unsafe { GetTokenInformation(token.0, TokenUser, std::ptr::null_mut(), 0, &mut needed) };
        // 8-byte aligned: TOKEN_USER holds a pointer.
        let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
        // SAFETY: the buffer holds `needed` writable, pointer-aligned bytes.
        check(unsafe {
            GetTokenInformation(
                token.0,
                TokenUser,
                buffer.as_mut_ptr().cast(),
                needed,
                &mut needed,
            )
        })?;
        // SAFETY: on success the buffer starts with a TOKEN_USER whose SID points into
        // the same buffer, which is alive here; the SID is copied out before it goes.
        unsafe {
            let user = &*buffer.as_ptr().cast::<TOKEN_USER>();
            let length = GetLengthSid(user.User.Sid);
            let mut out = vec![0u32; (length as usize).div_ceil(4)];
            check(CopySid(length, out.as_mut_ptr().cast(), user.User.Sid))?;
            Ok(Sid(out))
        }
    }

    struct Token(HANDLE);

    impl Drop for Token {
        fn drop(&mut self) {
            // SAFETY: a handle OpenProcessToken returned, closed once.
            unsafe { CloseHandle(self.0) };
        }
    }

    fn check(ok: i32) -> io::Result<()> {
        if ok == 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_created_file_and_a_restricted_folder_are_the_owners_only() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir(&folder).unwrap();
        set_mode(&folder, 0o755);
        restrict_dir(&folder).unwrap();
        assert_eq!(mode(&folder), 0o700);

        let file = folder.join("store.db");
        open(OpenOptions::new().write(true).create_new(true), &file).unwrap();
        assert_eq!(mode(&file), 0o600);

        create_dir(&dir.path().join("logs")).unwrap();
        assert_eq!(mode(&dir.path().join("logs")), 0o700);

        set_mode(&file, 0o644);
        restrict_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
    }
}

// Run under Wine by the Windows suite (tests/windows/), which builds them for
// x86_64-pc-windows-gnu. Wine 8 keeps a file's security as unix mode bits, so a file
// created without a DACL of its own reads back with an Everyone ACE there, as it would
// on Windows in a folder IT widened.
#[cfg(all(test, windows))]
#[allow(unsafe_code, clippy::unwrap_used)]
mod windows_tests {
    use super::*;
    use std::cell::Cell;
    use windows_sys::Win32::Security::{
        ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, EqualSid, GetAce,
        GetFileSecurityW, GetSecurityDescriptorDacl, INHERITED_ACE, WinBuiltinAdministratorsSid,
        WinLocalSystemSid,
    };
    use windows_sys::Win32::System::SystemServices::ACCESS_ALLOWED_ACE_TYPE;

    thread_local! {
        /// Leaves out the DACL set on an open handle, so a test sees what creation alone
        /// gave the file.
        pub static SKIP_RESTRICT: Cell<bool> = const { Cell::new(false) };
        /// What another account tries between the file's creation and the caller's open.
        static BETWEEN: std::cell::RefCell<Option<Attempt>> =
            const { std::cell::RefCell::new(None) };
    }

    type Attempt = Box<dyn FnOnce(&Path)>;

    pub fn between_create_and_open(path: &Path) {
        if let Some(attempt) = BETWEEN.with(|b| b.borrow_mut().take()) {
            attempt(path);
        }
    }

    /// The DACL's entries for anyone but the user, SYSTEM and Administrators, and
    /// inherited ones; empty when the file is its owner's only.
    fn others(path: &Path) -> Vec<String> {
        use std::os::windows::ffi::OsStrExt;
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        let mut buffer = vec![0u64; 8192];
        let mut needed = 0;
        let mut found = Vec::new();
        let allowed = [
            imp::current_user().unwrap(),
            imp::well_known(WinLocalSystemSid).unwrap(),
            imp::well_known(WinBuiltinAdministratorsSid).unwrap(),
        ];
        // SAFETY: the buffer holds 64 KiB; the ACEs read stay inside the descriptor.
        unsafe {
            assert!(
                GetFileSecurityW(
                    wide.as_ptr(),
                    DACL_SECURITY_INFORMATION,
                    buffer.as_mut_ptr().cast(),
                    65536,
                    &mut needed,
                ) != 0
            );
            let (mut present, mut defaulted, mut dacl) = (0, 0, std::ptr::null_mut::<ACL>());
            assert!(
                GetSecurityDescriptorDacl(
                    buffer.as_mut_ptr().cast(),
                    &mut present,
                    &mut dacl,
                    &mut defaulted
                ) != 0
            );
            if present == 0 || dacl.is_null() {
                return vec!["no DACL: everyone".into()];
            }
            for index in 0..u32::from((*dacl).AceCount) {
                let mut ace = std::ptr::null_mut();
                assert!(GetAce(dacl, index, &mut ace) != 0);
                let header = &*ace.cast::<ACE_HEADER>();
                if u32::from(header.AceFlags) & INHERITED_ACE != 0 {
                    found.push(format!("inherited ACE {index}"));
                }
                if u32::from(header.AceType) != ACCESS_ALLOWED_ACE_TYPE {
                    continue;
                }
                let sid = (&raw mut (*ace.cast::<ACCESS_ALLOWED_ACE>()).SidStart).cast();
                if !allowed.iter().any(|a| EqualSid(a.ptr(), sid) != 0) {
                    found.push(format!("ACE {index} for another account"));
                }
            }
        }
        found
    }

    fn wide_open_folder() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("widened");
        std::fs::create_dir(&folder).unwrap();
        // What a file created there without a DACL of its own gets.
        std::fs::write(folder.join("plain"), b"").unwrap();
        assert!(!others(&folder.join("plain")).is_empty());
        (dir, folder)
    }

    #[test]
    fn a_created_file_and_folder_are_the_owners_only_from_their_creation() {
        let (_dir, folder) = wide_open_folder();
        SKIP_RESTRICT.with(|skip| skip.set(true));
        let file = folder.join("export.csv");
        open(OpenOptions::new().write(true).create_new(true), &file).unwrap();
        let sub = folder.join("data");
        create_dir(&sub).unwrap();
        SKIP_RESTRICT.with(|skip| skip.set(false));
        assert_eq!(others(&file), Vec::<String>::new());
        assert_eq!(others(&sub), Vec::<String>::new());
    }

    #[test]
    fn an_existing_file_or_folder_loses_its_wider_acl_and_keeps_its_content() {
        let (_dir, folder) = wide_open_folder();
        let file = folder.join("plain");
        std::fs::write(&file, b"old\n").unwrap();
        use std::io::Write;
        let mut appended = open(OpenOptions::new().append(true).create(true), &file).unwrap();
        appended.write_all(b"new\n").unwrap();
        drop(appended);
        assert_eq!(std::fs::read(&file).unwrap(), b"old\nnew\n");
        assert_eq!(others(&file), Vec::<String>::new());
        // create_new keeps its meaning: an existing file is an error, left untouched.
        let again = open(OpenOptions::new().write(true).create_new(true), &file);
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&file).unwrap(), b"old\nnew\n");
        create_dir(&folder).unwrap();
        assert_eq!(others(&folder), Vec::<String>::new());
    }

    #[test]
    fn a_new_file_swapped_before_the_caller_opens_it_is_refused() {
        let (_dir, folder) = wide_open_folder();
        let file = folder.join("export.csv");
        let swapped = std::rc::Rc::new(Cell::new(false));
        let seen = std::rc::Rc::clone(&swapped);
        BETWEEN.with(|b| {
            *b.borrow_mut() = Some(Box::new(move |path: &Path| {
                // Another account moves the new file away and puts its own in its
                // place. Windows refuses the move (the creating handle does not share
                // deletion); Wine allows it.
                if std::fs::rename(path, path.with_extension("moved")).is_ok() {
                    std::fs::write(path, b"theirs").unwrap();
                    seen.set(true);
                }
            }))
        });
        let opened = open(OpenOptions::new().write(true).create_new(true), &file);
        if swapped.get() {
            assert!(opened.is_err(), "the other account's file was opened");
            assert_eq!(std::fs::read(&file).unwrap(), b"theirs");
        } else {
            use std::io::Write;
            opened.unwrap().write_all(b"grades").unwrap();
            assert_eq!(std::fs::read(&file).unwrap(), b"grades");
        }
    }
}
