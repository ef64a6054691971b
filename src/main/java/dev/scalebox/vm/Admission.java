package dev.scalebox.vm;

import dev.scalebox.hypervisor.Accelerator;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The host-wide admission of the work that eats CPU: boots, resumes, golden-state builds,
 * ready-box preparation, warm instances and snapshot copies. Each piece of work has a cost, the
 * cores it keeps busy (under TCG a guest's boot keeps one core per vCPU busy; a resume, a blank
 * QEMU's start or a copy costs one), and at most {@link #limit()} of cost is in flight, though one
 * piece always runs when nothing else does. The rest waits in line, first come first served, with one rule on top:
 * work a person waits for (an API create or start, a user at the gateway) goes ahead of background
 * work. So a person's request waits at most for the work already in flight, never for background
 * work that came after it or queued before it.
 *
 * <p>Without this, a burst of starts on a small host boots every guest at once: under TCG each one
 * takes a core per vCPU, all of them crawl, none reaches SSH in any reasonable time, and a boot
 * judged by the clock is then given up or started again, which only adds load.
 *
 * <p>A {@link Ticket} is a place in line; its {@link Ticket#admitted()} completes when the work may
 * run, and closing it (when the work is done, or to give up waiting) lets the next one in.
 */
public final class Admission {

    /** Whose work it is. */
    public enum Priority { PERSON, BACKGROUND }

    /** The line as it stands: the limit and the cost in flight, the pieces of work in flight and waiting. */
    public record Status(int limit, int cost, int inFlight, int queued) {
    }

    /** Told each time a ticket is let in, with how long it waited. */
    public interface Listener {
        void admitted(String what, double waitedSeconds);
    }

    private final int limit;
    private final Deque<Ticket> persons = new ArrayDeque<>();
    private final Deque<Ticket> background = new ArrayDeque<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> moved = new CopyOnWriteArrayList<>();
    private int inFlight;
    private int cost;

    public Admission(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("the admission limit must be 1 or more, not " + limit);
        }
        this.limit = limit;
    }

    /** The default limit for this host: its cores, which the costs below are counted in. */
    public static int defaultLimit(int cores) {
        return Math.max(1, cores);
    }

    /**
     * What a guest's start costs: under TCG each vCPU is a thread that keeps a core busy through a
     * boot, so a guest of two vCPUs takes both cores of a small host; under KVM the guest runs at
     * the CPU's speed and a boot waits on its disk as much as on a core, so one.
     */
    public static int startCost(Accelerator accelerator, int vcpus) {
        return accelerator == Accelerator.TCG ? Math.max(1, vcpus) : 1;
    }

    public int limit() {
        return limit;
    }

    /** Takes a place in line for {@code what}, which costs one core. */
    public Ticket request(Priority priority, String what) {
        return request(priority, what, 1);
    }

    /** Takes a place in line for {@code what}, which keeps {@code cost} cores busy. */
    public Ticket request(Priority priority, String what, int cost) {
        Ticket ticket = new Ticket(priority, what, cost);
        List<Ticket> let = new ArrayList<>();
        synchronized (this) {
            (priority == Priority.PERSON ? persons : background).addLast(ticket);
            letIn(let);
        }
        announce(let);
        return ticket;
    }

    /**
     * Counts {@code what} in flight at once, past the limit if need be: work that already runs,
     * such as a boot a restarted Scalebox adopts, which no queue can hold back any more.
     */
    public Ticket admitNow(String what, int cost) {
        Ticket ticket = new Ticket(Priority.PERSON, what, cost);
        synchronized (this) {
            inFlight++;
            this.cost += cost;
            ticket.state = State.IN_FLIGHT;
        }
        ticket.admitted.complete(ticket);
        return ticket;
    }

    public synchronized Status status() {
        return new Status(limit, cost, inFlight, persons.size() + background.size());
    }

    public void onAdmitted(Listener listener) {
        listeners.add(listener);
    }

    /** Runs {@code listener} each time the line moves, so that those waiting can be told their place. */
    public void onMove(Runnable listener) {
        moved.add(listener);
    }

    private synchronized int ahead(Ticket ticket) {
        if (ticket.state != State.WAITING) {
            return 0;
        }
        int before = 0;
        for (Ticket t : persons) {
            if (t == ticket) {
                return before;
            }
            before++;
        }
        for (Ticket t : background) {
            if (t == ticket) {
                return before;
            }
            before++;
        }
        return 0;
    }

    private void close(Ticket ticket) {
        List<Ticket> let = new ArrayList<>();
        boolean wasWaiting;
        synchronized (this) {
            wasWaiting = ticket.state == State.WAITING;
            if (wasWaiting) {
                persons.remove(ticket);
                background.remove(ticket);
            } else if (ticket.state == State.IN_FLIGHT) {
                inFlight--;
                cost -= ticket.cost;
            }
            ticket.state = State.CLOSED;
            letIn(let);
        }
        if (wasWaiting) {
            ticket.admitted.cancel(false);
        }
        announce(let);
    }

    /**
     * Moves tickets from the head of the line into flight while their cost fits; the head is never
     * passed over for a cheaper one behind it, so the line keeps its order. The caller holds the
     * monitor.
     */
    private void letIn(List<Ticket> let) {
        while (!persons.isEmpty() || !background.isEmpty()) {
            Deque<Ticket> line = persons.isEmpty() ? background : persons;
            Ticket next = line.peekFirst();
            if (inFlight > 0 && cost + next.cost > limit) {
                return;
            }
            line.pollFirst();
            next.state = State.IN_FLIGHT;
            inFlight++;
            cost += next.cost;
            let.add(next);
        }
    }

    /** Completes the futures of the tickets let in, outside the monitor: their callbacks run at once. */
    private void announce(List<Ticket> let) {
        for (Ticket t : let) {
            double waited = (System.nanoTime() - t.requested) / 1e9;
            listeners.forEach(l -> l.admitted(t.what, waited));
            t.admitted.complete(t);
        }
        moved.forEach(Runnable::run);
    }

    private enum State { WAITING, IN_FLIGHT, CLOSED }

    /** A place in line, then in flight until closed. Closing twice is harmless. */
    public final class Ticket implements AutoCloseable {

        private final Priority priority;
        private final String what;
        private final int cost;
        private final long requested = System.nanoTime();
        private final CompletableFuture<Ticket> admitted = new CompletableFuture<>();
        private State state = State.WAITING;

        private Ticket(Priority priority, String what, int cost) {
            if (cost < 1) {
                throw new IllegalArgumentException("a cost is 1 or more, not " + cost);
            }
            this.priority = priority;
            this.what = what;
            this.cost = cost;
        }

        /** Completes when the work may run; cancelled when the ticket is closed while waiting. */
        public CompletableFuture<Ticket> admitted() {
            return admitted;
        }

        /** How many tickets will be let in before this one; 0 once it is in. */
        public int ahead() {
            return Admission.this.ahead(this);
        }

        /** The nanoTime at which the place was taken. */
        public long requestedAt() {
            return requested;
        }

        @Override
        public void close() {
            Admission.this.close(this);
        }

        @Override
        public String toString() {
            return what + " (" + priority.name().toLowerCase(java.util.Locale.ROOT) + ")";
        }
    }
}
