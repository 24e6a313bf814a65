// Row divergences of [rows, cols] fp32 probability tables, natural log (PARS step consistency,
// CORP pruning):
//   JS:  out[r] = sum_c 0.5 p log(2p / s) + 0.5 q log(2q / s),  s = p + q   (0 log 0 = 0)
//   KL:  out[r] = sum_c p log(p / q)   (p = 0 adds 0; q = 0 < p adds +inf)
//   JS backward: gp = 0.5 g[r] log(2p / s), gq = 0.5 g[r] log(2q / s); 0 where the entry is 0
//       (the derivative diverges there; see Backend#jsDivergenceBackward).
// JS is evaluated per entry as (s / 4) f(d) with d = (p - q) / s and
//   f(d) = (1 + d) log(1 + d) + (1 - d) log(1 - d) = sum_k d^2k / (k (2k - 1)),
// the series (7 terms, truncation below 1e-9 relative) for |d| < 1/4 and the logs otherwise.
// Every term is >= 0, so nearly equal rows keep full relative accuracy (no cancellation), and a
// zero in p or q (d = +-1) gives f = 2 log 2 with no 0 * log 0.
//
// Entry points (mode 0 = JS, 1 = KL):
//   divergence_rows_f32(p, q, out, rows, cols, lanesLog2, vec, mode)
//       A group of G = 2^lanesLog2 lanes (1..32) of one warp owns a row; a warp handles 32 / G
//       rows at a time, grid-stride over row groups (warp-uniform loop, so every lane joins the
//       shuffles). vec = 1: cols % 4 == 0 and 16-byte aligned rows, float4 loads. Each lane sums
//       its entries in fp32, then the group adds up with xor shuffles.
//   divergence_block_f32(p, q, out, rows, cols, vec, mode)
//       Long rows (few of them): one 256-thread block per row, grid-stride over rows, warp
//       shuffles then one warp over the per-warp partials.
//   js_backward_rows_f32(p, q, gradOut, gp, gq, rows, cols, lanesLog2, vec)
//       The same row-group split as divergence_rows_f32; elementwise writes.
// CPU reference: io.reg4rec.engine.cpu.CpuDivergence.
#include "common.cuh"

__device__ __forceinline__ float js_f(float d) {
    float ad = fabsf(d);
    if (ad < 0.25f) {
        float t = d * d;
        float r = 1.0f / 91.0f;
        r = fmaf(r, t, 1.0f / 66.0f);
        r = fmaf(r, t, 1.0f / 45.0f);
        r = fmaf(r, t, 1.0f / 28.0f);
        r = fmaf(r, t, 1.0f / 15.0f);
        r = fmaf(r, t, 1.0f / 6.0f);
        r = fmaf(r, t, 1.0f);
        return r * t;
    }
    float a = 1.0f + d, b = 1.0f - d;
    return (a > 0.0f ? a * logf(a) : 0.0f) + (b > 0.0f ? b * logf(b) : 0.0f);
}

template <int MODE>
__device__ __forceinline__ float entry(float p, float q) {
    if (MODE == 0) {
        float s = p + q;
        if (!(s > 0.0f)) return 0.0f;
        return 0.25f * s * js_f((p - q) / s);
    }
    if (!(p > 0.0f)) return 0.0f;
    return q > 0.0f ? p * logf(p / q) : __int_as_float(0x7F800000);
}

// Row-group iteration shared by the forward and backward kernels: calls body(row, sub, G) for
// each row this lane's group owns (row may be >= rows: the body must check) and returns after
// the group reduction via the caller.
#define ROW_GROUPS_BEGIN                                                                   \
    const int G = 1 << lanesLog2;                                                          \
    const int lane = threadIdx.x & 31;                                                     \
    const int sub = lane & (G - 1);                                                        \
    const long long rowsPerWarp = 32 >> lanesLog2;                                         \
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;         \
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;                      \
    for (long long first = warp * rowsPerWarp; first < rows; first += warps * rowsPerWarp) { \
        const long long row = first + (lane >> lanesLog2);

#define ROW_GROUPS_END }

template <int MODE>
__device__ void divergence_rows(const float* __restrict__ p, const float* __restrict__ q, float* __restrict__ out,
                                long long rows, long long cols, int lanesLog2, int vec) {
    ROW_GROUPS_BEGIN
        float acc = 0.0f;
        if (row < rows) {
            const float* pr = p + row * cols;
            const float* qr = q + row * cols;
            if (vec) {
                const float4* p4 = reinterpret_cast<const float4*>(pr);
                const float4* q4 = reinterpret_cast<const float4*>(qr);
                for (long long j = sub; j < (cols >> 2); j += G) {
                    float4 a = p4[j], b = q4[j];
                    acc += entry<MODE>(a.x, b.x) + entry<MODE>(a.y, b.y) + entry<MODE>(a.z, b.z) + entry<MODE>(a.w, b.w);
                }
            } else {
                for (long long j = sub; j < cols; j += G) acc += entry<MODE>(pr[j], qr[j]);
            }
        }
        for (int o = G >> 1; o > 0; o >>= 1) acc += __shfl_xor_sync(0xFFFFFFFFu, acc, o);
        if (sub == 0 && row < rows) out[row] = acc;
    ROW_GROUPS_END
}

template <int MODE>
__device__ void divergence_block(const float* __restrict__ p, const float* __restrict__ q, float* __restrict__ out,
                                 long long rows, long long cols, int vec) {
    __shared__ float partial[32];
    const int lane = threadIdx.x & 31, warpId = threadIdx.x >> 5, warpsPerBlock = blockDim.x >> 5;
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* pr = p + row * cols;
        const float* qr = q + row * cols;
        float acc = 0.0f;
        if (vec) {
            const float4* p4 = reinterpret_cast<const float4*>(pr);
            const float4* q4 = reinterpret_cast<const float4*>(qr);
            for (long long j = threadIdx.x; j < (cols >> 2); j += blockDim.x) {
                float4 a = p4[j], b = q4[j];
                acc += entry<MODE>(a.x, b.x) + entry<MODE>(a.y, b.y) + entry<MODE>(a.z, b.z) + entry<MODE>(a.w, b.w);
            }
        } else {
            for (long long j = threadIdx.x; j < cols; j += blockDim.x) acc += entry<MODE>(pr[j], qr[j]);
        }
        for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xFFFFFFFFu, acc, o);
        if (lane == 0) partial[warpId] = acc;
        __syncthreads();
        if (warpId == 0) {
            float v = lane < warpsPerBlock ? partial[lane] : 0.0f;
            for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
            if (lane == 0) out[row] = v;
        }
        __syncthreads();  // partial is reused by the next row
    }
}

extern "C" __global__ void divergence_rows_f32(const float* p, const float* q, float* out, long long rows, long long cols,
                                               int lanesLog2, int vec, int mode) {
    if (mode == 0) divergence_rows<0>(p, q, out, rows, cols, lanesLog2, vec);
    else divergence_rows<1>(p, q, out, rows, cols, lanesLog2, vec);
}

extern "C" __global__ void divergence_block_f32(const float* p, const float* q, float* out, long long rows, long long cols,
                                                int vec, int mode) {
    if (mode == 0) divergence_block<0>(p, q, out, rows, cols, vec);
    else divergence_block<1>(p, q, out, rows, cols, vec);
}

// 0.5 g log(2a / (a + b)); 0 where a = 0. Near a = b it is log1p(d) with d = (a - b) / (a + b)
// (relative accuracy as the ratio nears 1); elsewhere the log of the ratio itself, since 1 + d
// would lose the ratio's relative accuracy when a << b.
__device__ __forceinline__ float js_grad(float a, float b, float g) {
    if (!(a > 0.0f)) return 0.0f;
    float s = a + b;
    float d = (a - b) / s;
    float l = fabsf(d) < 0.5f ? log1pf(d) : logf(a / (0.5f * s));
    return 0.5f * g * l;
}

extern "C" __global__ void js_backward_rows_f32(const float* __restrict__ p, const float* __restrict__ q,
                                                const float* __restrict__ gradOut, float* __restrict__ gp,
                                                float* __restrict__ gq, long long rows, long long cols, int lanesLog2,
                                                int vec) {
    ROW_GROUPS_BEGIN
        if (row < rows) {
            const float g = gradOut[row];
            const long long base = row * cols;
            if (vec) {
                const float4* p4 = reinterpret_cast<const float4*>(p + base);
                const float4* q4 = reinterpret_cast<const float4*>(q + base);
                float4* gp4 = reinterpret_cast<float4*>(gp + base);
                float4* gq4 = reinterpret_cast<float4*>(gq + base);
                for (long long j = sub; j < (cols >> 2); j += G) {
                    float4 a = p4[j], b = q4[j];
                    gp4[j] = make_float4(js_grad(a.x, b.x, g), js_grad(a.y, b.y, g), js_grad(a.z, b.z, g), js_grad(a.w, b.w, g));
                    gq4[j] = make_float4(js_grad(b.x, a.x, g), js_grad(b.y, a.y, g), js_grad(b.z, a.z, g), js_grad(b.w, a.w, g));
                }
            } else {
                for (long long j = sub; j < cols; j += G) {
                    float a = p[base + j], b = q[base + j];
                    gp[base + j] = js_grad(a, b, g);
                    gq[base + j] = js_grad(b, a, g);
                }
            }
        }
    ROW_GROUPS_END
}
