package io.reg4rec.engine;

/** Elementwise functions of one argument. Integer tensors support NEG and ABS only. */
public enum UnaryOp {
    NEG, ABS, EXP, LOG, SQRT, RSQRT, RECIPROCAL, TANH, SIGMOID, RELU,
    /** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    GELU,
    /** Derivative of the tanh-approximated GELU, so its backward is one pass. */
    GELU_GRAD,
    /** 1 where x > 0 else 0: the derivative of RELU. */
    STEP
}
