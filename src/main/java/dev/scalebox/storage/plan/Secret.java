package dev.scalebox.storage.plan;

/** A password read from a secret file or variable; never printed, logged or journaled. */
public record Secret(String value) {
    @Override
    public String toString() {
        return "(secret)";
    }
}
