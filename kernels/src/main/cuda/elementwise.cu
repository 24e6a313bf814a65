// Elementwise kernels: unary ops, binary ops over broadcast operands, and ops with a scalar.
//
// Entry points (one per dtype suffix f32, bf16, e4m3, e5m2, i32, i64):
//   unary_<dt>(int op, Strided layout, const T* x, T* out, long long n)
//   binary_<dt>(int op, Strided layout, const T* a, const T* b, T* out, long long n, unsigned long long* err)
//   scalar_<dt>(int op, Strided layout, const T* a, double sd, long long si, int integral, int scalarFirst,
//               T* out, long long n, unsigned long long* err)
// layout.size is out's shape; layout.stride[0] (and [1] for b) are the inputs' element strides
// (0 for broadcast dimensions). out is contiguous, so out[i] is logical element i.
// Floating dtypes compute in fp32 and round on store; integers compute in their own type.
// Op codes are the ordinals of io.reg4rec.engine.UnaryOp / BinaryOp. An integer division by zero
// cannot throw in a kernel: it writes 0 and is reported through err (see common.cuh), which the
// host turns into an ArithmeticException at its next synchronisation.
//
// Work split: a 1-D grid-stride loop, one logical element per thread per iteration; the grid is
// capped on the host, so any n (64-bit) is covered.
// CPU reference: io.reg4rec.engine.cpu.CpuBackend#unary / #binary / #binaryScalar.
#include "common.cuh"

enum UnaryOp { U_NEG, U_ABS, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_RECIPROCAL, U_TANH, U_SIGMOID, U_RELU,
               U_GELU, U_GELU_GRAD, U_STEP };
enum BinaryOp { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_POW, B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE };

#define GELU_C 0.7978845608028654f  // sqrt(2 / pi)
#define GELU_A 0.044715f

__device__ __forceinline__ float unary_float(int op, float x) {
    switch (op) {
        case U_NEG: return -x;
        case U_ABS: return fabsf(x);
        case U_EXP: return expf(x);
        case U_LOG: return logf(x);
        case U_SQRT: return sqrtf(x);
        case U_RSQRT: return 1.0f / sqrtf(x);
        case U_RECIPROCAL: return 1.0f / x;
        case U_TANH: return tanhf(x);
        case U_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case U_RELU: return (x > 0.0f || x != x) ? x : 0.0f;  // NaN passes through
        case U_GELU: {
            float t = tanhf(GELU_C * (x + GELU_A * x * x * x));
            return 0.5f * x * (1.0f + t);
        }
        case U_GELU_GRAD: {
            float t = tanhf(GELU_C * (x + GELU_A * x * x * x));
            float dudx = GELU_C * (1.0f + 3.0f * GELU_A * x * x);
            return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dudx;
        }
        case U_STEP: return x > 0.0f ? 1.0f : 0.0f;
        default: return __int_as_float(0x7FC00000);
    }
}

template <typename I>
__device__ __forceinline__ I unary_int(int op, I x) {
    typedef typename std::conditional<sizeof(I) == 4, uint32_t, unsigned long long>::type U;
    switch (op) {
        case U_NEG: return (I)(0 - (U)x);  // wraps like Java
        case U_ABS: return x < 0 ? (I)(0 - (U)x) : x;
        default: return 0;
    }
}

__device__ __forceinline__ float binary_float(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        // Java's Math.max/min: NaN wins, and +0 > -0.
        case B_MAX:
            if (a != a || b != b) return __int_as_float(0x7FC00000);
            return a > b ? a : (b > a ? b : (signbit(a) ? b : a));
        case B_MIN:
            if (a != a || b != b) return __int_as_float(0x7FC00000);
            return a < b ? a : (b < a ? b : (signbit(a) ? a : b));
        case B_POW: return (float)pow((double)a, (double)b);
        case B_EQ: return a == b ? 1.0f : 0.0f;
        case B_NE: return a != b ? 1.0f : 0.0f;
        case B_LT: return a < b ? 1.0f : 0.0f;
        case B_LE: return a <= b ? 1.0f : 0.0f;
        case B_GT: return a > b ? 1.0f : 0.0f;
        case B_GE: return a >= b ? 1.0f : 0.0f;
        default: return __int_as_float(0x7FC00000);
    }
}

template <typename I>
__device__ __forceinline__ I binary_int(int op, I a, I b) {
    typedef typename std::conditional<sizeof(I) == 4, uint32_t, unsigned long long>::type U;
    switch (op) {
        case B_ADD: return (I)((U)a + (U)b);
        case B_SUB: return (I)((U)a - (U)b);
        case B_MUL: return (I)((U)a * (U)b);
        // Truncating division; MIN / -1 wraps. Division by zero is reported by the caller and gives 0.
        case B_DIV: return b == 0 ? (I)0 : (b == -1 ? (I)(0 - (U)a) : a / b);
        case B_MAX: return a > b ? a : b;
        case B_MIN: return a < b ? a : b;
        case B_EQ: return a == b;
        case B_NE: return a != b;
        case B_LT: return a < b;
        case B_LE: return a <= b;
        case B_GT: return a > b;
        case B_GE: return a >= b;
        default: return 0;
    }
}

__device__ __forceinline__ float apply_unary(int op, float x) { return unary_float(op, x); }
__device__ __forceinline__ int32_t apply_unary(int op, int32_t x) { return unary_int<int32_t>(op, x); }
__device__ __forceinline__ int64_t apply_unary(int op, int64_t x) { return unary_int<int64_t>(op, x); }
__device__ __forceinline__ float apply_binary(int op, float a, float b) { return binary_float(op, a, b); }
__device__ __forceinline__ int32_t apply_binary(int op, int32_t a, int32_t b) { return binary_int<int32_t>(op, a, b); }
__device__ __forceinline__ int64_t apply_binary(int op, int64_t a, int64_t b) { return binary_int<int64_t>(op, a, b); }

template <typename C> __device__ __forceinline__ C scalar_value(float sf, long long si);
template <> __device__ __forceinline__ float scalar_value<float>(float sf, long long) { return sf; }
template <> __device__ __forceinline__ int32_t scalar_value<int32_t>(float, long long si) { return (int32_t)si; }
template <> __device__ __forceinline__ int64_t scalar_value<int64_t>(float, long long si) { return (int64_t)si; }

template <typename Tag>
__device__ void unary_kernel(int op, Strided layout, const typename Dt<Tag>::storage* __restrict__ x,
                             typename Dt<Tag>::storage* __restrict__ out, long long n) {
    GRID_STRIDE_LOOP(i, n) {
        long long off[1];
        strided_offsets<1>(layout, i, off);
        out[i] = Dt<Tag>::store(apply_unary(op, Dt<Tag>::load(x[off[0]])));
    }
}

template <typename C> __device__ __forceinline__ bool is_int_div_by_zero(int op, C b) { return false; }
template <> __device__ __forceinline__ bool is_int_div_by_zero<int32_t>(int op, int32_t b) { return op == B_DIV && b == 0; }
template <> __device__ __forceinline__ bool is_int_div_by_zero<int64_t>(int op, int64_t b) { return op == B_DIV && b == 0; }

template <typename Tag>
__device__ void binary_kernel(int op, Strided layout, const typename Dt<Tag>::storage* __restrict__ a,
                              const typename Dt<Tag>::storage* __restrict__ b,
                              typename Dt<Tag>::storage* __restrict__ out, long long n, unsigned long long* err) {
    typedef typename Dt<Tag>::compute C;
    GRID_STRIDE_LOOP(i, n) {
        long long off[2];
        strided_offsets<2>(layout, i, off);
        C bv = Dt<Tag>::load(b[off[1]]);
        if (is_int_div_by_zero<C>(op, bv)) report_device_error(err, DEVICE_ERROR_INT_DIV_ZERO, i, 0);
        out[i] = Dt<Tag>::store(apply_binary(op, Dt<Tag>::load(a[off[0]]), bv));
    }
}

// Scalar ops. Floats see the scalar rounded to fp32 (as the CPU does). Integers use it as an
// integer when it is integral (integral != 0, value in si); otherwise they compute in fp64 and
// truncate toward zero, as the CPU reference does.
__device__ __forceinline__ double binary_double(int op, double a, double b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_MAX: return (a != a || b != b) ? __longlong_as_double(0x7FF8000000000000ll) : (a > b ? a : (b > a ? b : (signbit(a) ? b : a)));
        case B_MIN: return (a != a || b != b) ? __longlong_as_double(0x7FF8000000000000ll) : (a < b ? a : (b < a ? b : (signbit(a) ? a : b)));
        case B_POW: return pow(a, b);
        case B_EQ: return a == b;
        case B_NE: return a != b;
        case B_LT: return a < b;
        case B_LE: return a <= b;
        case B_GT: return a > b;
        case B_GE: return a >= b;
        default: return __longlong_as_double(0x7FF8000000000000ll);
    }
}

template <typename Tag>
__device__ void scalar_kernel(int op, Strided layout, const typename Dt<Tag>::storage* __restrict__ a,
                              double sd, long long si, int integral, int scalarFirst,
                              typename Dt<Tag>::storage* __restrict__ out, long long n, unsigned long long* err) {
    typedef typename Dt<Tag>::compute C;
    const bool isInt = !std::is_same<C, float>::value;
    C s = isInt ? (C)si : (C)(float)sd;
    GRID_STRIDE_LOOP(i, n) {
        long long off[1];
        strided_offsets<1>(layout, i, off);
        C v = Dt<Tag>::load(a[off[0]]);
        if (isInt && !integral) {
            double r = scalarFirst ? binary_double(op, sd, (double)v) : binary_double(op, (double)v, sd);
            out[i] = store_double<Tag>(r);
            continue;
        }
        if (is_int_div_by_zero<C>(op, scalarFirst ? v : s)) report_device_error(err, DEVICE_ERROR_INT_DIV_ZERO, i, 0);
        out[i] = Dt<Tag>::store(scalarFirst ? apply_binary(op, s, v) : apply_binary(op, v, s));
    }
}

#define ELEMENTWISE_ENTRIES(sfx, Tag)                                                                     \
    extern "C" __global__ void unary_##sfx(int op, Strided layout, const Dt<Tag>::storage* x,             \
                                           Dt<Tag>::storage* out, long long n) {                          \
        unary_kernel<Tag>(op, layout, x, out, n);                                                         \
    }                                                                                                     \
    extern "C" __global__ void binary_##sfx(int op, Strided layout, const Dt<Tag>::storage* a,            \
                                            const Dt<Tag>::storage* b, Dt<Tag>::storage* out,             \
                                            long long n, unsigned long long* err) {                       \
        binary_kernel<Tag>(op, layout, a, b, out, n, err);                                                \
    }                                                                                                     \
    extern "C" __global__ void scalar_##sfx(int op, Strided layout, const Dt<Tag>::storage* a, double sd, \
                                            long long si, int integral, int scalarFirst,                  \
                                            Dt<Tag>::storage* out, long long n, unsigned long long* err) {\
        scalar_kernel<Tag>(op, layout, a, sd, si, integral, scalarFirst, out, n, err);                    \
    }

FOR_ALL_DTYPES(ELEMENTWISE_ENTRIES)
