package io.reg4rec.engine;

/**
 * Elementwise functions of two arguments. Comparisons yield 1 or 0 in the output dtype.
 * Integer division truncates toward zero; POW is float-only.
 */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, MAX, MIN, POW, EQ, NE, LT, LE, GT, GE
}
