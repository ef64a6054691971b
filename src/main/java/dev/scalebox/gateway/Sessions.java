package dev.scalebox.gateway;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Open sessions per user. When a user's last session closes, their box is suspended after the
 * idle time, unless a new session opens first.
 */
final class Sessions implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Sessions.class);

    private final Boxes boxes;
    private final Duration idle;
    private final Map<String, Integer> open = new HashMap<>();
    /** Users whose last session closed, by id, with the suspend waiting for the end of their idle time. */
    private final Map<String, Idle> pending = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("box-idle").daemon(true).factory());

    private record Idle(User user, ScheduledFuture<?> suspend) {
    }

    Sessions(Boxes boxes, Duration idle) {
        this.boxes = boxes;
        this.idle = idle;
    }

    synchronized void opened(User user) {
        open.merge(user.id(), 1, Integer::sum);
        Idle waiting = pending.remove(user.id());
        if (waiting != null) {
            waiting.suspend().cancel(false);
        }
    }

    synchronized void closed(User user) {
        if (open.merge(user.id(), -1, Integer::sum) > 0) {
            return;
        }
        open.remove(user.id());
        idleFromNow(user);
    }

    /** Counts the user's running box as idle from now: a box adopted at a start, before anyone connects. */
    synchronized void idleFromNow(User user) {
        if (open.containsKey(user.id()) || timer.isShutdown()) {
            return;
        }
        Idle earlier = pending.put(user.id(), new Idle(user,
                timer.schedule(() -> suspendIfIdle(user), idle.toMillis(), TimeUnit.MILLISECONDS)));
        if (earlier != null) {
            earlier.suspend().cancel(false);
        }
    }

    private synchronized boolean isIdle(User user) {
        return !open.containsKey(user.id());
    }

    /**
     * Suspends now the box whose idle time ends first, to make room for another user's; false
     * when no box other than {@code exceptUserId}'s is idle.
     */
    boolean suspendLongestIdle(String exceptUserId) {
        User longest;
        synchronized (this) {
            longest = pending.values().stream().filter(i -> !i.user().id().equals(exceptUserId))
                    .min(Comparator.comparingLong(i -> i.suspend().getDelay(TimeUnit.NANOSECONDS)))
                    .map(Idle::user).orElse(null);
            if (longest == null) {
                return false;
            }
            pending.remove(longest.id()).suspend().cancel(false);
        }
        log.info("Suspending the idle box of user {} now, to make room for another", longest.id());
        return boxes.suspend(longest, () -> isIdle(longest));
    }

    private void suspendIfIdle(User user) {
        synchronized (this) {
            pending.remove(user.id());
        }
        try {
            if (boxes.suspend(user, () -> isIdle(user))) {
                log.info("Suspended the box of user {} after {} s without a session", user.id(), idle.toSeconds());
            }
        } catch (RuntimeException e) {
            // The box runs on as it was (a full pool, say): it is tried again after another idle time.
            log.warn("Could not suspend the box of user {}: {}; trying again in {} s", user.id(), e.getMessage(),
                    idle.toSeconds());
            idleFromNow(user);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
