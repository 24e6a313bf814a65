package io.reg4rec.engine.cuda;

/**
 * A device allocation failed even after the allocator's cache was flushed and the request
 * retried. The message names the request and the allocator's state at the time.
 */
public final class DeviceOutOfMemoryException extends RuntimeException {
    private final long requestedBytes;
    private final long inUseBytes;
    private final long cachedBytes;

    public DeviceOutOfMemoryException(String message, long requestedBytes, long inUseBytes, long cachedBytes, Throwable cause) {
        super(message, cause);
        this.requestedBytes = requestedBytes;
        this.inUseBytes = inUseBytes;
        this.cachedBytes = cachedBytes;
    }

    public long requestedBytes() { return requestedBytes; }

    public long inUseBytes() { return inUseBytes; }

    /** Cached bytes when the first attempt failed (the cache is empty after the flush). */
    public long cachedBytes() { return cachedBytes; }
}
