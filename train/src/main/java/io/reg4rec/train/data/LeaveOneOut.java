package io.reg4rec.train.data;

import java.util.Arrays;

/**
 * The leave-one-out split (SPEC section 9): per user, the last item is the test target, the
 * second-to-last the validation target, everything before is the training part.
 *
 * <p>Users with fewer than 3 items cannot give a training item plus two targets. Rule: all of
 * their items form the training part, they have no targets (0) and are left out of validation
 * and test ({@link #evaluable(int)} is false). The 5-core Amazon data never has such users.
 *
 * <p>Inputs for the model: {@link #trainingExamples(int)} gives every prefix of each training part
 * (length >= 1) with the next item as target; {@link #validationInputs(int)} gives the training
 * part as history with the validation target; {@link #testInputs(int)} gives the training part
 * plus the validation target as history with the test target. Histories keep the most recent
 * maxHistory items, oldest first.
 */
public final class LeaveOneOut {
    /** The history cap used when none is given. */
    public static final int DEFAULT_MAX_HISTORY = 50;

    private final Dataset dataset;
    private final int[][] trainParts;
    private final int[] validationTargets;
    private final int[] testTargets;

    private LeaveOneOut(Dataset dataset, int[][] trainParts, int[] validationTargets, int[] testTargets) {
        this.dataset = dataset;
        this.trainParts = trainParts;
        this.validationTargets = validationTargets;
        this.testTargets = testTargets;
    }

    public static LeaveOneOut split(Dataset dataset) {
        int numUsers = dataset.numUsers();
        int[][] train = new int[numUsers][];
        int[] validation = new int[numUsers], test = new int[numUsers];
        for (int u = 0; u < numUsers; u++) {
            int[] s = dataset.sequence(u);
            if (s.length < 3) {
                train[u] = s;
            } else {
                train[u] = Arrays.copyOf(s, s.length - 2);
                validation[u] = s[s.length - 2];
                test[u] = s[s.length - 1];
            }
        }
        return new LeaveOneOut(dataset, train, validation, test);
    }

    public Dataset dataset() { return dataset; }

    public int numUsers() { return trainParts.length; }

    /** The training part of one user (index = user id - 1), a copy. */
    public int[] trainPart(int userIndex) { return trainParts[userIndex].clone(); }

    /** Training parts of all users (index = user id - 1), a deep copy. */
    public int[][] trainParts() {
        int[][] out = new int[trainParts.length][];
        for (int u = 0; u < trainParts.length; u++) out[u] = trainParts[u].clone();
        return out;
    }

    /** Validation target per user index, 0 for users that are not evaluated. */
    public int[] validationTargets() { return validationTargets.clone(); }

    /** Test target per user index, 0 for users that are not evaluated. */
    public int[] testTargets() { return testTargets.clone(); }

    /** True when the user (index = user id - 1) has validation and test targets. */
    public boolean evaluable(int userIndex) { return testTargets[userIndex] != 0; }

    /** Number of users with validation and test targets. */
    public int numEvaluable() {
        int n = 0;
        for (int t : testTargets) if (t != 0) n++;
        return n;
    }

    /**
     * Next-item examples from the training parts only, user by user, prefix by prefix: for a
     * training part (a, b, c) the examples are (a) -> b and (a, b) -> c.
     *
     * @param histories per example, the most recent at most maxHistory items before the target, oldest first
     * @param targets   per example, the item that followed
     * @param users     per example, the user index (user id - 1)
     */
    public record Examples(int[][] histories, int[] targets, int[] users) {
        public int size() { return targets.length; }
    }

    /** {@link #trainingExamples(int)} with {@link #DEFAULT_MAX_HISTORY}. */
    public Examples trainingExamples() { return trainingExamples(DEFAULT_MAX_HISTORY); }

    public Examples trainingExamples(int maxHistory) {
        requirePositive(maxHistory);
        int count = 0;
        for (int[] t : trainParts) count += Math.max(0, t.length - 1);
        int[][] histories = new int[count][];
        int[] targets = new int[count], users = new int[count];
        int e = 0;
        for (int u = 0; u < trainParts.length; u++) {
            int[] t = trainParts[u];
            for (int end = 1; end < t.length; end++) {
                histories[e] = Arrays.copyOfRange(t, Math.max(0, end - maxHistory), end);
                targets[e] = t[end];
                users[e] = u;
                e++;
            }
        }
        return new Examples(histories, targets, users);
    }

    /** {@link #validationInputs(int)} with {@link #DEFAULT_MAX_HISTORY}. */
    public Examples validationInputs() { return validationInputs(DEFAULT_MAX_HISTORY); }

    /** One example per evaluable user: history = training part (capped), target = validation item. */
    public Examples validationInputs(int maxHistory) {
        requirePositive(maxHistory);
        return evaluation(maxHistory, false);
    }

    /** {@link #testInputs(int)} with {@link #DEFAULT_MAX_HISTORY}. */
    public Examples testInputs() { return testInputs(DEFAULT_MAX_HISTORY); }

    /** One example per evaluable user: history = training part + validation item (capped), target = test item. */
    public Examples testInputs(int maxHistory) {
        requirePositive(maxHistory);
        return evaluation(maxHistory, true);
    }

    private Examples evaluation(int maxHistory, boolean test) {
        int n = numEvaluable();
        int[][] histories = new int[n][];
        int[] targets = new int[n], users = new int[n];
        int e = 0;
        for (int u = 0; u < trainParts.length; u++) {
            if (!evaluable(u)) continue;
            int[] full = test ? append(trainParts[u], validationTargets[u]) : trainParts[u];
            histories[e] = Arrays.copyOfRange(full, Math.max(0, full.length - maxHistory), full.length);
            targets[e] = test ? testTargets[u] : validationTargets[u];
            users[e] = u;
            e++;
        }
        return new Examples(histories, targets, users);
    }

    private static int[] append(int[] a, int x) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = x;
        return out;
    }

    private static void requirePositive(int maxHistory) {
        if (maxHistory < 1) throw new IllegalArgumentException("LeaveOneOut: maxHistory must be >= 1, got " + maxHistory);
    }
}
