/*
 * Calls cuBLAS functions through the compatibility library, linked as libcublas.so.12 the way
 * JCublas2 is, and checks what comes back. Usage: call_through forward|unavailable
 *   forward      the fake libcublas.so.13 is reachable: results must be the fake's
 *   unavailable  no libcublas.so.13: every call must return CUBLAS_STATUS_NOT_SUPPORTED (15)
 */
#include <stdio.h>
#include <string.h>
#include <stddef.h>

typedef void *cublasHandle_t;
int cublasCreate_v2(cublasHandle_t *handle);
int cublasDestroy_v2(cublasHandle_t handle);
int cublasGetVersion_v2(cublasHandle_t handle, int *version);
const char *cublasGetStatusString(int status);
const char *cublasGetStatusName(int status);
size_t cublasGetCudartVersion(void);
int cublasSgemm_v2(cublasHandle_t, int, int, int, int, int, const float *, const float *, int,
                   const float *, int, const float *, float *, int);
int cublasDgemm_v2(cublasHandle_t, int, int, int, int, int, const double *, const double *, int,
                   const double *, int, const double *, double *, int);

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

static void forward(void) {
    cublasHandle_t h = NULL;
    CHECK(cublasCreate_v2(&h) == 0 && h != NULL, "cublasCreate_v2 did not reach the fake");
    int version = 0;
    CHECK(cublasGetVersion_v2(h, &version) == 0 && version == 130042, "cublasGetVersion_v2 gave %d", version);
    CHECK(strcmp(cublasGetStatusString(0), "fake: success") == 0, "cublasGetStatusString");

    /* A is 3x2 (lda 4, padded), B is 2x2 (ldb 2), C is 3x2 (ldc 3), all column-major. */
    float A[8] = {1, 2, 3, -99, 4, 5, 6, -99};
    float B[4] = {1, 0, 2, 1};
    float C[6] = {1, 1, 1, 1, 1, 1};
    float alpha = 2.0f, beta = 0.5f;
    float want[6];
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 3; i++)
            want[i + 3 * j] = alpha * (A[i] * B[2 * j] + A[i + 4] * B[1 + 2 * j]) + beta * C[i + 3 * j];
    CHECK(cublasSgemm_v2(h, 0, 0, 3, 2, 2, &alpha, A, 4, B, 2, &beta, C, 3) == 0, "cublasSgemm_v2 status");
    for (int i = 0; i < 6; i++) CHECK(C[i] == want[i], "C[%d] = %g, expected %g", i, C[i], want[i]);

    /* Absent from the fake: status 15, or a value of the function's own return type. */
    double one = 1.0, d = 0.0;
    CHECK(cublasDgemm_v2(h, 0, 0, 1, 1, 1, &one, &one, 1, &one, 1, &one, &d, 1) == 15, "missing cublasDgemm_v2 must return 15");
    CHECK(cublasDgemm_v2(h, 0, 0, 1, 1, 1, &one, &one, 1, &one, 1, &one, &d, 1) == 15, "missing cublasDgemm_v2 must return 15 again");
    CHECK(strcmp(cublasGetStatusName(0), "CUBLAS_STATUS_NOT_SUPPORTED") == 0, "missing cublasGetStatusName must return a string");
    CHECK(cublasGetCudartVersion() == 0, "missing cublasGetCudartVersion must return 0");
    CHECK(cublasDestroy_v2(h) == 0, "cublasDestroy_v2");
}

static void unavailable(void) {
    cublasHandle_t h = NULL;
    CHECK(cublasCreate_v2(&h) == 15, "cublasCreate_v2 must return 15 without libcublas.so.13");
    int version = 0;
    CHECK(cublasGetVersion_v2(h, &version) == 15 && version == 0, "cublasGetVersion_v2 must return 15");
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: call_through forward|unavailable\n"); return 2; }
    if (strcmp(argv[1], "forward") == 0) forward();
    else if (strcmp(argv[1], "unavailable") == 0) unavailable();
    else { fprintf(stderr, "unknown mode %s\n", argv[1]); return 2; }
    printf("%s: %s\n", argv[1], failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
