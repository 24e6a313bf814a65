package io.reg4rec.engine.cuda;

/**
 * One-line descriptions of native loading failures. JCuda's UnsatisfiedLinkError messages hold
 * the nested stack traces of every loading attempt; what a user needs is the library and the
 * dynamic loader's reason (e.g. "libcuda.so.1: cannot open shared object file").
 */
final class NativeErrors {
    private NativeErrors() {}

    static String summarize(Throwable t) {
        String message = String.valueOf(t.getMessage());
        String[] lines = message.split("\\R");
        String first = lines[0].trim();
        String loaderReason = null;
        for (String line : lines) {
            String l = line.trim();
            int at = l.indexOf("UnsatisfiedLinkError: ");
            if (at < 0) continue;
            String rest = l.substring(at + "UnsatisfiedLinkError: ".length());
            // The attempt that found the file and failed in dlopen names a path and the missing piece.
            if (rest.startsWith("/") || rest.contains("cannot open shared object") || rest.contains("undefined symbol")
                    || rest.contains("version")) {
                loaderReason = rest;
            }
        }
        String summary = t.getClass().getSimpleName() + ": " + first;
        return loaderReason == null || loaderReason.equals(first) ? summary : summary + " (" + loaderReason + ")";
    }
}
