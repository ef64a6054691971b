package dev.scalebox.vm;

import java.time.Instant;

/** A template made from a VM's disk. */
public record Snapshot(String template, String sourceVm, long sizeBytes, Instant createdAt) {
}
