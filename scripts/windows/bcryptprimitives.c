/* A stand-in for Windows' bcryptprimitives.dll under Wine 8, which lacks it.
 *
 * Rust's std (1.78 and later) imports ProcessPrng from bcryptprimitives.dll at start-up (for
 * HashMap's random keys); Wine 8 has no such DLL, so every Rust program fails to load there.
 * This DLL exports ProcessPrng over RtlGenRandom (SystemFunction036 in advapi32), which Wine
 * has. Built with mingw by scripts/windows_tests.sh and put beside the test executables.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
