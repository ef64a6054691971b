package dev.scalebox.cluster;

import dev.scalebox.store.Database;
import dev.scalebox.store.HostStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The leader: the one host that does the cluster's own work, chosen by a PostgreSQL advisory lock
 * held on a connection of its own. A leader that dies loses the lock with its connection, and the
 * next host to try takes it, so there is never more than one and never none for long.
 * <p>
 * Its work is to mark hosts down and to keep the box pools' totals over the hosts that are not
 * down, which any host answers in {@code GET /pool}. It does not trust other hosts' clocks: a host is down when
 * its count of beats has not moved for HOST_DEAD_AFTER by the leader's own clock. A new leader
 * starts each host's wait from that host's last heartbeat time, when that is in the past, so a
 * host that died with the old leader is not given a fresh HOST_DEAD_AFTER.
 */
final class Leader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Leader.class);

    /** A host's beats as last seen, and since when they have not moved. */
    private record Seen(long beats, Instant since) {
    }

    private final Database db;
    private final String self;
    private final Duration deadAfter;
    private final Map<String, Seen> seen = new HashMap<>();
    private volatile Optional<Database.SessionLock> lock = Optional.empty();

    Leader(Database db, String self, Duration deadAfter) {
        this.db = db;
        this.self = self;
        this.deadAfter = deadAfter;
    }

    /** Takes the lead when it is free, and does the leader's work while it holds it. */
    void tick() {
        if (lock.isPresent() && !lock.get().held()) {
            log.warn("Host {} lost the cluster's lead with its connection to the store", self);
            close();
        }
        if (lock.isEmpty()) {
            lock = db.tryLock(Database.LEADER_LOCK);
            if (lock.isEmpty()) {
                return;
            }
            seen.clear();
            log.info("Host {} leads the cluster", self);
        }
        Instant now = Instant.now();
        markDown(now);
        keepTotals(now);
    }

    boolean leads() {
        return lock.isPresent();
    }

    private void markDown(Instant now) {
        HostStore hosts = db.hosts();
        for (HostStore.Row h : hosts.list()) {
            Seen last = seen.get(h.name());
            if (last == null || last.beats() != h.beats()) {
                Instant since = last == null && h.heartbeatAt().isBefore(now) ? h.heartbeatAt() : now;
                seen.put(h.name(), new Seen(h.beats(), since));
                continue;
            }
            Duration silent = Duration.between(last.since(), now);
            if (!h.state().equals("down") && !h.name().equals(self) && silent.compareTo(deadAfter) >= 0) {
                String reason = "no heartbeat for " + silent.toSeconds() + " s (the last at " + h.heartbeatAt() + ")";
                if (hosts.markDown(h.name(), h.beats(), reason)) {
                    log.warn("Host {} is down: {}", h.name(), reason);
                }
            }
        }
    }

    private void keepTotals(Instant now) {
        List<HostStore.BoxPool> pools = db.hosts().list().stream().filter(h -> !h.state().equals("down"))
                .map(HostStore.Row::boxPool).filter(Objects::nonNull).toList();
        HostStore.BoxPool sum = pools.stream().reduce(new HostStore.BoxPool(0, 0, 0, 0, 0, 0), HostStore.BoxPool::plus);
        db.hosts().keepTotals(new HostStore.BoxPoolTotals(pools.size(), sum, self, now));
    }

    @Override
    public void close() {
        lock.ifPresent(Database.SessionLock::close);
        lock = Optional.empty();
    }
}
