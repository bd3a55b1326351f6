/* Test bed only, never shipped: Wine 8 has no bcryptprimitives.dll, whose ProcessPrng
 * Rust's standard library calls at load (Rust >= 1.78). This stands in for it over
 * RtlGenRandom (advapi32's SystemFunction036); newer Wine ships the real DLL. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG part = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, part)) return FALSE;
        data += part;
        length -= part;
    }
    return TRUE;
}
