package io.reg4rec.engine.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Loader failures become one line naming the library and the loader's reason (no GPU needed). */
class NativeErrorsTest {
    @Test
    void keepsTheFirstLineAndTheDynamicLoadersReason() {
        String jcudaStyle = "Error while loading native library \"JCublas2-12.6.0-linux-x86_64\"\n"
                + "Operating system name: Linux\n"
                + "---(start of nested stack traces)---\n"
                + "Stack trace from the attempt to load the library as a file:\n"
                + "java.lang.UnsatisfiedLinkError: no JCublas2-12.6.0-linux-x86_64 in java.library.path: /usr/lib\n"
                + "\tat java.base/java.lang.ClassLoader.loadLibrary(ClassLoader.java:2434)\n"
                + "Stack trace from the attempt to load the library as a resource:\n"
                + "java.lang.UnsatisfiedLinkError: /tmp/libJCublas2-12.6.0-linux-x86_64.so: libcublas.so.12: cannot open shared object file: No such file or directory\n"
                + "\tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)\n"
                + "---(end of nested stack traces)---\n";
        String s = NativeErrors.summarize(new UnsatisfiedLinkError(jcudaStyle));
        assertFalse(s.contains("\n"), s);
        assertTrue(s.startsWith("UnsatisfiedLinkError: Error while loading native library \"JCublas2"), s);
        assertTrue(s.contains("libcublas.so.12: cannot open shared object file"), s);
    }

    @Test
    void plainMessagesPassThrough() {
        assertEquals("IllegalStateException: boom", NativeErrors.summarize(new IllegalStateException("boom")));
    }
}
