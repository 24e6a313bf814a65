package io.reg4rec.engine;

/** Reductions along one axis. ARGMAX and ARGMIN write I64 indices (the first on ties). */
public enum ReduceOp {
    SUM, MAX, MIN, ARGMAX, ARGMIN
}
