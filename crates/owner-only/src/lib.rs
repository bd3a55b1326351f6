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

/// Opens `path` with `options`; the file is the owner's only. Unix: mode 0600 when this
/// creates it. Windows: the protected owner-only DACL, set at every open, so a file an
/// older release created keeps no wider ACL.
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
/// the folder itself is restricted: its parents are the user's profile or home.
pub fn create_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)?;
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
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    pub fn open(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
        options.mode(0o600);
        options.open(path)
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
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::Security::{
        ACCESS_ALLOWED_ACE, ACL, ACL_REVISION, AddAccessAllowedAceEx, CONTAINER_INHERIT_ACE,
        CopySid, CreateWellKnownSid, DACL_SECURITY_INFORMATION, GetLengthSid, GetTokenInformation,
        InitializeAcl, InitializeSecurityDescriptor, OBJECT_INHERIT_ACE, PSID, SE_DACL_PROTECTED,
        SECURITY_DESCRIPTOR, SECURITY_MAX_SID_SIZE, SetKernelObjectSecurity,
        SetSecurityDescriptorControl, SetSecurityDescriptorDacl, TOKEN_QUERY, TOKEN_USER,
        TokenUser, WELL_KNOWN_SID_TYPE, WinBuiltinAdministratorsSid, WinLocalSystemSid,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        FILE_ALL_ACCESS, FILE_FLAG_BACKUP_SEMANTICS, FILE_SHARE_DELETE, FILE_SHARE_READ,
        FILE_SHARE_WRITE, READ_CONTROL, WRITE_DAC,
    };
    use windows_sys::Win32::System::SystemServices::SECURITY_DESCRIPTOR_REVISION;
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

    pub fn open(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
        // std opens without WRITE_DAC (and an append handle must keep its own access
        // mask), so the DACL is set through a second handle, before anything is written.
        let file = options.open(path)?;
        restrict(path, Kind::File)?;
        Ok(file)
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
        let handle = options.open(path)?;
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
        // the calls; the DACL it points at is `acl`, alive until the function returns.
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
            check(SetKernelObjectSecurity(
                handle.as_raw_handle(),
                DACL_SECURITY_INFORMATION,
                sd,
            ))
        }
    }

    /// A SID in a DWORD-aligned buffer of its own.
    struct Sid(Vec<u32>);

    impl Sid {
        fn ptr(&self) -> PSID {
            self.0.as_ptr().cast_mut().cast()
        }

        fn len(&self) -> usize {
            // SAFETY: the buffer holds a valid SID (see the constructors).
            unsafe { GetLengthSid(self.ptr()) as usize }
        }
    }

    fn well_known(kind: WELL_KNOWN_SID_TYPE) -> io::Result<Sid> {
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
    fn current_user() -> io::Result<Sid> {
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
