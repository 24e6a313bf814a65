package io.reg4rec.model.io;

import java.io.IOException;

/** A safetensors file that is malformed, truncated, or does not match the module it is loaded into. */
public final class SafeTensorsException extends IOException {
    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
