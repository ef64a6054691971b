package dev.scalebox.vm;

import dev.scalebox.store.VmStore;

import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

/**
 * The VMs of this service waiting in the host's {@link Admission} line to start, each with its
 * ticket. A VM in line is {@code starting} and its reason says its place ("queued: 2 ahead"),
 * rewritten as the line moves; once let in, it is handed to the launcher with its ticket.
 */
final class StartLine {

    private final Admission admission;
    private final VmStates states;
    private final Map<String, Admission.Ticket> waiting = new ConcurrentHashMap<>();
    private final AtomicBoolean placesDue = new AtomicBoolean();

    StartLine(Admission admission, VmStates states) {
        this.admission = admission;
        this.states = states;
        admission.onMove(this::tellPlacesSoon);
    }

    /**
     * Puts the VM in line at {@code priority} for {@code cost} cores; once let in, {@code launch}
     * gets its id and ticket on a thread of its own. The caller holds the VM's lock; returns the
     * record as it is now, {@code starting}.
     */
    VmStore.Row join(VmStore.Row row, Admission.Priority priority, int cost, BiConsumer<String, Admission.Ticket> launch) {
        Admission.Ticket ticket = admission.request(priority, row.id(), cost);
        waiting.put(row.id(), ticket);
        VmStore.Row starting = states.move(row, VmStatus.STARTING, place(ticket));
        ticket.admitted().thenAcceptAsync(t -> launch.accept(row.id(), t),
                r -> Thread.ofVirtual().name("start-" + row.id()).start(r));
        return starting;
    }

    /** Takes the VM off the list once let in with {@code ticket}; false when it left the line meanwhile. */
    boolean admitted(String id, Admission.Ticket ticket) {
        return waiting.remove(id, ticket);
    }

    /** Gives up the VM's place, if it has one. */
    void leave(String id) {
        Admission.Ticket ticket = waiting.remove(id);
        if (ticket != null) {
            ticket.close();
        }
    }

    void leaveAll() {
        waiting.keySet().forEach(this::leave);
    }

    /** Where the VM stands in line; empty when it does not wait. */
    OptionalInt ahead(String id) {
        Admission.Ticket ticket = waiting.get(id);
        return ticket == null || ticket.admitted().isDone() ? OptionalInt.empty() : OptionalInt.of(ticket.ahead());
    }

    private static String place(Admission.Ticket ticket) {
        int ahead = ticket.ahead();
        return ticket.admitted().isDone() ? "starting QEMU" : "queued: " + ahead + " ahead";
    }

    /**
     * Rewrites the reasons of the VMs in line, on a thread of its own: the line moves under the
     * lock of whatever VM took or left a place, and rewriting takes the locks of the others.
     */
    private void tellPlacesSoon() {
        if (placesDue.compareAndSet(false, true)) {
            Thread.ofVirtual().name("start-line-places").start(() -> {
                placesDue.set(false);
                waiting.forEach((id, ticket) -> {
                    if (!ticket.admitted().isDone()) {
                        String reason = place(ticket);
                        states.moveIf(id, VmStatus.STARTING, VmStatus.STARTING, reason,
                                r -> waiting.get(id) == ticket && !reason.equals(r.statusReason()));
                    }
                });
            });
        }
    }
}
