package dev.scalebox.gateway;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
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
    private final Map<String, ScheduledFuture<?>> pending = new HashMap<>();
    private final Map<String, User> idleUsers = new HashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("box-idle").daemon(true).factory());

    Sessions(Boxes boxes, Duration idle) {
        this.boxes = boxes;
        this.idle = idle;
    }

    synchronized void opened(User user) {
        open.merge(user.id(), 1, Integer::sum);
        ScheduledFuture<?> suspend = pending.remove(user.id());
        idleUsers.remove(user.id());
        if (suspend != null) {
            suspend.cancel(false);
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
        ScheduledFuture<?> earlier = pending.put(user.id(),
                timer.schedule(() -> suspendIfIdle(user), idle.toMillis(), TimeUnit.MILLISECONDS));
        idleUsers.put(user.id(), user);
        if (earlier != null) {
            earlier.cancel(false);
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
            longest = pending.entrySet().stream().filter(e -> !e.getKey().equals(exceptUserId))
                    .min(java.util.Comparator.comparingLong(e -> e.getValue().getDelay(TimeUnit.NANOSECONDS)))
                    .map(e -> idleUsers.get(e.getKey())).orElse(null);
            if (longest == null) {
                return false;
            }
            pending.remove(longest.id()).cancel(false);
            idleUsers.remove(longest.id());
        }
        log.info("Suspending the idle box of user {} now, to make room for another", longest.id());
        return boxes.suspend(longest, () -> isIdle(longest));
    }

    private void suspendIfIdle(User user) {
        synchronized (this) {
            pending.remove(user.id());
            idleUsers.remove(user.id());
        }
        try {
            boxes.suspend(user, () -> isIdle(user));
            log.info("Suspended the box of user {} after {} s without a session", user.id(), idle.toSeconds());
        } catch (RuntimeException e) {
            log.warn("Could not suspend the box of user {}: {}", user.id(), e.getMessage());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
