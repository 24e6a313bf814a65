// Row divergences of [rows, cols] fp32 probability tables, natural log (PARS step consistency,
// CORP pruning):
//   JS:  out[r] = sum_c 0.5 p log(2p / s) + 0.5 q log(2q / s),  s = p + q   (0 log 0 = 0)
//   KL:  out[r] = sum_c p log(p / q)   (p = 0 adds 0; q = 0 < p adds +inf)
//   JS backward: gp = 0.5 g[r] log(2p / s), gq = 0.5 g[r] log(2q / s); 0 where the entry is 0
//       (the derivative diverges there; see Backend#jsDivergenceBackward).
// The kernels are meant to run at memory speed, so each entry is evaluated branch-free with the
// hardware approximations (rcp.approx: 1 ulp; lg2.approx: absolute error 2^-22 in [0.5, 2],
// 2 ulp elsewhere) and both regimes computed and selected, with d = (p - q) / s:
//   JS entry = (s / 4) f(d), f(d) = (1 + d) log(1 + d) + (1 - d) log(1 - d) = sum_k d^2k / (k (2k - 1)):
//       for |d| < 1/2 the series (10 terms, truncation below 1e-8 relative), so nearly equal rows
//       keep full relative accuracy (no cancellation); otherwise 0.5 (p log x + q log y) with the
//       ratios x = 2p / s, y = 2q / s, whose two terms cancel by at most a factor 4 there
//       (about 2e-6 relative error per entry). A zero in p or q adds 0 log 0 = 0.
//   KL entry = p ln(p / q) from lg2.approx of p rcp(q): per entry about 4e-7 p absolute plus
//       2.4e-7 relative to |p ln(p / q)|.
//   gradients: log(1 + d) = (S + A) / 2 and log(1 - d) = (S - A) / 2 with A = 2 atanh d and
//       S = log(1 - d^2) as series (7 terms each) for |d| < 1/4: relative accuracy as the ratio
//       nears 1; otherwise lg2.approx of the ratios x, y themselves (|log| >= 0.22 there, so
//       about 1e-6 relative), never of 1 - d, which loses the ratio's accuracy when q << p.
// The tests compare with the fp64 CPU reference at 1e-5 relative (JS, KL, gradients) and 1e-4
// relative for JS of nearly equal rows.
//
// Entry points (mode 0 = JS, 1 = KL):
//   divergence_rows_f32(p, q, out, rows, cols, lanesLog2, vec, mode)
//       A group of G = 2^lanesLog2 lanes (1..32) of one warp owns a row; a warp handles 32 / G
//       rows at a time and two such row sets per iteration (grid-stride over row sets, a
//       warp-uniform loop, so every lane joins the shuffles). vec = 1: cols % 4 == 0 and
//       16-byte aligned rows, float4 loads: a row that fits in one float4 per lane has the
//       loads of both row sets issued before any arithmetic; longer rows take two float4 of p
//       and of q per lane and step. Each lane sums its entries in fp32, then the group adds up
//       with xor shuffles.
//   divergence_block_f32(p, q, out, rows, cols, vec, mode)
//       Long rows (few of them): one 256-thread block per row, grid-stride over rows, two
//       float4 per operand in flight per thread, warp shuffles then one warp over the per-warp
//       partials.
//   js_backward_rows_f32(p, q, gradOut, gp, gq, rows, cols, lanesLog2, vec)
//       The same row-group split and loads in flight as divergence_rows_f32; elementwise
//       streaming writes.
// CPU reference: io.reg4rec.engine.cpu.CpuDivergence.
#include "common.cuh"

#define LN2F 0.693147180559945309f
// Ratios are clamped here before the log so that 0 * log(0) becomes 0 * finite = 0.
#define RATIO_FLOOR 1.0e-37f

__device__ __forceinline__ float rcp_approx(float x) {
    float r;
    asm("rcp.approx.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}
__device__ __forceinline__ float log2_approx(float x) {
    float r;
    asm("lg2.approx.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

template <int MODE>
__device__ __forceinline__ float entry(float p, float q) {
    if (MODE == 0) {
        const float s = p + q;
        const float r = rcp_approx(s);
        const float d = (p - q) * r;
        const float t = d * d;
        // f(d) = sum_{k>=1} t^k / (k (2k - 1)), Horner from k = 10 down.
        float f = 1.0f / 190.0f;
        f = fmaf(f, t, 1.0f / 153.0f);
        f = fmaf(f, t, 1.0f / 120.0f);
        f = fmaf(f, t, 1.0f / 91.0f);
        f = fmaf(f, t, 1.0f / 66.0f);
        f = fmaf(f, t, 1.0f / 45.0f);
        f = fmaf(f, t, 1.0f / 28.0f);
        f = fmaf(f, t, 1.0f / 15.0f);
        f = fmaf(f, t, 1.0f / 6.0f);
        f = fmaf(f, t, 1.0f);
        const float series = 0.25f * s * (f * t);
        const float x = fmaxf(2.0f * p * r, RATIO_FLOOR), y = fmaxf(2.0f * q * r, RATIO_FLOOR);
        const float logs = (0.5f * LN2F) * fmaf(p, log2_approx(x), q * log2_approx(y));
        const float v = fabsf(d) < 0.5f ? series : logs;
        return s > 0.0f ? v : 0.0f;
    }
    // log of the ratio itself (error 2e-7 absolute plus 2e-7 relative to the log), unless the
    // ratio leaves the normal range: then the difference of the two logs.
    const float ratio = p * rcp_approx(q);
    const float l2 = ratio >= 1.0e-30f && ratio <= 1.0e30f ? log2_approx(ratio) : log2_approx(p) - log2_approx(q);
    const float v = q > 0.0f ? p * (LN2F * l2) : __int_as_float(0x7F800000);
    return p > 0.0f ? v : 0.0f;
}

template <int MODE>
__device__ __forceinline__ float entry4(float4 a, float4 b) {
    return (entry<MODE>(a.x, b.x) + entry<MODE>(a.y, b.y)) + (entry<MODE>(a.z, b.z) + entry<MODE>(a.w, b.w));
}

__device__ __forceinline__ float4 load4_or_zero(const float4* p, long long j, bool ok) {
    return ok ? __ldcs(p + j) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
}

// This thread's share of one row of float4 units: units sub, sub + G, ..., two per operand in
// flight per step.
template <int MODE>
__device__ __forceinline__ float row_partial_vec(const float4* __restrict__ p4, const float4* __restrict__ q4,
                                                 long long units, long long sub, long long G) {
    float acc = 0.0f;
    long long j = sub;
    for (; j + G < units; j += 2 * G) {
        float4 a0 = __ldcs(p4 + j), b0 = __ldcs(q4 + j), a1 = __ldcs(p4 + j + G), b1 = __ldcs(q4 + j + G);
        acc += entry4<MODE>(a0, b0) + entry4<MODE>(a1, b1);
    }
    if (j < units) acc += entry4<MODE>(__ldcs(p4 + j), __ldcs(q4 + j));
    return acc;
}

template <int MODE>
__device__ __forceinline__ float row_partial_scalar(const float* __restrict__ pr, const float* __restrict__ qr,
                                                    long long cols, long long sub, long long G) {
    float acc = 0.0f;
    for (long long j = sub; j < cols; j += G) acc += entry<MODE>(pr[j], qr[j]);
    return acc;
}

// Warp geometry of the row-group kernels: group size G = 2^lanesLog2, this lane's index in its
// group, rows per warp and the warp's index / count over the grid.
#define ROW_GROUP_GEOMETRY                                                                  \
    const int G = 1 << lanesLog2;                                                           \
    const int lane = threadIdx.x & 31;                                                      \
    const int sub = lane & (G - 1);                                                         \
    const long long rowsPerWarp = 32 >> lanesLog2;                                          \
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;          \
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;

__device__ __forceinline__ float group_sum(float v, int G) {
    for (int o = G >> 1; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
    return v;
}

template <int MODE>
__device__ void divergence_rows(const float* __restrict__ p, const float* __restrict__ q, float* __restrict__ out,
                                long long rows, long long cols, int lanesLog2, int vec) {
    ROW_GROUP_GEOMETRY
    const long long setStride = warps * rowsPerWarp;  // rows between this warp's two row sets
    const long long units = cols >> 2;
    for (long long first = warp * rowsPerWarp; first < rows; first += 2 * setStride) {
        const long long row0 = first + (lane >> lanesLog2), row1 = row0 + setStride;
        const bool in0 = row0 < rows, in1 = row1 < rows;
        float acc0 = 0.0f, acc1 = 0.0f;
        if (vec && units <= G) {
            // Short rows: one float4 per operand and row; all four loads before any arithmetic.
            const bool ok0 = in0 && sub < units, ok1 = in1 && sub < units;
            float4 a0 = load4_or_zero(reinterpret_cast<const float4*>(p + row0 * cols), sub, ok0);
            float4 b0 = load4_or_zero(reinterpret_cast<const float4*>(q + row0 * cols), sub, ok0);
            float4 a1 = load4_or_zero(reinterpret_cast<const float4*>(p + row1 * cols), sub, ok1);
            float4 b1 = load4_or_zero(reinterpret_cast<const float4*>(q + row1 * cols), sub, ok1);
            acc0 = entry4<MODE>(a0, b0);
            acc1 = entry4<MODE>(a1, b1);
        } else {
            if (in0)
                acc0 = vec ? row_partial_vec<MODE>(reinterpret_cast<const float4*>(p + row0 * cols),
                                                   reinterpret_cast<const float4*>(q + row0 * cols), units, sub, G)
                           : row_partial_scalar<MODE>(p + row0 * cols, q + row0 * cols, cols, sub, G);
            if (in1)
                acc1 = vec ? row_partial_vec<MODE>(reinterpret_cast<const float4*>(p + row1 * cols),
                                                   reinterpret_cast<const float4*>(q + row1 * cols), units, sub, G)
                           : row_partial_scalar<MODE>(p + row1 * cols, q + row1 * cols, cols, sub, G);
        }
        acc0 = group_sum(acc0, G);
        acc1 = group_sum(acc1, G);
        if (sub == 0) {
            if (in0) out[row0] = acc0;
            if (in1) out[row1] = acc1;
        }
    }
}

template <int MODE>
__device__ void divergence_block(const float* __restrict__ p, const float* __restrict__ q, float* __restrict__ out,
                                 long long rows, long long cols, int vec) {
    __shared__ float partial[32];
    const int lane = threadIdx.x & 31, warpId = threadIdx.x >> 5, warpsPerBlock = blockDim.x >> 5;
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* pr = p + row * cols;
        const float* qr = q + row * cols;
        float acc = vec ? row_partial_vec<MODE>(reinterpret_cast<const float4*>(pr), reinterpret_cast<const float4*>(qr),
                                                cols >> 2, threadIdx.x, blockDim.x)
                        : row_partial_scalar<MODE>(pr, qr, cols, threadIdx.x, blockDim.x);
        acc = group_sum(acc, 32);
        if (lane == 0) partial[warpId] = acc;
        __syncthreads();
        if (warpId == 0) {
            float v = lane < warpsPerBlock ? partial[lane] : 0.0f;
            v = group_sum(v, 32);
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

// gp = 0.5 g log(2a / s), gq = 0.5 g log(2b / s) for one entry (0 where the entry is 0).
__device__ __forceinline__ void js_grad_pair(float a, float b, float g, float& ga, float& gb) {
    const float s = a + b;
    const float r = rcp_approx(s);
    const float d = (a - b) * r;
    const float t = d * d;
    // A = 2 atanh d = 2 d sum_k t^k / (2k + 1); S = log(1 - t) = -t sum_k t^k / (k + 1); k = 0..6.
    float at = 1.0f / 13.0f, lt = 1.0f / 7.0f;
    at = fmaf(at, t, 1.0f / 11.0f); lt = fmaf(lt, t, 1.0f / 6.0f);
    at = fmaf(at, t, 1.0f / 9.0f);  lt = fmaf(lt, t, 1.0f / 5.0f);
    at = fmaf(at, t, 1.0f / 7.0f);  lt = fmaf(lt, t, 1.0f / 4.0f);
    at = fmaf(at, t, 1.0f / 5.0f);  lt = fmaf(lt, t, 1.0f / 3.0f);
    at = fmaf(at, t, 1.0f / 3.0f);  lt = fmaf(lt, t, 1.0f / 2.0f);
    at = fmaf(at, t, 1.0f);         lt = fmaf(lt, t, 1.0f);
    const float A = 2.0f * d * at, S = -t * lt;
    const float x = fmaxf(2.0f * a * r, RATIO_FLOOR), y = fmaxf(2.0f * b * r, RATIO_FLOOR);
    const bool near = fabsf(d) < 0.25f;
    const float la = near ? 0.5f * (S + A) : LN2F * log2_approx(x);
    const float lb = near ? 0.5f * (S - A) : LN2F * log2_approx(y);
    const float h = 0.5f * g;
    ga = a > 0.0f ? h * la : 0.0f;
    gb = b > 0.0f ? h * lb : 0.0f;
}

__device__ __forceinline__ void js_grad4(float4 a, float4 b, float g, float4& ga, float4& gb) {
    js_grad_pair(a.x, b.x, g, ga.x, gb.x);
    js_grad_pair(a.y, b.y, g, ga.y, gb.y);
    js_grad_pair(a.z, b.z, g, ga.z, gb.z);
    js_grad_pair(a.w, b.w, g, ga.w, gb.w);
}

// Gradients of one row (or of this lane's share of it) for rows longer than one float4 per lane
// or unaligned ones: two float4 per operand in flight per step on the vector path.
__device__ __forceinline__ void js_backward_row(const float* __restrict__ p, const float* __restrict__ q,
                                                float* __restrict__ gp, float* __restrict__ gq, long long base,
                                                long long cols, float g, long long sub, long long G, int vec) {
    if (vec) {
        const long long units = cols >> 2;
        const float4* p4 = reinterpret_cast<const float4*>(p + base);
        const float4* q4 = reinterpret_cast<const float4*>(q + base);
        float4* gp4 = reinterpret_cast<float4*>(gp + base);
        float4* gq4 = reinterpret_cast<float4*>(gq + base);
        long long j = sub;
        for (; j + G < units; j += 2 * G) {
            float4 a0 = __ldcs(p4 + j), b0 = __ldcs(q4 + j), a1 = __ldcs(p4 + j + G), b1 = __ldcs(q4 + j + G);
            float4 ga, gb;
            js_grad4(a0, b0, g, ga, gb);
            __stcs(gp4 + j, ga);
            __stcs(gq4 + j, gb);
            js_grad4(a1, b1, g, ga, gb);
            __stcs(gp4 + j + G, ga);
            __stcs(gq4 + j + G, gb);
        }
        if (j < units) {
            float4 ga, gb;
            js_grad4(__ldcs(p4 + j), __ldcs(q4 + j), g, ga, gb);
            __stcs(gp4 + j, ga);
            __stcs(gq4 + j, gb);
        }
    } else {
        for (long long j = sub; j < cols; j += G) {
            float ga, gb;
            js_grad_pair(p[base + j], q[base + j], g, ga, gb);
            gp[base + j] = ga;
            gq[base + j] = gb;
        }
    }
}

extern "C" __global__ void js_backward_rows_f32(const float* __restrict__ p, const float* __restrict__ q,
                                                const float* __restrict__ gradOut, float* __restrict__ gp,
                                                float* __restrict__ gq, long long rows, long long cols, int lanesLog2,
                                                int vec) {
    ROW_GROUP_GEOMETRY
    const long long setStride = warps * rowsPerWarp;
    const long long units = cols >> 2;
    for (long long first = warp * rowsPerWarp; first < rows; first += 2 * setStride) {
        const long long row0 = first + (lane >> lanesLog2), row1 = row0 + setStride;
        const bool in0 = row0 < rows, in1 = row1 < rows;
        if (vec && units <= G) {
            // Short rows: both row sets' loads (and gradOut) issued before any arithmetic.
            const bool ok0 = in0 && sub < units, ok1 = in1 && sub < units;
            const long long base0 = row0 * cols, base1 = row1 * cols;
            float4 a0 = load4_or_zero(reinterpret_cast<const float4*>(p + base0), sub, ok0);
            float4 b0 = load4_or_zero(reinterpret_cast<const float4*>(q + base0), sub, ok0);
            float4 a1 = load4_or_zero(reinterpret_cast<const float4*>(p + base1), sub, ok1);
            float4 b1 = load4_or_zero(reinterpret_cast<const float4*>(q + base1), sub, ok1);
            const float g0 = ok0 ? gradOut[row0] : 0.0f, g1 = ok1 ? gradOut[row1] : 0.0f;
            float4 ga, gb;
            if (ok0) {
                js_grad4(a0, b0, g0, ga, gb);
                __stcs(reinterpret_cast<float4*>(gp + base0) + sub, ga);
                __stcs(reinterpret_cast<float4*>(gq + base0) + sub, gb);
            }
            if (ok1) {
                js_grad4(a1, b1, g1, ga, gb);
                __stcs(reinterpret_cast<float4*>(gp + base1) + sub, ga);
                __stcs(reinterpret_cast<float4*>(gq + base1) + sub, gb);
            }
        } else {
            if (in0) js_backward_row(p, q, gp, gq, row0 * cols, cols, gradOut[row0], sub, G, vec);
            if (in1) js_backward_row(p, q, gp, gq, row1 * cols, cols, gradOut[row1], sub, G, vec);
        }
    }
}
