package dev.scalebox.api;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class WebSessionsTest {

    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T00:00:00Z"));
    private final WebSessions sessions = new WebSessions(new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    });

    @Test
    void aSessionLastsTwelveHoursAndEndsWhenClosed() {
        String id = sessions.open();
        assertThat(sessions.expiry(id)).hasValue(now.get().plus(WebSessions.LIFETIME));
        now.set(now.get().plus(WebSessions.LIFETIME).minusSeconds(1));
        assertThat(sessions.expiry(id)).isPresent();
        now.set(now.get().plusSeconds(1));
        assertThat(sessions.expiry(id)).isEmpty();

        String other = sessions.open();
        sessions.close(other);
        assertThat(sessions.expiry(other)).isEmpty();
        assertThat(sessions.expiry(null)).isEmpty();
    }

    @Test
    void theOldestGoesFirstWhenTheLimitIsReached() {
        String first = sessions.open();
        now.set(now.get().plus(Duration.ofSeconds(1)));
        String second = sessions.open();
        for (int i = 2; i < WebSessions.MAX_SESSIONS; i++) {
            sessions.open();
        }
        assertThat(sessions.size()).isEqualTo(WebSessions.MAX_SESSIONS);
        sessions.open();
        assertThat(sessions.size()).isEqualTo(WebSessions.MAX_SESSIONS);
        assertThat(sessions.expiry(first)).isEmpty();
        assertThat(sessions.expiry(second)).isPresent();
    }
}
