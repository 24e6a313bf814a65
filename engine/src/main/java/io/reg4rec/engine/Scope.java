package io.reg4rec.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Deterministic release of tensors: every tensor created on this thread while a scope is open
 * belongs to the innermost scope and is closed when that scope closes, unless it was moved out
 * with {@link Tensor#keep()}.
 *
 * <pre>{@code
 * try (Scope scope = Scope.open()) {
 *     Tensor h = x.matmul(w).relu();   // intermediates released at the end of the block
 *     return h.sum(0, false).keep();   // survives into the caller's scope
 * }
 * }</pre>
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Deque<Scope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final List<Tensor> owned = new ArrayList<>();
    private boolean closed;

    private Scope() {}

    public static Scope open() {
        Scope s = new Scope();
        STACK.get().push(s);
        return s;
    }

    static void register(Tensor t) {
        Scope s = STACK.get().peek();
        if (s != null) s.owned.add(t);
    }

    /** Moves t from the innermost scope that owns it to that scope's parent (or to none). */
    static void keep(Tensor t) {
        Deque<Scope> stack = STACK.get();
        var it = stack.iterator();
        while (it.hasNext()) {
            Scope s = it.next();
            if (s.owned.remove(t)) {
                if (it.hasNext()) it.next().owned.add(t);
                return;
            }
        }
    }

    /** Removes t from whichever open scope on this thread owns it; its holder must now close it. */
    static void untrack(Tensor t) {
        for (Scope s : STACK.get()) {
            if (s.owned.remove(t)) return;
        }
    }

    /** Number of tensors this scope will release. */
    public int size() { return owned.size(); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Deque<Scope> stack = STACK.get();
        if (stack.peek() != this) throw new IllegalStateException("scopes must close innermost first");
        stack.pop();
        for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).close();
        owned.clear();
    }
}
