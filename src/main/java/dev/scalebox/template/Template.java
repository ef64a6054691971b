package dev.scalebox.template;

import java.time.Instant;

/**
 * A template: an ext4 image VMs are cloned from.
 *
 * @param isProtected whether it may be removed; the base template may not
 * @param origin      {@code built}, {@code imported} or {@code snapshot}
 */
public record Template(String name, long sizeBytes, Instant createdAt, boolean isProtected, String origin) {
}
