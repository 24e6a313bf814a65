/*
 * cuBLAS 12 -> 13 compatibility library.
 *
 * JCublas 12.6.0's native library needs libcublas.so.12 and imports every cuBLAS function with
 * the symbol version "libcublas.so.12". The GPU host only has CUDA 13. This library is built
 * with SONAME libcublas.so.12 and exports the imported names under that version node; each
 * export is a one-instruction trampoline (generated from symbols.txt by build.sh) that jumps
 * through a slot holding the address of the same function in libcublas.so.13. Because the
 * trampoline is a plain jump, registers and stack are untouched and any signature works.
 *
 * The slots are filled once, when this library is loaded. A function that libcublas.so.13 no
 * longer has keeps a stub that reports itself once and returns CUBLAS_STATUS_NOT_SUPPORTED, so
 * a removed API fails its call instead of failing the load of JCublas.
 *
 * Environment: REG4REC_CUBLAS13=/path/to/libcublas.so.13 picks the library to forward to;
 * REG4REC_CUBLAS_COMPAT_VERBOSE=1 reports which library was opened and what was missing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUBLAS_STATUS_NOT_SUPPORTED 15

#define HIDDEN __attribute__((visibility("hidden")))

/* Tables emitted by the generated trampolines.gen.S. */
extern HIDDEN void *cublas_compat_slots[];
extern HIDDEN const char *const cublas_compat_names[];
extern HIDDEN const unsigned int cublas_compat_count;
extern HIDDEN unsigned char cublas_compat_reported[];

static const char *opened_path;
static char open_failure[1024];

static int verbose(void) {
    const char *v = getenv("REG4REC_CUBLAS_COMPAT_VERBOSE");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/*
 * Reached (by a tail jump from a per-function stub) when a function could not be resolved.
 * Most cuBLAS functions return cublasStatus_t; the few that return something else get a value
 * of their own type so that callers do not dereference a status code.
 */
HIDDEN uintptr_t cublas_compat_missing(unsigned int index) {
    const char *name = index < cublas_compat_count ? cublas_compat_names[index] : "?";
    if (index < cublas_compat_count && !__atomic_exchange_n(&cublas_compat_reported[index], 1, __ATOMIC_RELAXED)) {
        if (opened_path != NULL) {
            fprintf(stderr, "[cublas-compat] %s is not in %s; the call returns CUBLAS_STATUS_NOT_SUPPORTED\n",
                    name, opened_path);
        } else {
            fprintf(stderr, "[cublas-compat] %s called but libcublas.so.13 could not be opened (%s); "
                            "the call returns CUBLAS_STATUS_NOT_SUPPORTED\n", name, open_failure);
        }
        fflush(stderr);
    }
    if (strcmp(name, "cublasGetStatusName") == 0) return (uintptr_t) "CUBLAS_STATUS_NOT_SUPPORTED";
    if (strcmp(name, "cublasGetStatusString") == 0)
        return (uintptr_t) "the function is missing from the cuBLAS library (cublas-compat)";
    if (strcmp(name, "cublasGetCudartVersion") == 0) return 0;
    return CUBLAS_STATUS_NOT_SUPPORTED;
}

__attribute__((constructor)) static void cublas_compat_init(void) {
    /* An explicit REG4REC_CUBLAS13 is the only candidate; otherwise the loader's search path
     * (LD_LIBRARY_PATH, ldconfig) first, then the usual CUDA install locations. */
    const char *override = getenv("REG4REC_CUBLAS13");
    int explicit_choice = override != NULL && override[0] != '\0';
    const char *candidates[] = {
        explicit_choice ? override : "libcublas.so.13",
        explicit_choice ? NULL : "/usr/local/cuda/lib64/libcublas.so.13",
        explicit_choice ? NULL : "/usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.13",
    };
    void *handle = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && handle == NULL; i++) {
        if (candidates[i] == NULL || candidates[i][0] == '\0') continue;
        handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL) {
            opened_path = candidates[i];
        } else if (open_failure[0] == '\0') {
            const char *err = dlerror();
            snprintf(open_failure, sizeof open_failure, "%s", err != NULL ? err : candidates[i]);
        }
    }
    if (handle == NULL) {
        fprintf(stderr, "[cublas-compat] cannot open libcublas.so.13: %s\n"
                        "[cublas-compat] every cuBLAS call will return CUBLAS_STATUS_NOT_SUPPORTED (15). "
                        "Put CUDA 13's lib64 on LD_LIBRARY_PATH or set REG4REC_CUBLAS13=/path/to/libcublas.so.13\n",
                open_failure);
        fflush(stderr);
        return;
    }
    unsigned int missing = 0;
    for (unsigned int i = 0; i < cublas_compat_count; i++) {
        void *target = dlsym(handle, cublas_compat_names[i]);
        if (target != NULL) {
            cublas_compat_slots[i] = target;
        } else {
            missing++;
        }
    }
    if (verbose()) {
        fprintf(stderr, "[cublas-compat] forwarding to %s: %u of %u functions resolved, %u missing\n",
                opened_path, cublas_compat_count - missing, cublas_compat_count, missing);
        for (unsigned int i = 0; i < cublas_compat_count && missing > 0; i++) {
            if (!dlsym(handle, cublas_compat_names[i])) fprintf(stderr, "[cublas-compat]   missing: %s\n", cublas_compat_names[i]);
        }
        fflush(stderr);
    }
}
