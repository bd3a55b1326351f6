/* The Windows suite's eyes inside the Wine prefix: reads back, through the same Win32
 * APIs Rollbook uses, what Rollbook left in Credential Manager. Test bed only, never
 * shipped.
 *   wincheck creds FILTER     one line per credential: target, blob bytes
 *   wincheck blob TARGET      the credential's blob as UTF-8 (UTF-16 in the store)
 *   wincheck owner-only PATH [unprotected-ok]
 *                             the file's or folder's DACL, one ACE a line, read back
 *                             with GetFileSecurityW; exit 0 only when it is protected
 *                             (nothing inherited from above), holds no inherited ACE,
 *                             gives this user full control and allows nobody else but
 *                             SYSTEM and Administrators (no Everyone, Users or
 *                             Authenticated Users). unprotected-ok: Wine 8, which keeps
 *                             a file's security as unix mode bits only and so never
 *                             reports a protected DACL (or an Administrators ACE) */
#include <windows.h>
#include <wincred.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

static void put_utf8(const WCHAR *text, int chars) {
    char out[65536];
    int n = WideCharToMultiByte(CP_UTF8, 0, text, chars, out, sizeof out - 1, NULL, NULL);
    out[n > 0 ? n : 0] = 0;
    fputs(out, stdout);
}

static PSID current_user(void) {
    static BYTE buffer[256];
    HANDLE token;
    DWORD needed;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return NULL;
    BOOL ok = GetTokenInformation(token, TokenUser, buffer, sizeof buffer, &needed);
    CloseHandle(token);
    return ok ? ((TOKEN_USER *)buffer)->User.Sid : NULL;
}

static int is_well_known(PSID sid, WELL_KNOWN_SID_TYPE kind) {
    BYTE buffer[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof buffer;
    return CreateWellKnownSid(kind, NULL, buffer, &size) && EqualSid(sid, buffer);
}

static int owner_only(const WCHAR *path, int unprotected_ok) {
    static BYTE sd[65536];
    DWORD needed;
    if (!GetFileSecurityW(path, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, sd,
                          sizeof sd, &needed)) {
        printf("GetFileSecurityW failed: %lu\n", (unsigned long)GetLastError());
        return 1;
    }
    PSID user = current_user();
    SECURITY_DESCRIPTOR_CONTROL control;
    DWORD revision;
    BOOL present, defaulted;
    PACL dacl;
    GetSecurityDescriptorControl(sd, &control, &revision);
    GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
    int bad = 0, user_allowed = 0;
    printf("protected\t%s\n", (control & SE_DACL_PROTECTED) ? "yes" : "no");
    if (!(control & SE_DACL_PROTECTED) && !unprotected_ok) bad = 1;
    if (!present || !dacl) {
        puts("no DACL (everyone has full access)");
        return 1;
    }
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *ace;
        if (!GetAce(dacl, i, (void **)&ace)) return 1;
        if (ace->AceType != ACCESS_ALLOWED_ACE_TYPE && ace->AceType != ACCESS_DENIED_ACE_TYPE) {
            printf("ace\ttype %u\tunexpected\n", ace->AceType);
            bad = 1;
            continue;
        }
        ACCESS_ALLOWED_ACE *allowed = (ACCESS_ALLOWED_ACE *)ace;
        PSID sid = &allowed->SidStart;
        LPSTR text = NULL;
        ConvertSidToStringSidA(sid, &text);
        const char *who = "other";
        if (user && EqualSid(sid, user)) who = "user";
        else if (is_well_known(sid, WinLocalSystemSid)) who = "SYSTEM";
        else if (is_well_known(sid, WinBuiltinAdministratorsSid)) who = "Administrators";
        else if (is_well_known(sid, WinWorldSid)) who = "Everyone";
        else if (is_well_known(sid, WinBuiltinUsersSid)) who = "Users";
        else if (is_well_known(sid, WinAuthenticatedUserSid)) who = "Authenticated Users";
        int inherited = (ace->AceFlags & INHERITED_ACE) != 0;
        printf("ace\t%s\t%s\t%s\tmask %#lx\tflags %#x%s\n",
               ace->AceType == ACCESS_ALLOWED_ACE_TYPE ? "allow" : "deny", who,
               text ? text : "?", (unsigned long)allowed->Mask, ace->AceFlags,
               inherited ? "\tINHERITED" : "");
        LocalFree(text);
        if (inherited) bad = 1;
        if (ace->AceType == ACCESS_ALLOWED_ACE_TYPE) {
            if (!strcmp(who, "user")) user_allowed = (allowed->Mask & FILE_ALL_ACCESS) == FILE_ALL_ACCESS;
            else if (strcmp(who, "SYSTEM") && strcmp(who, "Administrators")) bad = 1;
        }
    }
    if (!user_allowed) {
        puts("the user has no full-control ACE");
        bad = 1;
    }
    return bad;
}

int wmain(int argc, WCHAR **argv) {
    if (argc == 4 && !wcscmp(argv[1], L"owner-only") && !wcscmp(argv[3], L"unprotected-ok"))
        return owner_only(argv[2], 1);
    if (argc != 3) {
        fputs("usage: wincheck creds FILTER | blob TARGET | owner-only PATH [unprotected-ok]\n", stderr);
        return 2;
    }
    if (!wcscmp(argv[1], L"creds")) {
        DWORD count = 0;
        PCREDENTIALW *creds;
        if (!CredEnumerateW(argv[2], 0, &count, &creds)) {
            /* ERROR_NOT_FOUND: none, which is an answer, not a failure */
            return GetLastError() == ERROR_NOT_FOUND ? 0 : 1;
        }
        for (DWORD i = 0; i < count; i++) {
            put_utf8(creds[i]->TargetName, -1);
            printf("\t%lu\n", (unsigned long)creds[i]->CredentialBlobSize);
        }
        CredFree(creds);
        return 0;
    }
    if (!wcscmp(argv[1], L"blob")) {
        PCREDENTIALW cred;
        if (!CredReadW(argv[2], CRED_TYPE_GENERIC, 0, &cred)) return 1;
        put_utf8((WCHAR *)cred->CredentialBlob, cred->CredentialBlobSize / 2);
        CredFree(cred);
        return 0;
    }
    if (!wcscmp(argv[1], L"owner-only")) return owner_only(argv[2], 0);
    return 2;
}
