/* The Windows suite's eyes inside the Wine prefix: reads back, through the same Win32
 * APIs Rollbook uses, what Rollbook left in Credential Manager. Test bed only, never
 * shipped.
 *   wincheck creds FILTER     one line per credential: target, blob bytes
 *   wincheck blob TARGET      the credential's blob as UTF-8 (UTF-16 in the store) */
#include <windows.h>
#include <wincred.h>
#include <stdio.h>
#include <string.h>

static void put_utf8(const WCHAR *text, int chars) {
    char out[65536];
    int n = WideCharToMultiByte(CP_UTF8, 0, text, chars, out, sizeof out - 1, NULL, NULL);
    out[n > 0 ? n : 0] = 0;
    fputs(out, stdout);
}

int wmain(int argc, WCHAR **argv) {
    if (argc != 3) {
        fputs("usage: wincheck creds FILTER | blob TARGET\n", stderr);
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
    return 2;
}
