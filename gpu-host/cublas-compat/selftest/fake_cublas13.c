/*
 * A stand-in for CUDA 13's libcublas.so.13, for testing the compatibility library without a
 * GPU. It defines a few functions with recognisable results, under the version node
 * libcublas.so.13 like the real library. cublasDgemm_v2, cublasGetStatusName and
 * cublasGetCudartVersion are deliberately absent, to exercise the "removed API" path.
 */
#include <stddef.h>
#include <stdint.h>

typedef void *cublasHandle_t;

static int fake_handle_storage;

int cublasCreate_v2(cublasHandle_t *handle) {
    *handle = &fake_handle_storage;
    fake_handle_storage = 4242;
    return 0;
}

int cublasDestroy_v2(cublasHandle_t handle) {
    return handle == &fake_handle_storage ? 0 : 7; /* 7 = CUBLAS_STATUS_INVALID_VALUE */
}

int cublasGetVersion_v2(cublasHandle_t handle, int *version) {
    if (handle != &fake_handle_storage) return 7;
    *version = 130042;
    return 0;
}

const char *cublasGetStatusString(int status) {
    return status == 0 ? "fake: success" : "fake: failure";
}

/*
 * Column-major C = alpha * op(A) * op(B) + beta * C for op = N only (transa = transb = 0).
 * Fourteen arguments: the last eight arrive on the stack, so a wrong trampoline shows up here.
 */
int cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n, int k,
                   const float *alpha, const float *A, int lda, const float *B, int ldb,
                   const float *beta, float *C, int ldc) {
    if (handle != &fake_handle_storage) return 7;
    if (transa != 0 || transb != 0) return 15;
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            float acc = 0.0f;
            for (int p = 0; p < k; p++) acc += A[i + (size_t) p * lda] * B[p + (size_t) j * ldb];
            C[i + (size_t) j * ldc] = *alpha * acc + *beta * C[i + (size_t) j * ldc];
        }
    }
    return 0;
}
