package dev.scalebox.gateway;

import java.time.Instant;

/**
 * A user's box as the API shows it: its id is its user's id; {@code vm_id} is the VM behind it,
 * {@code host} the host it lives on.
 */
public record Box(String id, String user, String vmId, String status, String statusReason, int diskSizeGib,
                  Instant createdAt, String host) {
}
