package dev.scalebox.cli;

import dev.scalebox.api.Json;
import tools.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The events of one {@code GET /events} subscription, read on a thread of their own so that a
 * wait for them can have a deadline.
 */
final class EventSubscription implements AutoCloseable {

    /** An event: its type ({@code vm}, {@code vm_deleted}, {@code box}, {@code cut_off}) and its data. */
    record Event(String type, JsonNode data) {
        /** The stream ended: the server went away or cut this viewer off. */
        boolean isEnd() {
            return type.isEmpty();
        }
    }

    private static final Event END = new Event("", null);

    private final Stream<String> lines;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final CountDownLatch ready = new CountDownLatch(1);

    private EventSubscription(Stream<String> lines) {
        this.lines = lines;
    }

    /** Follows {@code lines} of a server's event stream; returns once the server says {@code : ready}. */
    static EventSubscription of(Stream<String> lines) {
        EventSubscription subscription = new EventSubscription(lines);
        Thread.ofVirtual().name("events").start(subscription::read);
        try {
            subscription.ready.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            subscription.close();
            throw new CliException("interrupted");
        }
        return subscription;
    }

    private void read() {
        String type = "message";
        StringBuilder data = new StringBuilder();
        try {
            for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.equals(": ready")) {
                    ready.countDown();
                } else if (line.startsWith("event: ")) {
                    type = line.substring("event: ".length());
                } else if (line.startsWith("data: ")) {
                    data.append(line.substring("data: ".length()));
                } else if (line.isEmpty() && !data.isEmpty()) {
                    events.add(new Event(type, Json.MAPPER.readTree(data.toString())));
                    type = "message";
                    data.setLength(0);
                }
            }
        } catch (RuntimeException closed) {
            // closed by this side, or the server went away: both end the stream
        } finally {
            ready.countDown();
            events.add(END);
        }
    }

    /** The next event within {@code millis}, empty when none came; after the end, the end again. */
    Optional<Event> next(long millis) throws InterruptedException {
        Event e = events.poll(millis, TimeUnit.MILLISECONDS);
        if (e == END) {
            events.add(END);
        }
        return Optional.ofNullable(e);
    }

    @Override
    public void close() {
        lines.close();
    }
}
