package dev.scalebox;

/**
 * A domain error that a person can act on. Each subclass carries the HTTP status that the API
 * answers with; the message is shown to clients as it is, so it must never hold a stack trace or
 * a host path the client did not give.
 */
public abstract class ScaleboxException extends RuntimeException {

    protected ScaleboxException(String message) {
        super(message);
    }

    protected ScaleboxException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The HTTP status this error maps to. */
    public abstract int status();

    /** 400: the request itself is wrong. */
    public static class BadRequest extends ScaleboxException {
        public BadRequest(String message) { super(message); }
        @Override public int status() { return 400; }
    }

    /** 403: the request is understood and refused, e.g. removing a protected template. */
    public static class Forbidden extends ScaleboxException {
        public Forbidden(String message) { super(message); }
        @Override public int status() { return 403; }
    }

    /** 404: the named thing does not exist. */
    public static class NotFound extends ScaleboxException {
        public NotFound(String message) { super(message); }
        @Override public int status() { return 404; }
    }

    /** 409: the request conflicts with the current state, e.g. a name already taken. */
    public static class Conflict extends ScaleboxException {
        public Conflict(String message) { super(message); }
        @Override public int status() { return 409; }
    }

    /** 413: the request body is larger than the API accepts. */
    public static class PayloadTooLarge extends ScaleboxException {
        public PayloadTooLarge(String message) { super(message); }
        @Override public int status() { return 413; }
    }

    /** 507: the host has not enough disk space or memory for the request. */
    public static class InsufficientStorage extends ScaleboxException {
        public InsufficientStorage(String message) { super(message); }
        @Override public int status() { return 507; }
    }

    /** 503: the host that must carry out the request is down or does not answer; try again later. */
    public static class Unavailable extends ScaleboxException {
        public Unavailable(String message) { super(message); }
        @Override public int status() { return 503; }
    }

    /** 500: a host operation failed; the message says which and why (e.g. a program's stderr). */
    public static class HostFailure extends ScaleboxException {
        public HostFailure(String message) { super(message); }
        public HostFailure(String message, Throwable cause) { super(message, cause); }
        @Override public int status() { return 500; }
    }
}
